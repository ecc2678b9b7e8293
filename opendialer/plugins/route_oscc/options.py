"""The ``oscc`` routing target's options: parsed once, checked, with defaults.

The OpenScape Contact Center REST SDK's request paths, field names and content
type are not public (see ``docs/routing.md``), so every one of them is an
option here. The defaults describe the protocol our contact-center simulator
(``opendialer.plugins.route_oscc.simulator``) speaks; a site points them at the real
SDK's names without code changes.

A bad option raises :class:`OsccOptionError`, an ``sdk.OptionError`` that names the
option (``.option``) and says what is expected (its codes: :data:`ERRORS`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from opendialer.sdk import ErrorMessage, OptionError, register_error_messages

#: Operations of the protocol, and their default ``"METHOD path"`` (relative to base_url).
DEFAULT_PATHS: dict[str, str] = {
    "register": "POST /register",  # RegisterApplication
    "logon": "POST /logon",  # Logon
    "keepalive": "POST /keepalive",  # KeepAlive
    "unregister": "POST /unregister",  # UnregisterApplication
    "queue_statistics": "POST /statistics/queues",  # free agents per queue
    "events": "POST /events",  # long poll for queue changes; only with option events: true
}

#: Message field names. Answer fields may be dotted paths (``"result.sessionId"``).
DEFAULT_FIELDS: dict[str, str] = {
    "application": "applicationName",  # register request: our application's name
    "session_id": "sessionId",  # register answer; every later request
    "user": "userName",  # logon request
    "password": "password",  # logon request
    "queues": "queues",  # statistics request: list of queue names
    "queue_list": "queues",  # statistics answer: list of per-queue items
    "queue_name": "name",  # an item's queue name
    "free_agents": "freeAgents",  # an item's number of free (available) agents
    "wait_ms": "waitMs",  # events request: how long the server may hold the answer
    "event_list": "events",  # events answer: list of changes (any content: a change)
}

METHODS = ("GET", "POST", "PUT")


def N_(message: str) -> str:
    """Mark ``message`` for extraction (``babel.cfg``); the pages translate it."""
    return message


#: The codes of a bad option: the English detail, and what the System page shows at
#: the option's field (translated with the admin's catalogues).
ERRORS = {
    "route_oscc.option_unknown": ErrorMessage(
        "route_oscc: option %(option)r is not known; known options: %(known)s",
        N_("%(name)s is not an option of this routing target."),
    ),
    "route_oscc.base_url_required": ErrorMessage(
        "route_oscc: option %(option)r is required: the SDK's URL, "
        "e.g. 'https://oscc.example:9443/rest'",
        N_("Enter the SDK's URL, e.g. https://oscc.example:9443/rest."),
    ),
    "route_oscc.url_invalid": ErrorMessage(
        "route_oscc: option %(option)r must be an http:// or https:// URL with a host, "
        "got %(value)r",
        N_("Enter an http:// or https:// URL with a host name."),
    ),
    "route_oscc.url_bad_port": ErrorMessage(
        "route_oscc: option %(option)r has a bad port: %(value)r",
        N_("The URL's port is not valid."),
    ),
    "route_oscc.duration_too_short": ErrorMessage(
        "route_oscc: option %(option)r must be a whole number of milliseconds >= %(n)s, "
        "got %(value)r",
        N_("Enter a whole number of milliseconds, at least %(n)s."),
    ),
    "route_oscc.duration_too_long": ErrorMessage(
        "route_oscc: option %(option)r must be at most %(n)s milliseconds (a day), got %(value)r",
        N_("Enter at most %(n)s milliseconds (one day)."),
    ),
    "route_oscc.ca_bundle_missing": ErrorMessage(
        "route_oscc: option %(option)r names %(value)r, which is not a readable file",
        N_("There is no readable file at this path on the dialer's server."),
    ),
    "route_oscc.ca_bundle_not_pem": ErrorMessage(
        "route_oscc: option %(option)r could not be loaded as PEM certificates: %(reason)s",
        N_("The file at this path cannot be loaded as PEM certificates."),
    ),
    "route_oscc.backoff_order": ErrorMessage(
        "route_oscc: option %(option)r must be >= backoff_initial_ms",
        N_("Must be at least the first retry wait."),
    ),
    "route_oscc.stale_too_soon": ErrorMessage(
        "route_oscc: option %(option)r (%(value)s) must be longer than poll_interval_ms "
        "(%(poll)s), or every count would be stale",
        N_("Must be longer than the poll interval, or every count would be stale."),
    ),
    "route_oscc.not_bool": ErrorMessage(
        "route_oscc: option %(option)r must be true or false, got %(value)r",
        N_("Choose yes or no."),
    ),
    "route_oscc.not_text": ErrorMessage(
        "route_oscc: option %(option)r must be a string, got %(value)r", N_("Enter text.")
    ),
    "route_oscc.queues_invalid": ErrorMessage(
        "route_oscc: option %(option)r must be a list of queue names, got %(value)r",
        N_("Enter queue names separated by commas."),
    ),
    "route_oscc.paths_not_mapping": ErrorMessage(
        "route_oscc: option %(option)r must be a mapping of operation to 'METHOD /path', "
        "got %(value)r",
        N_("Expected a JSON object of names and values."),
    ),
    "route_oscc.path_unknown": ErrorMessage(
        "route_oscc: option %(option)r is not an operation; known: %(known)s",
        N_("%(name)s is not an operation of the contact center's protocol."),
    ),
    "route_oscc.path_invalid": ErrorMessage(
        "route_oscc: option %(option)r must look like 'POST /path' (methods %(methods)s), "
        "got %(value)r",
        N_("Enter a method and a path, e.g. POST /logon (methods GET, POST, PUT)."),
    ),
    "route_oscc.fields_not_mapping": ErrorMessage(
        "route_oscc: option %(option)r must be a mapping of field to name, got %(value)r",
        N_("Expected a JSON object of names and values."),
    ),
    "route_oscc.field_unknown": ErrorMessage(
        "route_oscc: option %(option)r is not a field; known: %(known)s",
        N_("%(name)s is not a field of the contact center's protocol."),
    ),
    "route_oscc.field_name_invalid": ErrorMessage(
        "route_oscc: option %(option)r must be a non-empty string, got %(value)r",
        N_("Enter a field name."),
    ),
    "route_oscc.codec_invalid": ErrorMessage(
        "route_oscc: option %(option)r must be one of %(codecs)s or 'package.module:Class', "
        "got %(value)r",
        N_("Enter json, or package.module:Class of a codec plugin."),
    ),
    "route_oscc.codec_not_loaded": ErrorMessage(
        "route_oscc: option %(option)r %(value)r could not be loaded: %(reason)s",
        N_("This codec cannot be loaded: check the package.module:Class name."),
    ),
    "route_oscc.codec_incomplete": ErrorMessage(
        "route_oscc: option %(option)r %(value)r lacks content_type, encode() or decode()",
        N_("This codec cannot be loaded: check the package.module:Class name."),
    ),
}
register_error_messages(ERRORS)


class OsccOptionError(OptionError):
    """A routing option is missing or wrong (``sdk.OptionError``, the one contract of
    ``validate_options``); ``option`` is its name, ``code`` says how."""

    def __init__(self, code: str, /, *, option: str, **params: Any) -> None:
        super().__init__(code, option=option, **params)


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    method: str
    path: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True, slots=True)
class OsccOptions:
    base_url: str
    ca_bundle: str | None = None
    username: str = ""
    password: str = ""
    application: str = "OpenDialer"
    session_header: str = ""
    codec: str = "json"
    keepalive_interval_ms: int = 10_000
    poll_interval_ms: int = 1_000
    stale_after_ms: int = 15_000
    connect_timeout_ms: int = 2_000
    request_timeout_ms: int = 3_000
    reservation_timeout_ms: int = 120_000
    backoff_initial_ms: int = 500
    backoff_max_ms: int = 30_000
    queues: tuple[str, ...] = ()
    events: bool = False
    events_wait_ms: int = 10_000
    operations: Mapping[str, Operation] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)

    def redacted(self) -> dict[str, Any]:
        """The options as an admin may see them (no password)."""
        return {
            "base_url": self.base_url,
            "ca_bundle": self.ca_bundle,
            "username": self.username,
            "password": "********" if self.password else "",
            "application": self.application,
            "codec": self.codec,
            "keepalive_interval_ms": self.keepalive_interval_ms,
            "poll_interval_ms": self.poll_interval_ms,
            "stale_after_ms": self.stale_after_ms,
            "request_timeout_ms": self.request_timeout_ms,
            "events": self.events,
        }


# name -> (minimum, default)
_DURATIONS: dict[str, tuple[int, int]] = {
    "keepalive_interval_ms": (50, 10_000),
    "poll_interval_ms": (20, 1_000),
    "stale_after_ms": (50, 15_000),
    "connect_timeout_ms": (10, 2_000),
    "request_timeout_ms": (10, 3_000),
    "reservation_timeout_ms": (10, 120_000),
    "backoff_initial_ms": (1, 500),
    "backoff_max_ms": (1, 30_000),
    "events_wait_ms": (10, 10_000),
}
_STRINGS = {
    "ca_bundle": None,
    "username": "",
    "password": "",
    "application": "OpenDialer",
    "session_header": "",
    "codec": "json",
}
ALLOWED = {"base_url", "queues", "paths", "fields", "events", *_DURATIONS, *_STRINGS}


def parse_options(raw: Mapping[str, Any] | None) -> OsccOptions:
    """Check ``raw`` and return the options with defaults filled in."""
    raw = dict(raw or {})
    unknown = sorted(set(raw) - ALLOWED)
    if unknown:
        raise OsccOptionError(
            "route_oscc.option_unknown",
            option=unknown[0],
            name=unknown[0],
            known=", ".join(sorted(ALLOWED)),
        )
    base_url = _base_url(raw.get("base_url"))
    values: dict[str, Any] = {}
    for name, (minimum, default) in _DURATIONS.items():
        values[name] = _duration(name, raw.get(name, default), minimum)
    for name, text in _STRINGS.items():
        values[name] = _string(name, raw.get(name, text), allow_none=text is None)
    if values["ca_bundle"] is not None and not os.path.isfile(values["ca_bundle"]):
        raise OsccOptionError(
            "route_oscc.ca_bundle_missing", option="ca_bundle", value=values["ca_bundle"]
        )
    if values["backoff_max_ms"] < values["backoff_initial_ms"]:
        raise OsccOptionError("route_oscc.backoff_order", option="backoff_max_ms")
    if values["stale_after_ms"] <= values["poll_interval_ms"]:
        raise OsccOptionError(
            "route_oscc.stale_too_soon",
            option="stale_after_ms",
            value=values["stale_after_ms"],
            poll=values["poll_interval_ms"],
        )
    events = raw.get("events", False)
    if not isinstance(events, bool):
        raise OsccOptionError("route_oscc.not_bool", option="events", value=events)
    return OsccOptions(
        base_url=base_url,
        events=events,
        queues=_queues(raw.get("queues", [])),
        operations=parse_paths(raw.get("paths", {})),
        fields=parse_fields(raw.get("fields", {})),
        **values,
    )


def _base_url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise OsccOptionError("route_oscc.base_url_required", option="base_url")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OsccOptionError("route_oscc.url_invalid", option="base_url", value=value)
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise OsccOptionError("route_oscc.url_bad_port", option="base_url", value=value) from None
    return value.strip().rstrip("/")


#: No duration option is longer than a day (larger values overflow the timers).
MAX_DURATION_MS = 86_400_000


def _duration(name: str, value: Any, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise OsccOptionError("route_oscc.duration_too_short", option=name, n=minimum, value=value)
    if value > MAX_DURATION_MS:
        raise OsccOptionError(
            "route_oscc.duration_too_long", option=name, n=MAX_DURATION_MS, value=value
        )
    return value


def _string(name: str, value: Any, *, allow_none: bool) -> str | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise OsccOptionError("route_oscc.not_text", option=name, value=value)
    return value


def _queues(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(q, str) and q for q in value):
        raise OsccOptionError("route_oscc.queues_invalid", option="queues", value=value)
    return tuple(value)


def parse_paths(value: Any) -> dict[str, Operation]:
    if not isinstance(value, Mapping):
        raise OsccOptionError("route_oscc.paths_not_mapping", option="paths", value=value)
    unknown = sorted(set(value) - set(DEFAULT_PATHS))
    if unknown:
        raise OsccOptionError(
            "route_oscc.path_unknown",
            option=f"paths.{unknown[0]}",
            name=unknown[0],
            known=", ".join(DEFAULT_PATHS),
        )
    out: dict[str, Operation] = {}
    for name, default in DEFAULT_PATHS.items():
        spec = value.get(name, default)
        words = spec.split() if isinstance(spec, str) else []
        if len(words) != 2 or words[0].upper() not in METHODS or not words[1].startswith("/"):
            raise OsccOptionError(
                "route_oscc.path_invalid",
                option=f"paths.{name}",
                methods=", ".join(METHODS),
                value=spec,
            )
        out[name] = Operation(name=name, method=words[0].upper(), path=words[1])
    return out


def parse_fields(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise OsccOptionError("route_oscc.fields_not_mapping", option="fields", value=value)
    unknown = sorted(set(value) - set(DEFAULT_FIELDS))
    if unknown:
        raise OsccOptionError(
            "route_oscc.field_unknown",
            option=f"fields.{unknown[0]}",
            name=unknown[0],
            known=", ".join(DEFAULT_FIELDS),
        )
    out = dict(DEFAULT_FIELDS)
    for name, given in value.items():
        if not isinstance(given, str) or not given:
            raise OsccOptionError(
                "route_oscc.field_name_invalid", option=f"fields.{name}", value=given
            )
        out[name] = given
    return out
