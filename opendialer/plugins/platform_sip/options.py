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
    follow_redirects     true: a 3xx to our INVITE is followed to its first
                         sip:/sips: Contact (docs/sip.md "Redirects") (default false)
    max_redirects        redirects one call follows at most, 1..10   (default 3)

Passwords are write-only: :func:`shown_options` returns ``has_password`` instead,
and a configuration without a port's password keeps the one stored for that user
(``previous``). :func:`validate_options` reports every problem at once, each
naming its field (``ports[2].user``), so a form shows them all next to their
fields (a coded ``sdk.OptionError`` each, codes in ``option_messages.py``).
``config.SipConfig`` parses the stored result for the running platform.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from opendialer.plugins.platform_sip import option_messages  # noqa: F401  (registers the codes)
from opendialer.plugins.platform_sip.config import MAX_REDIRECTS, TRANSPORTS
from opendialer.sdk import SIP_USER_NAME, OptionError, OptionField, OptionsInvalid, dial_string

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
    OptionField(
        "follow_redirects",
        "bool",
        "Follow redirects (3xx) to another SIP address",
        False,
        help="A 301 or 302 answer to a call is followed to the first SIP address it "
        "names, through the same server; the call then goes on as usual.",
    ),
    OptionField("max_redirects", "whole", "Redirects followed per call at most", 3),
)
FIELDS = {f.name for f in OPTION_FIELDS}
DEFAULTS: dict[str, Any] = {f.name: f.default for f in OPTION_FIELDS} | {"ports": []}


def _number(data: Mapping[str, Any], name: str, low: float, high: float, *, whole: bool) -> Any:
    value = data.get(name, DEFAULTS[name])
    bounds: dict[str, Any] = {"name": name, "low": f"{low:g}", "high": f"{high:g}"}
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (whole and not isinstance(value, int))
    ):
        raise OptionError(
            "platform_sip.rtp_port_invalid" if whole else "platform_sip.timeout_invalid",
            option=name,
            **bounds,
        )
    if not low <= value <= high:
        raise OptionError(
            "platform_sip.rtp_port_out_of_range" if whole else "platform_sip.timeout_out_of_range",
            option=name,
            value=f"{value:g}",
            **bounds,
        )
    return value


def _max_redirects(data: Mapping[str, Any]) -> int:
    value = data.get("max_redirects")
    if value is None or value == "":  # left empty on the page: the default
        value = DEFAULTS["max_redirects"]
    low, high = MAX_REDIRECTS
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise OptionError(
            "platform_sip.max_redirects_invalid",
            option="max_redirects",
            low=low,
            high=high,
            value=repr(value),
        )
    return value


def _server(data: Mapping[str, Any]) -> str:
    raw = data.get("server")
    if not isinstance(raw, str) or not raw.strip():
        raise OptionError("platform_sip.server_required", option="server")
    host, sep, port = raw.strip().rpartition(":")
    if not sep or not _HOST.match(host) or not port.isdigit() or not 0 < int(port) < 65536:
        raise OptionError("platform_sip.server_invalid", option="server", value=raw)
    return f"{host}:{int(port)}"


def _port(
    index: int, item: Any, register: bool, stored: dict[str, str], seen: set[str]
) -> tuple[dict[str, str] | None, list[OptionError]]:
    """One port checked field by field: the port as stored, and every problem it has."""
    where = f"ports[{index}]"
    if not isinstance(item, dict):
        return None, [OptionError("platform_sip.port_not_object", option=where, where=where)]
    unknown = sorted(set(item) - PORT_FIELDS)
    if unknown:
        return None, [
            OptionError(
                "platform_sip.port_unknown_field",
                option=f"{where}.{unknown[0]}",
                where=where,
                fields=unknown[0],
            )
        ]
    problems: list[OptionError] = []
    user = item.get("user")
    if not isinstance(user, str) or not SIP_USER_NAME.match(user.strip()) or len(user) > 64:
        problems.append(
            OptionError(
                "platform_sip.port_user_invalid",
                option=f"{where}.user",
                where=where,
                which="user",
                chars=SIP_USER_CHARS,
                n=64,
            )
        )
        user = ""
    user = user.strip()
    if user and user in seen:
        problems.append(
            OptionError(
                "platform_sip.port_user_twice", option=f"{where}.user", where=where, user=user
            )
        )
    seen.add(user)
    auth_user = item.get("auth_user") or user
    if (
        not isinstance(auth_user, str)
        or len(auth_user) > 128
        or not SIP_USER_NAME.match(auth_user.strip())
    ):
        if user:  # without a user name there is nothing to default to: said once, above
            problems.append(
                OptionError(
                    "platform_sip.port_user_invalid",
                    option=f"{where}.auth_user",
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
        problems.append(
            OptionError(
                "platform_sip.port_password_invalid", option=f"{where}.password", where=where
            )
        )
    elif register and not password and user:  # an invalid user name is said above
        problems.append(
            OptionError(
                "platform_sip.port_password_required",
                option=f"{where}.password",
                where=where,
                user=user,
            )
        )
    if problems:
        return None, problems
    return {"user": user, "auth_user": auth_user.strip(), "password": password}, []


def _ports(
    raw: Any, register: bool, stored: dict[str, str]
) -> tuple[list[dict[str, str]], list[OptionError]]:
    if not isinstance(raw, list):
        return [], [OptionError("platform_sip.ports_invalid", option="ports")]
    if len(raw) > MAX_PORTS:
        return [], [OptionError("platform_sip.too_many_ports", option="ports", n=MAX_PORTS)]
    ports: list[dict[str, str]] = []
    problems: list[OptionError] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        port, found = _port(index, item, register, stored, seen)
        problems.extend(found)
        if port is not None:
            ports.append(port)
    return ports, problems


def _collect(problems: list[OptionError], check: Callable[[], Any], fallback: Any) -> Any:
    """``check()``'s value, or ``fallback`` with its problem kept in ``problems``."""
    try:
        return check()
    except OptionError as exc:
        problems.append(exc)
        return fallback


def check(
    data: Any, previous: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], list[OptionError]]:
    """Every problem of ``data`` at once and the configuration as it would be stored
    (passwords merged from ``previous``; only meaningful when there is no problem)."""
    if not isinstance(data, dict):
        raise OptionError("platform_sip.config_not_object")
    unknown = sorted(set(data) - FIELDS)
    if unknown:  # one at a time, as every other JSON body of the API
        raise OptionError(
            "platform_sip.unknown_field",
            option=unknown[0],
            fields=", ".join(unknown),
            allowed=", ".join(sorted(FIELDS)),
        )
    stored = {
        str(p.get("user")): str(p.get("password") or "")
        for p in (previous or {}).get("ports", [])
        if isinstance(p, dict)
    }
    problems: list[OptionError] = []
    server = _collect(problems, lambda: _server(data), "")
    transport = data.get("transport", DEFAULTS["transport"])
    if transport not in TRANSPORTS:
        problems.append(
            OptionError(
                "platform_sip.transport_invalid",
                option="transport",
                transports=", ".join(TRANSPORTS),
                value=transport,
            )
        )
    domain = data.get("domain") or server.rpartition(":")[0]
    if domain or server:  # no server and no domain: the server's error says it
        if not isinstance(domain, str) or not _HOST.match(domain) or len(domain) > 255:
            problems.append(
                OptionError("platform_sip.domain_invalid", option="domain", value=domain)
            )
    register = data.get("register", DEFAULTS["register"])
    if not isinstance(register, bool):
        problems.append(OptionError("platform_sip.register_not_bool", option="register"))
        register = True
    caller_id = data.get("caller_id") or ""
    # the campaign's caller ID rule (sdk.dial_string): separators removed
    compact = dial_string(caller_id) if isinstance(caller_id, str) and caller_id else ""
    if not isinstance(caller_id, str) or (caller_id and compact is None):
        problems.append(
            OptionError("platform_sip.caller_id_invalid", option="caller_id", value=caller_id)
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
    follow_redirects = data.get("follow_redirects", DEFAULTS["follow_redirects"])
    if not isinstance(follow_redirects, bool):
        problems.append(
            OptionError("platform_sip.follow_redirects_not_bool", option="follow_redirects")
        )
    max_redirects = _collect(problems, lambda: _max_redirects(data), None)
    ports, port_problems = _ports(data.get("ports", []), register, stored)
    problems.extend(port_problems)
    if rtp_min is not None and rtp_max is not None:
        even_ports = len(range(rtp_min + rtp_min % 2, rtp_max + 1, 2))
        if rtp_min >= rtp_max:
            problems.append(OptionError("platform_sip.rtp_range_inverted", option="rtp_port_max"))
        elif even_ports < len(ports):
            problems.append(
                OptionError(
                    "platform_sip.rtp_range_too_small",
                    option="rtp_port_max",
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
        "follow_redirects": follow_redirects,
        "max_redirects": max_redirects,
    }
    return checked, problems


def validate_options(
    options: Mapping[str, Any], previous: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The configuration to store; one problem: its ``OptionError``; several:
    :class:`OptionsInvalid` holding every one (codes: ``option_messages.ERRORS``)."""
    checked, problems = check(options, previous)
    if len(problems) == 1:
        raise problems[0]
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
