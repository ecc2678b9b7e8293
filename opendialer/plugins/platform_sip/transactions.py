"""Client transactions with the RFC 3261 §17.1 timers.

aiosipua 0.7.1 sends every request exactly once and leaves retransmission to
the network; over UDP one lost datagram then loses the call (its transaction
module calls itself "simplified"). These client transactions retransmit:

* INVITE (§17.1.1): Timer A — resend after T1, 2·T1, 4·T1 … until a response;
  Timer B — no response at all after 64·T1: the request timed out. After a
  provisional response the INVITE waits for the final one (the dialer's
  no-answer timer sends CANCEL). A 3xx-6xx final is ACKed here (same branch)
  and the ACK is re-sent for every retransmission of it during Timer D.
* Non-INVITE (§17.1.2): Timer E — resend after T1, doubling up to T2 (and
  every T2 once a provisional arrived); Timer F — timed out after 64·T1;
  Timer K absorbs retransmitted finals for T4.

Over TCP/TLS nothing is resent (the transport is reliable) but Timers B and F
still bound the wait. Everything runs on ``loop.call_later`` handles: no task
per transaction, so thousands of calls cost no scheduler work while idle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiosipua import SipRequest, SipResponse

from opendialer.plugins.platform_sip.refusals import cseq_parts, from_tag

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Timers:
    """RFC 3261 base timers in seconds (T1 is the round-trip estimate)."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    @property
    def timeout(self) -> float:
        """Timers B and F: 64·T1."""
        return 64 * self.t1


def top_branch(message: SipRequest | SipResponse) -> str | None:
    via = message.headers.get_first("via")
    if not via:
        return None
    for part in via.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "branch":
            return value
    return None


def cseq_method(message: SipRequest | SipResponse) -> str | None:
    raw = message.headers.get_first("cseq")
    if not raw:
        return None
    parts = raw.split()
    return parts[1].upper() if len(parts) == 2 else None


def build_non2xx_ack(invite: SipRequest, response: SipResponse) -> SipRequest:
    """The ACK of a 3xx-6xx response: same branch and Request-URI (§17.1.1.3)."""
    ack = SipRequest(method="ACK", uri=invite.uri)
    ack.headers.append("Via", invite.headers.get_first("via") or "")
    for name in ("From", "Call-ID"):
        ack.headers.set_single(name, invite.headers.get_first(name) or "")
    ack.headers.set_single("To", response.headers.get_first("to") or "")
    seq = (invite.headers.get_first("cseq") or "1 INVITE").split()[0]
    ack.headers.set_single("CSeq", f"{seq} ACK")
    for route in invite.headers.get("route"):
        ack.headers.append("Route", route)
    ack.headers.set_single("Max-Forwards", "70")
    return ack


Send = Callable[[SipRequest], None]


class ClientTransaction:
    """One request until its final response (or timeout). Await ``final``:
    the final response, or ``None`` when the far side never answered."""

    def __init__(
        self,
        request: SipRequest,
        *,
        send: Send,
        reliable: bool,
        timers: Timers,
        on_done: Callable[[ClientTransaction], None],
        on_provisional: Callable[[SipResponse], None] | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self.request = request
        self.method = request.method.upper()
        self.branch = top_branch(request) or ""
        self._send = send
        self._reliable = reliable
        self._timers = timers
        self._on_done = on_done
        self._on_provisional = on_provisional
        self._timeout_s = timeout_s if timeout_s is not None else timers.timeout
        self._loop = asyncio.get_running_loop()
        self.final: asyncio.Future[SipResponse | None] = self._loop.create_future()
        self.provisional_seen = False
        self.retransmissions = 0
        self._interval = timers.t1
        self._retransmit_handle: asyncio.TimerHandle | None = None
        self._timeout_handle: asyncio.TimerHandle | None = None
        self._linger_handle: asyncio.TimerHandle | None = None
        self._ack: SipRequest | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.branch, self.method)

    def mismatch(self, response: SipResponse) -> str | None:
        """Why ``response``, matched to this transaction by its branch and CSeq
        method (§17.1.3), is still not an answer to this request; None when it is.

        The branch is the far end's to copy, not proof: a response whose Call-ID,
        From tag or CSeq number differ from the request's belongs to another
        request (or to nobody) and must not end this transaction (§8.1.3.3).
        """
        request = self.request
        if response.call_id != request.call_id:
            return "its Call-ID is not the request's"
        if from_tag(response) != from_tag(request):
            return "its From tag is not the request's"
        ours, theirs = cseq_parts(request), cseq_parts(response)
        if ours is None or theirs is None or ours[0] != theirs[0]:
            return "its CSeq number is not the request's"
        return None

    def start(self) -> None:
        self._send(self.request)
        if not self._reliable:
            self._retransmit_handle = self._loop.call_later(self._interval, self._retransmit)
        self._timeout_handle = self._loop.call_later(self._timeout_s, self._timed_out)

    def _retransmit(self) -> None:
        if self.final.done():
            return
        self.retransmissions += 1
        self._send(self.request)
        if self.method == "INVITE":
            self._interval *= 2
        else:
            self._interval = (
                self._timers.t2
                if self.provisional_seen
                else min(self._interval * 2, self._timers.t2)
            )
        self._retransmit_handle = self._loop.call_later(self._interval, self._retransmit)

    def _timed_out(self) -> None:
        self._timeout_handle = None
        if not self.final.done():
            log.info(
                "sip.transaction_timeout method=%s branch=%s after=%.1fs",
                self.method,
                self.branch,
                self._timeout_s,
            )
            self.final.set_result(None)
        self.terminate()

    def on_response(self, response: SipResponse) -> None:
        code = response.status_code
        if self.final.done():
            # A retransmitted final: re-ACK a non-2xx INVITE final (Timer D absorbs it).
            if self._ack is not None and code >= 300:
                self._send(self._ack)
            return
        if code < 200:
            self.provisional_seen = True
            if self.method == "INVITE":
                self._cancel(retransmit=True, timeout=True)  # Timer B stops in Proceeding
            if self._on_provisional is not None:
                self._on_provisional(response)
            return
        self.final.set_result(response)
        self._drop_provisional_callback()
        self._cancel(retransmit=True, timeout=True)
        if self.method == "INVITE" and code >= 300:
            self._ack = build_non2xx_ack(self.request, response)
            self._send(self._ack)
            linger = 0.0 if self._reliable else 32.0  # Timer D
        elif self.method == "INVITE":
            linger = 0.0  # 2xx: the dialog (TU) ACKs and absorbs retransmissions
        else:
            linger = 0.0 if self._reliable else self._timers.t4  # Timer K
        if linger:
            self._linger_handle = self._loop.call_later(linger, self.terminate)
        else:
            self.terminate()

    def _cancel(self, *, retransmit: bool, timeout: bool) -> None:
        if retransmit and self._retransmit_handle is not None:
            self._retransmit_handle.cancel()
            self._retransmit_handle = None
        if timeout and self._timeout_handle is not None:
            self._timeout_handle.cancel()
            self._timeout_handle = None

    def extend_timeout(self, seconds: float) -> None:
        """Bound the wait for a final after CANCEL (a proceeding INVITE has no Timer B)."""
        if not self.final.done() and self._timeout_handle is None:
            self._timeout_handle = self._loop.call_later(seconds, self._timed_out)

    def terminate(self) -> None:
        """Stop every timer and leave the transaction table."""
        self._cancel(retransmit=True, timeout=True)
        if self._linger_handle is not None:
            self._linger_handle.cancel()
            self._linger_handle = None
        if not self.final.done():
            self.final.set_result(None)
        self._drop_provisional_callback()
        self._on_done(self)

    def _drop_provisional_callback(self) -> None:
        """Forget ``on_provisional`` once the final is known (no 1xx is delivered after it).

        The callback is usually a bound method of an object that holds this
        transaction (the call's no-answer timer): keeping it would make a
        reference cycle, so every finished call — the call, its messages, its
        RTP endpoint — would wait for the cyclic garbage collector instead of
        being freed at once. At 300 concurrent calls that garbage (~16 KiB a
        call until a full collection) fragmented the heap: a quarter to a third of
        the resident-memory growth ``bench/soak.py --platform sip`` showed.
        """
        self._on_provisional = None
