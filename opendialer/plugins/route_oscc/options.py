"""The ``oscc`` routing target's options: parsed once, checked, with defaults.

The OpenScape Contact Center REST SDK's request paths, field names and content
type are not public (see ``docs/routing.md``), so every one of them is an
option here. The defaults describe the protocol our contact-center simulator
(``opendialer.contrib.cc_simulator``) speaks; a site points them at the real
SDK's names without code changes.

A bad option raises :class:`OsccOptionError`, a ``ValueError`` that names the
option (``.option``) and says what is expected.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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


class OsccOptionError(ValueError):
    """A routing option is missing or wrong; ``option`` is its name."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"route_oscc: option {option!r} {message}")
        self.option = option


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
            unknown[0], f"is not known; known options: {', '.join(sorted(ALLOWED))}"
        )
    base_url = _base_url(raw.get("base_url"))
    values: dict[str, Any] = {}
    for name, (minimum, default) in _DURATIONS.items():
        values[name] = _duration(name, raw.get(name, default), minimum)
    for name, text in _STRINGS.items():
        values[name] = _string(name, raw.get(name, text), allow_none=text is None)
    if values["ca_bundle"] is not None and not os.path.isfile(values["ca_bundle"]):
        raise OsccOptionError(
            "ca_bundle", f"names {values['ca_bundle']!r}, which is not a readable file"
        )
    if values["backoff_max_ms"] < values["backoff_initial_ms"]:
        raise OsccOptionError("backoff_max_ms", "must be >= backoff_initial_ms")
    if values["stale_after_ms"] <= values["poll_interval_ms"]:
        raise OsccOptionError(
            "stale_after_ms",
            f"({values['stale_after_ms']}) must be longer than poll_interval_ms "
            f"({values['poll_interval_ms']}), or every count would be stale",
        )
    events = raw.get("events", False)
    if not isinstance(events, bool):
        raise OsccOptionError("events", f"must be true or false, got {events!r}")
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
        raise OsccOptionError(
            "base_url", "is required: the SDK's URL, e.g. 'https://oscc.example:9443/rest'"
        )
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OsccOptionError(
            "base_url", f"must be an http:// or https:// URL with a host, got {value!r}"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise OsccOptionError("base_url", f"has a bad port: {value!r}") from None
    return value.strip().rstrip("/")


#: No duration option is longer than a day (larger values overflow the timers).
MAX_DURATION_MS = 86_400_000


def _duration(name: str, value: Any, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise OsccOptionError(
            name, f"must be a whole number of milliseconds >= {minimum}, got {value!r}"
        )
    if value > MAX_DURATION_MS:
        raise OsccOptionError(
            name, f"must be at most {MAX_DURATION_MS} milliseconds (a day), got {value!r}"
        )
    return value


def _string(name: str, value: Any, *, allow_none: bool) -> str | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise OsccOptionError(name, f"must be a string, got {value!r}")
    return value


def _queues(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(q, str) and q for q in value):
        raise OsccOptionError("queues", f"must be a list of queue names, got {value!r}")
    return tuple(value)


def parse_paths(value: Any) -> dict[str, Operation]:
    if not isinstance(value, Mapping):
        raise OsccOptionError(
            "paths", f"must be a mapping of operation to 'METHOD /path', got {value!r}"
        )
    unknown = sorted(set(value) - set(DEFAULT_PATHS))
    if unknown:
        raise OsccOptionError(
            f"paths.{unknown[0]}", f"is not an operation; known: {', '.join(DEFAULT_PATHS)}"
        )
    out: dict[str, Operation] = {}
    for name, default in DEFAULT_PATHS.items():
        spec = value.get(name, default)
        words = spec.split() if isinstance(spec, str) else []
        if len(words) != 2 or words[0].upper() not in METHODS or not words[1].startswith("/"):
            raise OsccOptionError(
                f"paths.{name}",
                f"must look like 'POST /path' (methods {', '.join(METHODS)}), got {spec!r}",
            )
        out[name] = Operation(name=name, method=words[0].upper(), path=words[1])
    return out


def parse_fields(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise OsccOptionError("fields", f"must be a mapping of field to name, got {value!r}")
    unknown = sorted(set(value) - set(DEFAULT_FIELDS))
    if unknown:
        raise OsccOptionError(
            f"fields.{unknown[0]}", f"is not a field; known: {', '.join(DEFAULT_FIELDS)}"
        )
    out = dict(DEFAULT_FIELDS)
    for name, given in value.items():
        if not isinstance(given, str) or not given:
            raise OsccOptionError(f"fields.{name}", f"must be a non-empty string, got {given!r}")
        out[name] = given
    return out
