"""The SIP signalling endpoint: transactions and dialog routing over one transport.

Message parsing, serialisation, digest answers and SDP come from aiosipua; the
transport (``framing.py``), the transaction timers (``transactions.py``) and the
dialog routing (here) are ours (aiosipua's
UDP path never retransmits, its Via always says UDP, its TCP transport needs a
pre-opened connection per address and it has no TLS — see docs/sip.md).

Every request goes to the configured server (an outbound proxy / SBC / the
PBX itself). A message that fails this layer's checks never reaches a
transaction or a dialog: a bad start line or a missing/unreadable mandatory
header is refused first (``refusals.py``; a request then gets a 400 if it has
a Via to answer to); a response is matched to its client transaction by
branch and CSeq method and must then carry the request's Call-ID, From tag and
CSeq number, else — unless it is a retransmitted 2xx its dialog re-ACKs — it is
refused; an incoming request goes to the dialog of its Call-ID only if the
dialog's tags match (else 481), an out-of-dialog OPTIONS gets 200 and INVITE
480. Every refusal is counted (``dropped``) and logged once per peer and minute.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import ssl
from collections.abc import Callable
from typing import Protocol

from aiosipua import SipMessage, SipRequest, SipResponse

from opendialer.plugins.platform_sip.framing import Address, SipTransport
from opendialer.plugins.platform_sip.refusals import RefusalLog, Refused, header_problem, parse
from opendialer.plugins.platform_sip.transactions import (
    ClientTransaction,
    Timers,
    cseq_method,
    top_branch,
)

log = logging.getLogger(__name__)


class DialogHandler(Protocol):
    def handle_request(self, request: SipRequest, reply: Callable[[SipResponse], None]) -> None: ...

    def owns(self, request: SipRequest) -> bool:
        """Whether ``request`` (its Call-ID is the dialog's) has the dialog's tags."""
        ...

    def handle_stray_response(self, response: SipResponse) -> bool:
        """Take a response with the dialog's Call-ID that no transaction matched;
        False when it is not the dialog's either (the endpoint refuses it)."""
        ...


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


def make_response(request: SipRequest, code: int, reason: str, *, to_tag: str = "") -> SipResponse:
    """A response echoing Via/From/To/Call-ID/CSeq (§8.2.6.2); adds a To tag if given."""
    response = SipResponse(status_code=code, reason_phrase=reason)
    for via in request.headers.get("via"):
        response.headers.append("Via", via)
    for name in ("From", "Call-ID", "CSeq"):
        value = request.headers.get_first(name)
        if value is not None:
            response.headers.set_single(name, value)
    to = request.headers.get_first("to") or ""
    if to_tag and ";tag=" not in to:
        to = f"{to};tag={to_tag}"
    response.headers.set_single("To", to)
    return response


_STALE = re.compile(r'(?:^|[\s,])stale\s*=\s*"?true"?\s*(?:$|,)', re.IGNORECASE)


def stale_challenge(response: SipResponse) -> bool:
    """Whether a 401/407 says ``stale=true``: our credentials were right but their
    nonce too old (RFC 2617 §3.2.1) — its new nonce is to be answered, once, rather
    than the request given up as refused."""
    name = "www-authenticate" if response.status_code == 401 else "proxy-authenticate"
    return any(_STALE.search(value) for value in response.headers.get(name))


def options_request(endpoint: SipEndpoint, domain: str, user: str) -> SipRequest:
    """An out-of-dialog OPTIONS: the keep-alive that tells whether the server answers."""
    request = SipRequest(method="OPTIONS", uri=f"sip:{domain}")
    request.headers.append("Via", endpoint.via())
    request.headers.set_single("Max-Forwards", "70")
    request.headers.set_single("From", f"<sip:{user}@{domain}>;tag={new_tag()}")
    request.headers.set_single("To", f"<sip:{domain}>")
    request.headers.set_single("Call-ID", f"{secrets.token_hex(10)}@opendialer")
    request.headers.set_single("CSeq", "1 OPTIONS")
    request.headers.set_single("Accept", "application/sdp")
    return request


class SipEndpoint:
    """Sends requests through client transactions and routes what comes back."""

    def __init__(
        self,
        *,
        server: Address,
        transport: str,
        timers: Timers,
        bind_host: str = "0.0.0.0",
        bind_port: int = 0,
        advertised_host: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        on_server_alive: Callable[[], None] | None = None,
        on_server_silent: Callable[[str], None] | None = None,
    ) -> None:
        self.timers = timers
        self.link = SipTransport(
            server=server,
            transport=transport,
            deliver=self.receive,
            connect_timeout_s=timers.timeout / 8,
            bind_host=bind_host,
            bind_port=bind_port,
            advertised_host=advertised_host,
            tls_context=tls_context,
        )
        self.transport = self.link.transport
        self.reliable = self.link.reliable
        self.advertised_host = self.link.advertised_host
        self._on_alive = on_server_alive
        self._on_silent = on_server_silent
        self._transactions: dict[tuple[str, str], ClientTransaction] = {}
        self._dialogs: dict[str, DialogHandler] = {}
        self.refusals = RefusalLog()

    # ------------------------------------------------------------ lifecycle

    @property
    def server(self) -> Address:
        """The server's address (resolved at start for UDP)."""
        return self.link.server

    @property
    def local_port(self) -> int:
        return self.link.local_port

    @property
    def closed(self) -> bool:
        return self.link.closed

    @property
    def connected(self) -> bool:
        return self.link.connected

    async def start(self) -> None:
        await self.link.start()

    async def ensure_connected(self) -> bool:
        """Reconnect a dropped TCP/TLS connection; False if the server cannot be reached."""
        return await self.link.ensure_connected()

    async def close(self) -> None:
        self.link.closed = True  # before the transactions end: their silence is no outage
        for transaction in list(self._transactions.values()):
            transaction.terminate()
        self._dialogs.clear()
        await self.link.close()

    # ------------------------------------------------------------ sending

    def send_message(self, message: SipMessage, addr: Address | None = None) -> None:
        self.link.send(bytes(message), addr)

    def via(self) -> str:
        return (
            f"SIP/2.0/{self.link.via_transport} {self.advertised_host}:{self.local_port}"
            f";branch={new_branch()};rport"
        )

    def contact(self, user: str) -> str:
        return f"<sip:{user}@{self.advertised_host}:{self.local_port}{self.link.contact_params}>"

    def request(
        self,
        request: SipRequest,
        *,
        on_provisional: Callable[[SipResponse], None] | None = None,
        timeout_s: float | None = None,
    ) -> ClientTransaction:
        """Send ``request`` (its top Via must carry a fresh branch) in a client transaction."""
        transaction = ClientTransaction(
            request,
            send=self.send_message,
            reliable=self.reliable,
            timers=self.timers,
            on_done=self._transaction_done,
            on_provisional=on_provisional,
            timeout_s=timeout_s,
        )
        self._transactions[transaction.key] = transaction
        transaction.start()
        transaction.final.add_done_callback(self._watch_silence)
        return transaction

    def _transaction_done(self, transaction: ClientTransaction) -> None:
        if self._transactions.get(transaction.key) is transaction:
            del self._transactions[transaction.key]

    def _watch_silence(self, final: asyncio.Future[SipResponse | None]) -> None:
        if not final.cancelled() and final.result() is None and self._on_silent and not self.closed:
            self._on_silent("the SIP server did not answer a request (RFC 3261 Timer B/F)")

    @property
    def open_transactions(self) -> int:
        return len(self._transactions)

    # ------------------------------------------------------------ dialogs

    def add_dialog(self, call_id: str, handler: DialogHandler) -> None:
        self._dialogs[call_id] = handler

    def remove_dialog(self, call_id: str) -> None:
        self._dialogs.pop(call_id, None)

    @property
    def open_dialogs(self) -> int:
        return len(self._dialogs)

    @property
    def dropped(self) -> int:
        """Messages refused (``refusals.py``): never matched to a transaction or dialog."""
        return self.refusals.total

    # ------------------------------------------------------------ receiving

    def receive(self, data: bytes, addr: Address, _unused: object) -> None:
        if not data.strip():
            return  # keep-alive CRLF
        try:
            message = parse(data)
        except Refused as refused:
            self.refusals.refuse(addr, refused)
            return
        problem = header_problem(message)
        if problem is not None:
            self._refuse_malformed(message, problem, addr)
            return
        if self._on_alive is not None and (self.reliable or addr == self.server):
            self._on_alive()
        try:
            if isinstance(message, SipResponse):
                self._receive_response(message, addr)
            else:
                self._receive_request(message, addr)
        except Exception:
            log.exception("sip.handler_error from=%s:%s", addr[0], addr[1])

    def _refuse_malformed(
        self, message: SipRequest | SipResponse, refused: Refused, addr: Address
    ) -> None:
        """Count and log; a request that can be answered gets a 400 (RFC 3261 §21.4.1)."""
        self.refusals.refuse(addr, refused, _described(message))
        if (
            isinstance(message, SipRequest)
            and message.method.upper() != "ACK"
            and message.headers.get("via")  # nowhere to send an answer without one
        ):
            self.send_message(make_response(message, 400, refused.phrase), addr)

    def _receive_response(self, response: SipResponse, addr: Address) -> None:
        branch, method = top_branch(response), cseq_method(response)
        transaction = self._transactions.get((branch or "", method or ""))
        if transaction is not None:
            mismatch = transaction.mismatch(response)
            if mismatch is None:
                transaction.on_response(response)
            else:
                refused = Refused("not_the_request", f"branch={branch}: {mismatch}")
                self.refusals.refuse(addr, refused, _described(response))
            return
        handler = self._dialogs.get(response.call_id or "")
        if handler is not None and handler.handle_stray_response(response):
            return  # e.g. a retransmitted 2xx: re-ACKed
        refused = Refused("no_transaction", f"branch={branch}: matches no transaction or dialog")
        self.refusals.refuse(addr, refused, _described(response))

    def _receive_request(self, request: SipRequest, addr: Address) -> None:
        def reply(response: SipResponse) -> None:
            self.send_message(response, addr)

        method = request.method.upper()
        handler = self._dialogs.get(request.call_id or "")
        if handler is not None and handler.owns(request):
            handler.handle_request(request, reply)
            return
        to = request.to_addr
        in_dialog = handler is not None or bool(to and to.tag)
        if method == "ACK":
            if in_dialog:  # (an ACK of an answer we sent statelessly is simply absorbed)
                refused = Refused("no_dialog", "an ACK whose Call-ID or tags match no dialog")
                self.refusals.refuse(addr, refused, _described(request))
            return
        if method == "OPTIONS" and not in_dialog:
            reply(make_response(request, 200, "OK", to_tag=new_tag()))
        elif method == "INVITE" and not in_dialog:
            reply(make_response(request, 480, "Outbound Dialer Only", to_tag=new_tag()))
        else:  # §12.2.2: a request for a dialog we do not have
            refused = Refused("no_dialog", "its Call-ID or tags match no dialog")
            self.refusals.refuse(addr, refused, _described(request))
            reply(make_response(request, 481, "Call/Transaction Does Not Exist", to_tag=new_tag()))


def _described(message: SipRequest | SipResponse) -> str:
    """A short name of a message for the log: ``INVITE`` or ``200 INVITE``."""
    if isinstance(message, SipRequest):
        return message.method[:20]
    cseq = (message.headers.get_first("cseq") or "").split()
    return f"{message.status_code} {cseq[-1][:20] if cseq else '?'}"
