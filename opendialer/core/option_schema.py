"""Options a Master edits for a plugin: the field list and the field errors.

A platform plugin whose configuration is edited in the admin (System →
Communication platform, ``GET/PUT /api/v1/platform``) implements
:class:`EditsOptions`: it describes its fields (:class:`OptionField`), checks a
whole configuration at once (``validate_options``, the :class:`ValidatesOptions`
contract with the stored configuration as ``previous`` so write-only secrets
are kept) and says what may be shown (``shown_options``). Core stores "the
options of platform X" (``core/services/platform_config.py``) and knows nothing
of the fields; the plugin owns the schema, the defaults and every message.

Plugins import these names from :mod:`opendialer.sdk`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class OptionField:
    """One field of a plugin's options, as a form renders it.

    ``kind``: ``text``, ``number``, ``whole`` (an integer), ``bool``, ``choice``
    (one of ``choices``) or ``records`` (a list of objects whose fields are
    ``item_fields``; ``secret_fields`` of them are write-only). ``label`` and
    ``help`` are message ids (English text) the admin translates."""

    name: str
    kind: str
    label: str
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()
    item_fields: tuple[str, ...] = ()
    secret_fields: tuple[str, ...] = ()


class OptionsInvalid(ValueError):
    """Every problem of a configuration at once (a form shows them all next to their
    fields): ``errors`` holds one coded :class:`~opendialer.core.option_checks.OptionError`
    per refused option; ``option`` names the first, as :class:`ValidatesOptions` asks."""

    def __init__(self, errors: Sequence[ValueError]) -> None:
        if not errors:
            raise ValueError("OptionsInvalid needs at least one error")
        self.errors = list(errors)
        self.option = getattr(self.errors[0], "option", None)
        super().__init__(str(self.errors[0]))


@runtime_checkable
class EditsOptions(Protocol):
    """A platform factory whose options a Master edits and the engine follows.

    Such a platform is built with two more options: ``config_source`` (an async
    callable returning the stored options, polled for changes) and ``database``
    (:class:`~opendialer.core.services.plugin_database.PluginDatabase`, for state
    shared by the engine nodes)."""

    option_fields: Sequence[OptionField]

    def validate_options(
        self, options: Mapping[str, Any], previous: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The options to store, or :class:`OptionsInvalid` with every problem.
        ``previous``: the stored options (a secret left out is kept from them)."""
        ...

    def shown_options(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """``stored`` as a Master may read it: secrets replaced by ``has_<name>``."""
        ...

    def describe_options(self, stored: Mapping[str, Any]) -> str:
        """One line naming what ``stored`` configures (Diagnostics, no engine here)."""
        ...


def defaults_of(fields: Sequence[OptionField]) -> dict[str, Any]:
    """Every field's default, as a new (unsaved) configuration shows it."""
    return {f.name: (list(f.default) if f.kind == "records" else f.default) for f in fields}


def field_named(fields: Sequence[OptionField], name: str) -> OptionField | None:
    return next((f for f in fields if f.name == name), None)


__all__ = [
    "EditsOptions",
    "OptionField",
    "OptionsInvalid",
    "defaults_of",
    "field_named",
]
