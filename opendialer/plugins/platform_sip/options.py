"""The SIP platform's options as a Master edits them: fields, defaults, checks, messages.

JSON fields (``GET/PUT /api/v1/platform``, stored by core as ``platform.sip``)::

    server               "host:port" of the SIP server / SBC (required)
    transport            "udp" | "tcp" | "tls"                       (default "udp")
    domain               SIP domain for Request-URIs, From, Refer-To (default: server host)
    register             true: every port REGISTERs; false: trunk  (default true)
    ports                [{"user", "auth_user", "password"}] — the dialer ports
    caller_id            default caller ID (digits, optional leading +; ( ) - . and
                         spaces removed, as a campaign's caller_id)
    no_answer_timeout_s  default ring time before CANCEL            (default 30)
    rtp_port_min/max     UDP range for answer audio      (default 20000..29999)

Passwords are write-only: :func:`shown_options` returns ``has_password`` instead,
and a configuration without a port's password keeps the one stored for that user
(``previous``). :func:`validate_options` reports every problem at once, each
naming its field (``ports[2].user``), so a form shows them all next to their
fields. ``config.SipConfig`` parses the stored result for the running platform.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from opendialer.plugins.platform_sip.config import TRANSPORTS
from opendialer.sdk import SIP_USER_NAME, OptionField, OptionProblem, OptionsInvalid, dial_string

PORT_FIELDS = {"user", "auth_user", "password", "has_password"}
MAX_PORTS = 5000
#: A SIP user name goes into a URI's user part and a digest ``username="…"`` as it is
#: (no ; ? / @ : quotes, parentheses, %, spaces or CR/LF); ``SipConfig`` checks stored
#: values with the same pattern before using them.
SIP_USER_CHARS = "letters, digits and - . _ + ! ~ * & = $ ,"
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)$")

#: The form of System → Communication platform, in order (labels are message ids).
OPTION_FIELDS: tuple[OptionField, ...] = (
    OptionField("server", "text", "Server (host:port)", ""),
    OptionField("transport", "choice", "Transport", "udp", choices=TRANSPORTS),
    OptionField(
        "domain",
        "text",
        "SIP domain",
        "",
        help="The domain is used in the Request-URI, From and the transfer target; "
        "empty means the server's host.",
    ),
    OptionField(
        "register",
        "bool",
        "Ports register at the server (uncheck for a trunk without registration)",
        True,
    ),
    OptionField(
        "ports",
        "records",
        "Dialer ports",
        (),
        help="One port carries one call at a time. Passwords are never shown: leave a "
        "password empty to keep the one stored for that user.",
        item_fields=("user", "auth_user", "password"),
        secret_fields=("password",),
    ),
    OptionField("caller_id", "text", "Default caller ID", ""),
    OptionField("no_answer_timeout_s", "number", "No-answer timeout (s)", 30),
    OptionField("rtp_port_min", "whole", "Lowest RTP port", 20000),
    OptionField("rtp_port_max", "whole", "Highest RTP port", 29999),
)
FIELDS = {f.name for f in OPTION_FIELDS}
DEFAULTS: dict[str, Any] = {f.name: f.default for f in OPTION_FIELDS} | {"ports": []}


class _Refused(Exception):
    """One field's problem, raised inside a check and collected by :func:`_collect`."""

    def __init__(self, field: str | None, detail: str) -> None:
        super().__init__(detail)
        self.problem = OptionProblem(field, detail)


def _number(data: Mapping[str, Any], name: str, low: float, high: float, *, whole: bool) -> Any:
    value = data.get(name, DEFAULTS[name])
    kind = "a whole number" if whole else "a number"
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (whole and not isinstance(value, int))
    ):
        raise _Refused(name, f"{name} must be {kind} from {low:g} to {high:g}")
    if not low <= value <= high:
        raise _Refused(name, f"{name} must be from {low:g} to {high:g}, got {value:g}")
    return value


def _server(data: Mapping[str, Any]) -> str:
    raw = data.get("server")
    if not isinstance(raw, str) or not raw.strip():
        raise _Refused(
            "server", "server is required: the SIP server as host:port, e.g. 10.0.0.5:5060"
        )
    host, sep, port = raw.strip().rpartition(":")
    if not sep or not _HOST.match(host) or not port.isdigit() or not 0 < int(port) < 65536:
        raise _Refused(
            "server", f"server must be host:port with a port from 1 to 65535, got {raw!r}"
        )
    return f"{host}:{int(port)}"


def _port(
    index: int, item: Any, register: bool, stored: dict[str, str], seen: set[str]
) -> tuple[dict[str, str] | None, list[OptionProblem]]:
    """One port checked field by field: the port as stored, and every problem it has."""
    where = f"ports[{index}]"
    if not isinstance(item, dict):
        return None, [OptionProblem(where, f"{where} must be an object")]
    unknown = sorted(set(item) - PORT_FIELDS)
    if unknown:
        return None, [
            OptionProblem(
                f"{where}.{unknown[0]}",
                f"{where}: unknown field {unknown[0]!r}; allowed: user, auth_user, password",
            )
        ]
    problems: list[OptionProblem] = []
    user = item.get("user")
    if not isinstance(user, str) or not SIP_USER_NAME.match(user.strip()) or len(user) > 64:
        problems.append(
            OptionProblem(
                f"{where}.user",
                f"{where}.user must be a SIP user name ({SIP_USER_CHARS}; at most 64)",
            )
        )
        user = ""
    user = user.strip()
    if user and user in seen:
        problems.append(OptionProblem(f"{where}.user", f"{where}.user {user!r} is listed twice"))
    seen.add(user)
    auth_user = item.get("auth_user") or user
    if (
        not isinstance(auth_user, str)
        or len(auth_user) > 128
        or not SIP_USER_NAME.match(auth_user.strip())
    ):
        if user:  # without a user name there is nothing to default to: said once, above
            problems.append(
                OptionProblem(
                    f"{where}.auth_user",
                    f"{where}.auth_user must be a SIP user name ({SIP_USER_CHARS}; at most 128)",
                )
            )
        auth_user = ""
    password = item.get("password")
    if password is None or password == "":
        password = stored.get(user, "")
    if not isinstance(password, str) or len(password) > 128:
        problems.append(
            OptionProblem(
                f"{where}.password", f"{where}.password must be text of at most 128 characters"
            )
        )
    elif register and not password and user:  # an invalid user name is said above
        problems.append(
            OptionProblem(
                f"{where}.password",
                f"{where}.password is required for {user!r}: ports register at the server",
            )
        )
    if problems:
        return None, problems
    return {"user": user, "auth_user": auth_user.strip(), "password": password}, []


def _ports(
    raw: Any, register: bool, stored: dict[str, str]
) -> tuple[list[dict[str, str]], list[OptionProblem]]:
    if not isinstance(raw, list):
        return [], [OptionProblem("ports", "ports must be a list of {user, auth_user, password}")]
    if len(raw) > MAX_PORTS:
        return [], [OptionProblem("ports", f"at most {MAX_PORTS} ports")]
    ports: list[dict[str, str]] = []
    problems: list[OptionProblem] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        port, found = _port(index, item, register, stored, seen)
        problems.extend(found)
        if port is not None:
            ports.append(port)
    return ports, problems


def _collect(problems: list[OptionProblem], check: Callable[[], Any], fallback: Any) -> Any:
    """``check()``'s value, or ``fallback`` with its problem kept in ``problems``."""
    try:
        return check()
    except _Refused as exc:
        problems.append(exc.problem)
        return fallback


def check(
    data: Any, previous: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], list[OptionProblem]]:
    """Every problem of ``data`` at once and the configuration as it would be stored
    (passwords merged from ``previous``; only meaningful when there is no problem)."""
    if not isinstance(data, dict):
        raise OptionsInvalid(
            [OptionProblem(None, "the platform configuration must be a JSON object")]
        )
    unknown = sorted(set(data) - FIELDS)
    if unknown:  # one at a time, as every other JSON body of the API
        raise OptionsInvalid(
            [
                OptionProblem(
                    unknown[0],
                    f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(FIELDS))}",
                )
            ]
        )
    stored = {
        str(p.get("user")): str(p.get("password") or "")
        for p in (previous or {}).get("ports", [])
        if isinstance(p, dict)
    }
    problems: list[OptionProblem] = []
    server = _collect(problems, lambda: _server(data), "")
    transport = data.get("transport", DEFAULTS["transport"])
    if transport not in TRANSPORTS:
        problems.append(
            OptionProblem(
                "transport", f"transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}"
            )
        )
    domain = data.get("domain") or server.rpartition(":")[0]
    if domain or server:  # no server and no domain: the server's error says it
        if not isinstance(domain, str) or not _HOST.match(domain) or len(domain) > 255:
            problems.append(
                OptionProblem("domain", f"domain must be a host name or address, got {domain!r}")
            )
    register = data.get("register", DEFAULTS["register"])
    if not isinstance(register, bool):
        problems.append(OptionProblem("register", "register must be true or false"))
        register = True
    caller_id = data.get("caller_id") or ""
    # the campaign's caller ID rule (sdk.dial_string): separators removed
    compact = dial_string(caller_id) if isinstance(caller_id, str) and caller_id else ""
    if not isinstance(caller_id, str) or (caller_id and compact is None):
        problems.append(
            OptionProblem(
                "caller_id",
                f"caller_id must be digits with an optional leading +, got {caller_id!r}",
            )
        )
    timeout = _collect(
        problems, lambda: _number(data, "no_answer_timeout_s", 1, 600, whole=False), None
    )
    rtp_min = _collect(
        problems, lambda: _number(data, "rtp_port_min", 1024, 65534, whole=True), None
    )
    rtp_max = _collect(
        problems, lambda: _number(data, "rtp_port_max", 1025, 65535, whole=True), None
    )
    ports, port_problems = _ports(data.get("ports", []), register, stored)
    problems.extend(port_problems)
    if rtp_min is not None and rtp_max is not None:
        even_ports = len(range(rtp_min + rtp_min % 2, rtp_max + 1, 2))
        if rtp_min >= rtp_max:
            problems.append(
                OptionProblem("rtp_port_max", "rtp_port_max must be above rtp_port_min")
            )
        elif even_ports < len(ports):
            problems.append(
                OptionProblem(
                    "rtp_port_max",
                    f"rtp_port_min..rtp_port_max holds {even_ports} RTP ports (even numbers) "
                    f"but {len(ports)} dialer ports may call at once: widen the range",
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
    return checked, problems


def validate_options(
    options: Mapping[str, Any], previous: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The configuration to store, or :class:`OptionsInvalid` listing every problem."""
    checked, problems = check(options, previous)
    if problems:
        raise OptionsInvalid(problems)
    return checked


def shown_options(stored: Mapping[str, Any]) -> dict[str, Any]:
    """What a Master reads: every field, ``has_password`` instead of a password."""
    body = {name: stored.get(name, DEFAULTS[name]) for name in FIELDS}
    body["ports"] = [
        {"user": p["user"], "auth_user": p["auth_user"], "has_password": bool(p.get("password"))}
        for p in stored.get("ports", [])
    ]
    return body


def describe_options(stored: Mapping[str, Any]) -> str:
    """One line for Diagnostics when the engine runs in another process."""
    return (
        f"{len(stored.get('ports', []))} ports on {stored.get('server')} "
        f"({stored.get('transport')})"
    )
