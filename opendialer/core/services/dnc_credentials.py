"""Credentials of Do-Not-Call services, write-only like the SIP port passwords.

A password in the url (``https://user:pass@host/``) is read back as ``***`` (with
``has_url_password``), and a url sent back with ``***`` keeps the stored password —
for the same user at the same address only. The values of sensitive
``options.headers`` (Authorization, X-Api-Key, any name with key/token/secret/
password/auth in it) are read back blank, named in ``secret_headers``; a blank value
sent back keeps the stored one while the address stays the same (leaving the
header out clears it). A stored credential is never sent to another address.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from opendialer.core.services.errors import ValidationFailed
from opendialer.sdk.contracts import masked_url

#: What a stored url password reads as; sent back, it keeps the stored password.
URL_MASK = "***"
#: A header whose lower-cased name contains one of these carries a credential.
SECRET_HEADER_WORDS = ("key", "token", "secret", "password", "passwd", "auth", "cookie")


def is_secret_header(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_HEADER_WORDS)


def _netloc(user: str | None, password: str | None, host: str) -> str:
    if user is None and password is None:
        return host
    return f"{user or ''}:{password}@{host}" if password is not None else f"{user}@{host}"


def url_parts(url: str) -> tuple[str | None, str | None, str]:
    """(user, password, host[:port]) of a url's authority, as written."""
    netloc = urlsplit(url).netloc
    userinfo, at, host = netloc.rpartition("@")
    if not at:
        return None, None, netloc
    user, colon, password = userinfo.partition(":")
    return user, (password if colon else None), host


#: The url with its password (if any) shown as ``***`` — for every display.
mask_url = masked_url


def parse_options(raw: Any) -> dict[str, Any]:
    """A service's ``options`` as stored (JSON text, or already decoded) → a dict; what
    is not a JSON object reads as no options."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw or "{}")
        except ValueError:
            return {}
    return raw if isinstance(raw, dict) else {}


def options_of(row: dict[str, Any]) -> dict[str, Any]:
    return parse_options(row.get("options"))


def secret_headers(options: dict[str, Any]) -> dict[str, Any]:
    headers = options.get("headers")
    if not isinstance(headers, dict):
        return {}
    return {k: v for k, v in headers.items() if is_secret_header(str(k)) and v not in (None, "")}


def origin(url: Any) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) — where a stored credential may be sent."""
    if not isinstance(url, str) or not url.strip():
        return None
    try:
        parts = urlsplit(url.strip())
        return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None


def keep_url_password(value: Any, stored_url: str | None) -> Any:
    """A url sent back with the ``***`` mask as its password keeps the stored one — for
    the same user at the same address only: a stored password is never sent elsewhere."""
    if not isinstance(value, str) or not value.strip():
        return value
    user, password, host = url_parts(value.strip())
    if password != URL_MASK:
        return value
    stored_user, stored_password, _ = url_parts(stored_url) if stored_url else (None, None, "")
    if not stored_password or stored_user != user or origin(value) != origin(stored_url):
        raise ValidationFailed("dnc.url_password_masked", field="url", mask=URL_MASK)
    parts = urlsplit(value.strip())
    return parts._replace(netloc=_netloc(user, stored_password, host)).geturl()


def _address_changed(names: list[str]) -> ValidationFailed:
    return ValidationFailed("dnc.headers_retype", field="options", names=", ".join(sorted(names)))


def keep_secret_headers(value: Any, stored: dict[str, Any], same_address: bool) -> Any:
    """Sensitive headers sent back blank keep their stored values (when the address
    stays the same); left out, they go."""
    if not isinstance(value, dict) or not isinstance(value.get("headers"), dict):
        return value
    kept = {str(k).lower(): v for k, v in secret_headers(stored).items()}
    blank = [
        str(k)
        for k, v in value["headers"].items()
        if is_secret_header(str(k)) and v in (None, "") and str(k).lower() in kept
    ]
    if blank and not same_address:
        raise _address_changed(blank)
    headers = {
        k: kept[str(k).lower()] if str(k) in blank else v for k, v in value["headers"].items()
    }
    return {**value, "headers": headers}


def stored_headers_stay_home(current: dict[str, Any]) -> None:
    """The url moves to another address while options (and their stored secrets) stay."""
    secrets = secret_headers(options_of(current))
    if secrets:
        raise _address_changed(list(secrets))
