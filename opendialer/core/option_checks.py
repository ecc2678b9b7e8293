"""Checks a plugin's ``validate_options`` uses for options most connectors share: a
service url and a CA bundle. Plugins reach them through :mod:`opendialer.sdk`.

A refused option is an :class:`OptionError` — a coded ``ValueError`` whose
``option`` names it — which the settings service reports as that field's error (see
:class:`~opendialer.core.contracts.ValidatesOptions`). :class:`OptionProblems`
collects several, so a person who made two mistakes learns both at once.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from opendialer.core.option_schema import OptionsInvalid
from opendialer.core.services.errors import InvalidValue

T = TypeVar("T")

MAX_URL = 500
MAX_CA_BUNDLE = 200_000


class OptionError(InvalidValue):
    """One refused option, by code (``docs/errors.md``); ``option`` names it (``url``,
    ``options.region``). A plugin registers its own codes with
    ``sdk.register_error_messages``."""

    def __init__(self, code: str, /, *, option: str | None = None, **params: Any) -> None:
        super().__init__(code, **params)
        self.option = option


class OptionProblems:
    """Runs several checks and raises all their errors at once: one
    :class:`OptionError`, or an ``ExceptionGroup`` of them when there are several."""

    def __init__(self) -> None:
        self.errors: list[ValueError] = []

    def check(self, validate: Callable[..., T], /, *args: Any, **kwargs: Any) -> T | None:
        """``validate(*args, **kwargs)``, or None after keeping its ValueError."""
        try:
            return validate(*args, **kwargs)
        except ValueError as exc:
            self.errors.append(exc)
            return None

    def raise_if_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise ExceptionGroup("options refused", self.errors)


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


def option_errors(exc: BaseException) -> list[ValueError]:
    """The ValueErrors a ``validate_options`` raised: one, or those of its group."""
    if isinstance(exc, OptionsInvalid):
        return list(exc.errors)
    if isinstance(exc, BaseExceptionGroup):
        found: list[ValueError] = []
        for inner in exc.exceptions:
            found.extend(option_errors(inner))
        return found
    return [exc] if isinstance(exc, ValueError) else []
