"""The communication platform's configuration: one ``setting`` row, key ``platform.sip``.

JSON fields (``GET/PUT /api/v1/platform``)::

    server               "host:port" of the SIP server / SBC (required)
    transport            "udp" | "tcp" | "tls"                       (default "udp")
    domain               SIP domain for Request-URIs, From, Refer-To (default: server host)
    register             true: every port REGISTERs; false: trunk  (default true)
    ports                [{"user", "auth_user", "password"}] — the dialer ports
    caller_id            default caller ID (digits, optional leading +; ( ) - . and
                         spaces removed, as a campaign's caller_id)
    no_answer_timeout_s  default ring time before CANCEL            (default 30)
    rtp_port_min/max     UDP range for answer audio      (default 20000..29999)

Passwords are write-only: reads return ``has_password`` instead, and a PUT
without a port's password keeps the one stored for that user. Only a Master
reads or writes. Every write bumps ``revision``; a running platform polls
:func:`load_platform_config` (see :func:`config_source`) and applies changes
without a restart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from opendialer.core.services.common import Actor, jsonable, reject_unknown
from opendialer.core.services.errors import PermissionDenied, ValidationFailed
from opendialer.core.services.phones import SIP_USER_NAME, dial_string
from opendialer.core.storage.tables import Setting

KEY = "platform.sip"
TRANSPORTS = ("udp", "tcp", "tls")
FIELDS = {
    "server",
    "transport",
    "domain",
    "register",
    "ports",
    "caller_id",
    "no_answer_timeout_s",
    "rtp_port_min",
    "rtp_port_max",
}
READ_ONLY = {"revision", "updated_at", "configured"}
PORT_FIELDS = {"user", "auth_user", "password", "has_password"}
MAX_PORTS = 5000
#: A SIP user name goes into a URI's user part and a digest ``username="…"`` as it is
#: (core/services/phones.py: no ; ? / @ : quotes, parentheses, %, spaces or CR/LF).
#: The SIP plugin checks stored values with the same pattern before using them.
_TOKEN = SIP_USER_NAME
SIP_USER_CHARS = "letters, digits and - . _ + ! ~ * & = $ ,"
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)$")

DEFAULTS: dict[str, Any] = {
    "server": "",
    "transport": "udp",
    "domain": "",
    "register": True,
    "ports": [],
    "caller_id": "",
    "no_answer_timeout_s": 30,
    "rtp_port_min": 20000,
    "rtp_port_max": 29999,
}


class LivePlatform(Protocol):
    def health(self) -> Any: ...

    def registrations(self) -> list[dict[str, object]]: ...


_live: LivePlatform | None = None


def _require_master(actor: Actor) -> None:
    if not actor.is_master:
        raise PermissionDenied("platform.master_only")


def _number(data: dict[str, Any], name: str, low: float, high: float, *, whole: bool) -> Any:
    value = data.get(name, DEFAULTS[name])
    bounds: dict[str, Any] = {"name": name, "low": f"{low:g}", "high": f"{high:g}"}
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (whole and not isinstance(value, int))
    ):
        raise ValidationFailed(
            "platform.rtp_port_invalid" if whole else "platform.timeout_invalid",
            field=name,
            **bounds,
        )
    if not low <= value <= high:
        raise ValidationFailed(
            "platform.rtp_port_out_of_range" if whole else "platform.timeout_out_of_range",
            field=name,
            value=f"{value:g}",
            **bounds,
        )
    return value


def _server(data: dict[str, Any]) -> str:
    raw = data.get("server")
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationFailed("platform.server_required", field="server")
    host, sep, port = raw.strip().rpartition(":")
    if not sep or not _HOST.match(host) or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValidationFailed("platform.server_invalid", field="server", value=raw)
    return f"{host}:{int(port)}"


def _port(
    index: int, item: Any, register: bool, stored: dict[str, str], seen: set[str]
) -> tuple[dict[str, str] | None, list[ValidationFailed]]:
    """One port checked field by field: the port as stored, and every problem it has."""
    where = f"ports[{index}]"
    if not isinstance(item, dict):
        return None, [ValidationFailed("platform.port_not_object", field=where, where=where)]
    unknown = sorted(set(item) - PORT_FIELDS)
    if unknown:
        return None, [
            ValidationFailed(
                "platform.port_unknown_field",
                field=f"{where}.{unknown[0]}",
                where=where,
                fields=unknown[0],
            )
        ]
    errors: list[ValidationFailed] = []
    user = item.get("user")
    if not isinstance(user, str) or not _TOKEN.match(user.strip()) or len(user) > 64:
        errors.append(
            ValidationFailed(
                "platform.port_user_invalid",
                field=f"{where}.user",
                where=where,
                which="user",
                chars=SIP_USER_CHARS,
                n=64,
            )
        )
        user = ""
    user = user.strip()
    if user and user in seen:
        errors.append(
            ValidationFailed(
                "platform.port_user_twice", field=f"{where}.user", where=where, user=user
            )
        )
    seen.add(user)
    auth_user = item.get("auth_user") or user
    if (
        not isinstance(auth_user, str)
        or len(auth_user) > 128
        or not _TOKEN.match(auth_user.strip())
    ):
        if user:  # without a user name there is nothing to default to: said once, above
            errors.append(
                ValidationFailed(
                    "platform.port_user_invalid",
                    field=f"{where}.auth_user",
                    where=where,
                    which="auth_user",
                    chars=SIP_USER_CHARS,
                    n=128,
                )
            )
        auth_user = ""
    password = item.get("password")
    if password is None or password == "":
        password = stored.get(user, "")
    if not isinstance(password, str) or len(password) > 128:
        errors.append(
            ValidationFailed(
                "platform.port_password_invalid", field=f"{where}.password", where=where
            )
        )
    elif register and not password and user:  # an invalid user name is said above
        errors.append(
            ValidationFailed(
                "platform.port_password_required", field=f"{where}.password", where=where, user=user
            )
        )
    if errors:
        return None, errors
    return {"user": user, "auth_user": auth_user.strip(), "password": password}, []


def _ports(
    raw: Any, register: bool, stored: dict[str, str]
) -> tuple[list[dict[str, str]], list[ValidationFailed]]:
    if not isinstance(raw, list):
        return [], [ValidationFailed("platform.ports_invalid", field="ports")]
    if len(raw) > MAX_PORTS:
        return [], [ValidationFailed("platform.too_many_ports", field="ports", n=MAX_PORTS)]
    ports: list[dict[str, str]] = []
    errors: list[ValidationFailed] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        port, problems = _port(index, item, register, stored, seen)
        errors.extend(problems)
        if port is not None:
            ports.append(port)
    return ports, errors


def _collect(errors: list[ValidationFailed], check: Callable[[], Any], fallback: Any) -> Any:
    """``check()``'s value, or ``fallback`` with its ValidationFailed kept in ``errors``."""
    try:
        return check()
    except ValidationFailed as exc:
        errors.append(exc)
        return fallback


def check(
    data: Any, stored_passwords: dict[str, str] | None = None
) -> tuple[dict[str, Any], list[ValidationFailed]]:
    """Every problem of ``data`` at once, each naming its field (a form shows them all
    next to their fields), and the configuration as it would be stored (passwords merged;
    only meaningful when there is no problem)."""
    if not isinstance(data, dict):
        raise ValidationFailed("platform.config_not_object")
    body = {k: v for k, v in data.items() if k not in READ_ONLY}
    reject_unknown(body, FIELDS)
    errors: list[ValidationFailed] = []
    server = _collect(errors, lambda: _server(body), "")
    transport = body.get("transport", DEFAULTS["transport"])
    if transport not in TRANSPORTS:
        errors.append(
            ValidationFailed(
                "platform.transport_invalid",
                field="transport",
                transports=", ".join(TRANSPORTS),
                value=transport,
            )
        )
    domain = body.get("domain") or server.rpartition(":")[0]
    if domain or server:  # no server and no domain: the server's error says it
        if not isinstance(domain, str) or not _HOST.match(domain) or len(domain) > 255:
            errors.append(ValidationFailed("platform.domain_invalid", field="domain", value=domain))
    register = body.get("register", DEFAULTS["register"])
    if not isinstance(register, bool):
        errors.append(ValidationFailed("field.not_bool", field="register", name="register"))
        register = True
    caller_id = body.get("caller_id") or ""
    # the campaign's caller ID rule (core/services/phones.py): separators removed
    compact = dial_string(caller_id) if isinstance(caller_id, str) and caller_id else ""
    if not isinstance(caller_id, str) or (caller_id and compact is None):
        errors.append(
            ValidationFailed("platform.caller_id_invalid", field="caller_id", value=caller_id)
        )
    timeout = _collect(
        errors, lambda: _number(body, "no_answer_timeout_s", 1, 600, whole=False), None
    )
    rtp_min = _collect(errors, lambda: _number(body, "rtp_port_min", 1024, 65534, whole=True), None)
    rtp_max = _collect(errors, lambda: _number(body, "rtp_port_max", 1025, 65535, whole=True), None)
    ports, port_errors = _ports(body.get("ports", []), register, stored_passwords or {})
    errors.extend(port_errors)
    if rtp_min is not None and rtp_max is not None:
        even_ports = len(range(rtp_min + rtp_min % 2, rtp_max + 1, 2))
        if rtp_min >= rtp_max:
            errors.append(ValidationFailed("platform.rtp_range_inverted", field="rtp_port_max"))
        elif even_ports < len(ports):
            errors.append(
                ValidationFailed(
                    "platform.rtp_range_too_small",
                    field="rtp_port_max",
                    n=even_ports,
                    ports=len(ports),
                )
            )
    checked = {
        "server": server,
        "transport": transport,
        "domain": domain,
        "register": register,
        "ports": ports,
        "caller_id": compact or "",
        "no_answer_timeout_s": timeout,
        "rtp_port_min": rtp_min,
        "rtp_port_max": rtp_max,
    }
    return checked, errors


def validate(data: Any, stored_passwords: dict[str, str] | None = None) -> dict[str, Any]:
    """The configuration as it will be stored (passwords merged), or the first
    ValidationFailed; when there are more, its ``as_dict()["errors"]`` lists them all."""
    checked, errors = check(data, stored_passwords)
    if errors:
        first = errors[0]
        if len(errors) > 1:
            first.listed = list(errors)
        raise first
    return checked


async def _stored() -> tuple[dict[str, Any], Any] | None:
    row = await Setting.select(Setting.value, Setting.updated_at).where(
        Setting.key == KEY
    ).first().run()  # fmt: skip
    if row is None:
        return None
    value = row["value"]
    loaded = json.loads(value) if isinstance(value, str) else value
    return (loaded if isinstance(loaded, dict) else {}), row["updated_at"]


async def load_platform_config() -> dict[str, Any] | None:
    """The stored configuration with passwords — for the engine/platform, never for display."""
    stored = await _stored()
    return None if stored is None else stored[0]


async def platform_config_revision() -> int:
    """Bumped by every write (0: never configured): cheap to poll."""
    stored = await _stored()
    return 0 if stored is None else int(stored[0].get("revision", 0))


def config_source() -> Callable[[], Awaitable[dict[str, Any] | None]]:
    """An async callable for the SIP platform's ``config_source`` option."""
    return load_platform_config


def _view(config: dict[str, Any], updated_at: Any, configured: bool) -> dict[str, Any]:
    body = {name: config.get(name, DEFAULTS[name]) for name in FIELDS}
    body["ports"] = [
        {"user": p["user"], "auth_user": p["auth_user"], "has_password": bool(p.get("password"))}
        for p in config.get("ports", [])
    ]
    body["revision"] = int(config.get("revision", 0))
    body["updated_at"] = jsonable(updated_at)
    body["configured"] = configured
    return body


async def get_platform_config(actor: Actor) -> dict[str, Any]:
    """What the admin sees: every field, ``has_password`` instead of passwords."""
    _require_master(actor)
    stored = await _stored()
    if stored is None:
        return _view(DEFAULTS, None, False)
    return _view(stored[0], stored[1], True)


async def update_platform_config(actor: Actor, data: Any) -> dict[str, Any]:
    """Check and store the whole configuration (PUT semantics); Master only."""
    _require_master(actor)
    stored = await _stored()
    previous = stored[0] if stored else {}
    passwords = {p["user"]: p.get("password", "") for p in previous.get("ports", [])}
    checked = validate(data, passwords)
    checked["revision"] = int(previous.get("revision", 0)) + 1
    now = datetime.now(UTC)
    await Setting.insert(
        Setting(key=KEY, value=json.dumps(checked), updated_at=now)
    ).on_conflict(
        target=Setting.key, action="DO UPDATE", values=[Setting.value, Setting.updated_at]
    ).run()  # fmt: skip
    return _view(checked, now, True)


# ---------------------------------------------------------------- live state


def attach(platform: LivePlatform | None) -> None:
    """The engine hands its running platform here so Diagnostics can show it."""
    global _live
    _live = platform


def attached() -> bool:
    """True when the engine's platform runs in this process (its state is known here)."""
    return _live is not None


def registrations() -> list[dict[str, object]]:
    """Per port registration state of the platform running in this process."""
    return [] if _live is None else list(_live.registrations())


async def health() -> dict[str, Any]:
    """For System → Diagnostics: the live platform's health, or what is configured."""
    if _live is not None:
        state = _live.health()
        rows = _live.registrations()
        registered = sum(1 for r in rows if r.get("state") == "registered")
        failed = [f"{r['user']}: {r.get('detail')}" for r in rows if r.get("state") == "failed"]
        detail = state.detail
        if rows:  # a platform with ports (SIP); the simulator has none
            detail += f"; {registered} of {len(rows)} registered"
        if failed:
            detail += "; failing: " + ", ".join(failed[:5])
        return {"ok": bool(state.ok), "detail": detail}
    config = await load_platform_config()
    if config is None:
        return {"ok": False, "detail": "not configured (System → Communication platform)"}
    return {
        "ok": True,
        "detail": f"{len(config.get('ports', []))} ports on {config.get('server')} "
        f"({config.get('transport')}); the engine runs in another process",
    }
