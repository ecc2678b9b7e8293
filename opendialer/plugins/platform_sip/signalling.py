"""The SIP signalling endpoint: transactions and dialog routing over one transport.

Message parsing, serialisation, digest answers and SDP come from aiosipua; the
transport (``framing.py``), the transaction timers (``transactions.py``) and the
dialog routing (here) are ours (aiosipua's
UDP path never retransmits, its Via always says UDP, its TCP transport needs a
pre-opened connection per address and it has no TLS — see docs/sip.md).

Every request goes to the configured server (an outbound proxy / SBC / the
PBX itself). A message that fails this layer's checks never reaches a dialog:
responses are matched to their client transaction by branch and method;
incoming requests are routed to the dialog that owns their
Call-ID; anything else gets an RFC 3261 answer (481, 400, 200 for OPTIONS) or,
if it cannot even be parsed, is counted and dropped.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import ssl
from collections.abc import Callable
from typing import Protocol

from aiosipua import SipMessage, SipRequest, SipResponse
from aiosipua.message import missing_required_headers

from opendialer.plugins.platform_sip.framing import Address, SipTransport
from opendialer.plugins.platform_sip.transactions import (
    ClientTransaction,
    Timers,
    cseq_method,
    top_branch,
)

log = logging.getLogger(__name__)


class DialogHandler(Protocol):
    def handle_request(self, request: SipRequest, reply: Callable[[SipResponse], None]) -> None: ...

    def handle_stray_response(self, response: SipResponse) -> None: ...


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
        self.dropped = 0  # datagrams that were not SIP at all

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

    # ------------------------------------------------------------ receiving

    def receive(self, data: bytes, addr: Address, _unused: object) -> None:
        if not data.strip():
            return  # keep-alive CRLF
        try:
            message = SipMessage.parse(data)
        except Exception:  # any parse failure is the sender's problem, never ours
            self.dropped += 1
            log.debug("sip.unparseable from=%s:%s bytes=%d", addr[0], addr[1], len(data))
            return
        if self._on_alive is not None and (self.reliable or addr == self.server):
            self._on_alive()
        try:
            if isinstance(message, SipResponse):
                self._receive_response(message)
            else:
                self._receive_request(message, addr)
        except Exception:
            log.exception("sip.handler_error from=%s:%s", addr[0], addr[1])

    def _receive_response(self, response: SipResponse) -> None:
        branch, method = top_branch(response), cseq_method(response)
        if branch and method:
            transaction = self._transactions.get((branch, method))
            if transaction is not None:
                transaction.on_response(response)
                return
        handler = self._dialogs.get(response.call_id or "")
        if handler is not None:
            handler.handle_stray_response(response)  # e.g. a retransmitted 2xx: re-ACK

    def _receive_request(self, request: SipRequest, addr: Address) -> None:
        def reply(response: SipResponse) -> None:
            self.send_message(response, addr)

        if not request.headers.get("via"):
            self.dropped += 1  # nowhere to send an answer
            return
        missing = missing_required_headers(request)
        if missing:
            if request.method.upper() != "ACK":
                bad = make_response(request, 400, f"Missing {', '.join(missing)}")
                reply(bad)
            return
        handler = self._dialogs.get(request.call_id or "")
        if handler is not None:
            handler.handle_request(request, reply)
            return
        method = request.method.upper()
        if method == "ACK":
            return
        if method == "OPTIONS":
            reply(make_response(request, 200, "OK", to_tag=new_tag()))
        elif method == "INVITE":
            reply(make_response(request, 480, "Outbound Dialer Only", to_tag=new_tag()))
        else:
            reply(make_response(request, 481, "Call/Transaction Does Not Exist", to_tag=new_tag()))
