"""What the SIP endpoint refuses before any transaction or dialog sees it, and how it tells.

A message is refused when its start line is not SIP/2.0 (RFC 3261 §7.1, §7.2),
when a mandatory header is missing or empty (Via, From, To, Call-ID, CSeq:
§8.1.1 for requests; a response lacking one is malformed and the UAC discards
it, §8.1.3.1), when CSeq cannot be read or names another method than the
request line (§8.1.1.5), or when a response carries more than one Via (§8.1.3.3:
the proxies on the way removed theirs, so a second one means the response is
not ours). :func:`parse` and :func:`header_problem` find those; which refused
message still gets an answer (400, 481) is the endpoint's (``signalling.py``).

Every refusal goes through :class:`RefusalLog`: counted by reason (the
platform's ``dropped_datagrams`` figure is the total), logged at most once per
peer address and minute, so a peer spraying junk costs one log line a minute.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable

from aiosipua import SipMessage, SipRequest, SipResponse
from aiosipua.header_codec import parse_address

log = logging.getLogger("opendialer.plugins.platform_sip.signalling")

Address = tuple[str, int]
MANDATORY = ("Via", "From", "To", "Call-ID", "CSeq")
_TOKEN = r"[A-Za-z0-9.!%*_+`'~-]+"  # RFC 3261 §25.1 token: methods
_STATUS_LINE = re.compile(r"SIP/2\.0 [1-6][0-9][0-9](?: .*)?", re.IGNORECASE)
_REQUEST_LINE = re.compile(rf"{_TOKEN} [A-Za-z][A-Za-z0-9+.-]*:\S+ SIP/2\.0", re.IGNORECASE)
_CSEQ = re.compile(rf"([0-9]{{1,10}})\s+({_TOKEN})")
MAX_CSEQ = 2**31  # §8.1.1.5: the sequence number is below 2**31
#: Every ``Refused.reason`` raised here and in ``signalling.py``: the platform's
#: ``refused_messages`` lists each, so a reason never seen reads 0.
REFUSAL_REASONS = (
    "bad_start_line",
    "unparsable",
    "missing_header",
    "bad_header",
    "not_the_request",
    "no_transaction",
    "no_dialog",
)


class Refused(Exception):
    """A message the endpoint will not route: ``reason`` is the counted category."""

    def __init__(self, reason: str, detail: str, phrase: str = "Bad Request") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.phrase = phrase  # the reason phrase of a 400, for requests that get one


def parse(data: bytes) -> SipRequest | SipResponse:
    """The message in ``data``; :class:`Refused` when its start line is not SIP/2.0's
    or the parser gives up. Leading CRLFs are skipped (§7.5)."""
    data = data.lstrip(b"\r\n")
    first = data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", errors="replace")
    if not (_STATUS_LINE.fullmatch(first) or _REQUEST_LINE.fullmatch(first)):
        raise Refused("bad_start_line", f"start line {first[:60]!r}")
    try:
        return SipMessage.parse(data)
    except Exception as exc:  # any parse failure is the sender's problem, never ours
        raise Refused("unparsable", f"{len(data)} bytes: {exc}") from None


def cseq_parts(message: SipRequest | SipResponse) -> tuple[int, str] | None:
    """(number, method) of the CSeq header, None when it cannot be read."""
    match = _CSEQ.fullmatch((message.headers.get_first("cseq") or "").strip())
    if match is None or int(match[1]) >= MAX_CSEQ:
        return None
    return int(match[1]), match[2]


def from_tag(message: SipRequest | SipResponse) -> str | None:
    sender = message.from_addr
    return sender.tag if sender else None


def header_problem(message: SipRequest | SipResponse) -> Refused | None:
    """Why the headers of ``message`` make it unusable, or None."""
    missing = [name for name in MANDATORY if not any(v.strip() for v in message.headers.get(name))]
    if missing:
        names = ", ".join(missing)
        return Refused("missing_header", f"no {names}", f"Missing {names}")
    cseq = cseq_parts(message)
    if cseq is None:
        raw = message.headers.get_first("cseq") or ""
        return Refused("bad_header", f"CSeq {raw[:40]!r}", "Bad CSeq")
    if isinstance(message, SipRequest) and cseq[1] != message.method:
        return Refused(
            "bad_header", f"CSeq method {cseq[1]} on a {message.method[:20]}", "Bad CSeq"
        )
    if isinstance(message, SipResponse) and len(message.headers.get("via")) > 1:
        return Refused("bad_header", "a response with more than one Via (§8.1.3.3)")
    for name in ("From", "To"):
        try:
            parse_address(message.headers.get_first(name) or "")
        except Exception:
            return Refused("bad_header", f"{name} cannot be parsed", f"Bad {name}")
    return None


class RefusalLog:
    """Counts refusals by reason; logs at most one line per peer each ``interval_s``.

    The line names the reason of the refusal that triggered it and how many
    more the peer had refused since its previous line.
    """

    MAX_PEERS = 4096  # peers remembered; older entries are forgotten first

    def __init__(
        self, *, interval_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self.by_reason: Counter[str] = Counter()
        self._last_line: dict[Address, float] = {}
        self._held: Counter[Address] = Counter()

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())

    def refuse(self, peer: Address, refused: Refused, what: str = "") -> None:
        self.by_reason[refused.reason] += 1
        now = self.clock()
        last = self._last_line.get(peer)
        if last is not None and now - last < self.interval_s:
            self._held[peer] += 1
            return
        held = self._held.pop(peer, 0)
        self._last_line.pop(peer, None)  # re-inserted last: the dict stays oldest first
        self._last_line[peer] = now
        if len(self._last_line) > self.MAX_PEERS:
            oldest = next(iter(self._last_line))
            del self._last_line[oldest]
            self._held.pop(oldest, None)
        log.warning(
            "sip.refused from=%s:%s reason=%s %s%s (%d more refused from this peer since "
            "its last line; at most one line a peer every %.0f s)",
            peer[0],
            peer[1],
            refused.reason,
            what + " " if what else "",
            refused.detail,
            held,
            self.interval_s,
        )
