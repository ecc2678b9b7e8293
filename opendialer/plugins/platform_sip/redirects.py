"""Where a 3xx answer to our INVITE sends the call (RFC 3261 §8.1.3.4), when the
platform follows redirects (``follow_redirects``; ``call.py`` sends the new INVITE).

Only 300, 301 and 302 name a new target for the call: 305 (Use Proxy) names a
proxy, which the dialer never picks (every request goes through its configured
server), and 380 names an alternative service, not another party. The target is
the first Contact, in q order (highest first, the header's order among equals),
whose URI is sip: or sips: — a tel: or http: Contact is not something this SIP
user agent can call. URI headers (``?Subject=…``) are dropped: a redirect must
not inject headers into the dialer's request.
"""

from __future__ import annotations

from aiosipua import SipResponse

REDIRECT_CODES = frozenset({300, 301, 302})
_SCHEMES = ("sip:", "sips:")
_UNSAFE = frozenset('<>"')


def _split_contacts(value: str) -> list[str]:
    """One Contact header line's entries: commas split them except inside <> or quotes."""
    entries: list[str] = []
    current: list[str] = []
    in_angle = in_quote = False
    for char in value:
        if char == '"' and not in_angle:
            in_quote = not in_quote
        elif char == "<" and not in_quote:
            in_angle = True
        elif char == ">" and not in_quote:
            in_angle = False
        elif char == "," and not in_angle and not in_quote:
            entries.append("".join(current))
            current = []
            continue
        current.append(char)
    entries.append("".join(current))
    return [entry.strip() for entry in entries if entry.strip()]


def _uri_and_q(entry: str) -> tuple[str, float]:
    """The URI of one Contact entry and its q (1.0 when absent or unreadable)."""
    if "<" in entry and ">" in entry:
        uri = entry[entry.index("<") + 1 : entry.index(">")]
        params = entry[entry.index(">") + 1 :]
    else:  # addr-spec: what follows the URI's first ; are the header's parameters (§20)
        uri, _, params = entry.partition(";")
        params = ";" + params
    q = 1.0
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 1.0
    return uri.strip(), q


def redirect_target(response: SipResponse) -> str | None:
    """The URI the 3xx ``response`` redirects the call to, or None if it names none."""
    if response.status_code not in REDIRECT_CODES:
        return None
    candidates: list[tuple[float, int, str]] = []
    for value in response.headers.get("contact"):
        for entry in _split_contacts(value):
            uri, q = _uri_and_q(entry)
            uri = uri.split("?", 1)[0]
            if not uri.lower().startswith(_SCHEMES) or not uri.partition(":")[2]:
                continue
            if any(char.isspace() or char in _UNSAFE for char in uri):
                continue  # it would not fit a request line
            candidates.append((-q, len(candidates), uri))
    return min(candidates)[2] if candidates else None


def uri_key(uri: str) -> str:
    """What makes two URIs the same target for loop detection: scheme, user, host
    and port, with the case-insensitive parts lowered; parameters and headers left out."""
    base = uri.split("?", 1)[0].split(";", 1)[0]
    scheme, _, rest = base.partition(":")
    user, at, hostport = rest.rpartition("@")
    return f"{scheme.lower()}:{user}{at}{hostport.lower()}"
