"""Plugin options: the one contract of checking them, and the fields a form edits.

DNC providers, routing targets and platforms check their own options
(``validate_options``, :class:`~opendialer.sdk.contracts.ValidatesOptions`) and
refuse them the same way:

* one refused option: raise :class:`OptionError` — a coded ``ValueError``
  (``OptionError("route_x.port_invalid", option="port", value=port)``) whose code the
  plugin registered with ``sdk.register_error_messages`` (English detail + the
  sentence the pages translate) and whose ``option`` names it;
* several at once (a person who made three mistakes learns all three): collect them
  with :class:`OptionProblems`, which raises the one :class:`OptionError`, or
  :class:`OptionsInvalid` holding them all.

The settings services (DNC services, routing targets, platform) turn either into
the field errors of the API and the pages, each by its code; a plain ``ValueError``
(a plugin that codes nothing) is still accepted, shown as its English text.

A platform whose options a Master edits in a form (System → Communication platform,
``GET/PUT /api/v1/platform``) also implements :class:`EditsOptions`: its fields
(:class:`OptionField`), ``validate_options`` with the stored options as ``previous``
(write-only secrets are kept), ``shown_options`` and ``describe_options``. Core
stores "the options of platform X" and knows nothing of the fields.

Plugins describe themselves to the admin with message ids (English text the admin
translates; mark them with a local ``N_`` so ``babel.cfg`` extracts them): a
platform's ``label`` and ``description`` (System → Communication platform's choice),
a platform's or routing target's ``diagnosis_title`` (the title of its Diagnostics
line), a routing target's page (:class:`HasOptionPage`). The admin knows no plugin
by name.

Plugins import these names from :mod:`opendialer.sdk`. (One module: the checks
DNC connectors share, :func:`checked_url` and :func:`checked_ca_bundle`, are here
too.)
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable
from urllib.parse import urlsplit

from opendialer.core.services.errors import InvalidValue

T = TypeVar("T")

MAX_URL = 500
MAX_CA_BUNDLE = 200_000


class OptionError(InvalidValue):
    """One refused option, by code (``docs/errors.md``); ``option`` names it (``url``,
    ``options.region``, ``ports[2].user``; None: the options as a whole) and is one of
    its ``params`` (a message may say ``%(option)r``). ``str()`` is the English detail;
    ``code`` and ``params`` what the pages translate."""

    def __init__(self, code: str, /, *, option: str | None = None, **params: Any) -> None:
        if option is not None:
            params["option"] = option
        super().__init__(code, **params)
        self.option = option


class OptionsInvalid(ValueError):
    """Several refused options at once: ``errors`` holds each :class:`OptionError`;
    ``option`` and ``str()`` are the first's."""

    def __init__(self, errors: Sequence[ValueError]) -> None:
        if not errors:
            raise ValueError("OptionsInvalid needs at least one error")
        self.errors = list(errors)
        self.option: str | None = getattr(self.errors[0], "option", None)
        super().__init__(str(self.errors[0]))


class OptionProblems:
    """Runs several checks and raises all their refusals at once."""

    def __init__(self) -> None:
        self.errors: list[ValueError] = []

    def __bool__(self) -> bool:
        return bool(self.errors)

    def add(self, error: ValueError) -> None:
        self.errors.extend(option_errors(error))

    def check(self, validate: Callable[..., T], /, *args: Any, **kwargs: Any) -> T | None:
        """``validate(*args, **kwargs)``, or None after keeping its ValueError."""
        try:
            return validate(*args, **kwargs)
        except ValueError as exc:
            self.add(exc)
            return None

    def raise_if_any(self) -> None:
        """The one :class:`OptionError` kept, or :class:`OptionsInvalid` of several."""
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise OptionsInvalid(self.errors)


def option_errors(refusal: ValueError) -> list[ValueError]:
    """Each refusal a ``validate_options`` raised: those of an :class:`OptionsInvalid`,
    or the one error itself."""
    if isinstance(refusal, OptionsInvalid):
        return list(refusal.errors)
    return [refusal]


def checked_url(value: Any, *, insecure: bool, option: str = "url") -> str:
    """``value`` as a service url (``https://host/path``; ``http://`` only when
    ``insecure``), stripped."""
    if not isinstance(value, str) or not value.strip():
        raise OptionError("dnc.url_required", option=option)
    url = value.strip()
    if len(url) > MAX_URL or "\x00" in url:
        raise OptionError("dnc.url_too_long", option=option)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise OptionError("dnc.url_invalid", option=option, url=url)
    if parts.scheme == "http" and not insecure:
        raise OptionError("dnc.url_plain_http", option=option)
    return url


def checked_ca_bundle(value: Any, *, option: str = "ca_bundle") -> str | None:
    """``value`` as PEM CA certificates to trust (None when empty)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_CA_BUNDLE:
        raise OptionError("dnc.ca_bundle_too_long", option=option, n=MAX_CA_BUNDLE)
    try:
        ssl.create_default_context(cadata=value)
    except (ssl.SSLError, ValueError) as exc:
        raise OptionError("dnc.ca_bundle_invalid", option=option, reason=str(exc)) from None
    return value


# --------------------------------------------------------------- options a form edits


@dataclass(frozen=True, slots=True)
class OptionField:
    """One field of a plugin's options, as a form renders it.

    ``kind``: ``text``, ``url``, ``secret`` (write-only text), ``number``, ``whole``
    or ``int`` (an integer), ``ms`` (whole milliseconds), ``bool``, ``list``
    (comma-separated names), ``choice`` (one of ``choices``) or ``records`` (a list of
    objects whose fields are ``item_fields``; ``secret_fields`` of them are
    write-only). ``label`` and ``help`` are message ids (English text) the admin
    translates; ``required``: the form marks the field."""

    name: str
    kind: str
    label: str
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()
    item_fields: tuple[str, ...] = ()
    secret_fields: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True, slots=True)
class OptionSection:
    """A titled group of a form's fields: ``advanced`` ones are folded away, ``hint``
    (a message id) is said under the title."""

    title: str
    fields: tuple[OptionField, ...]
    advanced: bool = False
    hint: str = ""


@runtime_checkable
class HasOptionPage(Protocol):
    """A routing target whose options a Master edits on a System page: the page of the
    campaign type it is the default target of (``default_for_campaign_types``; OSCC:
    System → Contact center, IVR: System → IVR). ``label`` (a message id) titles the
    page, ``option_sections`` are its fields. Optional: ``offers_connection_test =
    True`` adds the page's "Test connection" button (the target is built, started and
    asked for its health; nothing is stored)."""

    label: str
    option_sections: Sequence[OptionSection]


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
        """The options to store, or :class:`OptionError`/:class:`OptionsInvalid`.
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
    "HasOptionPage",
    "OptionError",
    "OptionField",
    "OptionProblems",
    "OptionSection",
    "OptionsInvalid",
    "checked_ca_bundle",
    "checked_url",
    "defaults_of",
    "field_named",
    "option_errors",
]
