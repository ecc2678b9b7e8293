"""The SIP signalling endpoint: one transport to the SIP server, transactions, dialogs.

Message parsing, serialisation, digest answers and SDP come from aiosipua; the
transport, the transaction timers and the dialog routing are ours (aiosipua's
UDP path never retransmits, its Via always says UDP, its TCP transport needs a
pre-opened connection per address and it has no TLS — see docs/sip.md).

Every request goes to the configured server (an outbound proxy / SBC / the
PBX itself). Incoming requests are routed to the dialog that owns their
Call-ID; anything else gets an RFC 3261 answer (481, 400, 200 for OPTIONS) or,
if it cannot even be parsed, is counted and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import ssl
from collections.abc import Callable
from typing import Any, Protocol

from aiosipua import SipMessage, SipRequest, SipResponse
from aiosipua.message import missing_required_headers

from opendialer.plugins.platform_sip.transactions import (
    ClientTransaction,
    Timers,
    cseq_method,
    top_branch,
)

log = logging.getLogger(__name__)

Address = tuple[str, int]
MAX_STREAM_MESSAGE = 64 * 1024
UDP_BUFFER_BYTES = 4 * 1024 * 1024  # capped by net.core.rmem_max/wmem_max


class DialogHandler(Protocol):
    def handle_request(self, request: SipRequest, reply: Callable[[SipResponse], None]) -> None: ...

    def handle_stray_response(self, response: SipResponse) -> None: ...


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


def local_ip_towards(host: str) -> str:
    """The local address the OS would use to reach ``host`` (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((host, 9))
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


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


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, endpoint: SipEndpoint) -> None:
        self.endpoint = endpoint

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.endpoint.receive(data, (str(addr[0]), int(addr[1])), None)

    def error_received(self, exc: Exception) -> None:
        log.debug("sip.udp_error %s", exc)


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
        self.server = server
        self.transport = transport.lower()
        self.reliable = self.transport in ("tcp", "tls")
        self.timers = timers
        self._bind = (bind_host, bind_port)
        self.advertised_host = advertised_host or local_ip_towards(server[0])
        self.local_port = 0
        self._tls_context = tls_context
        self._on_alive = on_server_alive
        self._on_silent = on_server_silent
        self._udp: asyncio.DatagramTransport | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._transactions: dict[tuple[str, str], ClientTransaction] = {}
        self._dialogs: dict[str, DialogHandler] = {}
        self.dropped = 0  # datagrams that were not SIP at all
        self.closed = False

    # ------------------------------------------------------------ lifecycle

    @property
    def via_transport(self) -> str:
        return self.transport.upper()

    @property
    def contact_params(self) -> str:
        return "" if self.transport == "udp" else f";transport={self.transport}"

    @property
    def connected(self) -> bool:
        if self.reliable:
            return self._writer is not None and not self._writer.is_closing()
        return self._udp is not None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.transport == "udp":
            # resolve once: sendto() with a host name would block the loop on DNS
            infos = await loop.getaddrinfo(
                self.server[0], self.server[1], family=socket.AF_INET, type=socket.SOCK_DGRAM
            )
            self.server = (str(infos[0][4][0]), int(infos[0][4][1]))
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=self._bind
            )
            self._udp = transport
            self.local_port = int(transport.get_extra_info("sockname")[1])
            sock = transport.get_extra_info("socket")
            if sock is not None:  # a burst of answers must not overflow the default ~200 KB
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_BUFFER_BYTES)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, UDP_BUFFER_BYTES)
        else:
            await self._connect()

    async def _connect(self) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                self.server[0],
                self.server[1],
                ssl=self._tls_context if self.transport == "tls" else None,
                server_hostname=self.server[0] if self.transport == "tls" else None,
            ),
            timeout=self.timers.timeout / 8,
        )
        self._writer = writer
        self.local_port = int(writer.get_extra_info("sockname")[1])
        self._reader_task = asyncio.create_task(self._read_stream(reader))

    async def ensure_connected(self) -> bool:
        """Reconnect a dropped TCP/TLS connection; False if the server cannot be reached."""
        if self.connected or self.closed:
            return self.connected
        try:
            await self._connect()
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            log.warning("sip.connect_failed server=%s:%s error=%s", *self.server, exc)
            return False
        return True

    async def _read_stream(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if len(head) > MAX_STREAM_MESSAGE:
                    break
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() in (b"content-length", b"l"):
                        with contextlib.suppress(ValueError):
                            length = int(value.strip())
                if length > MAX_STREAM_MESSAGE:
                    break
                body = await reader.readexactly(length) if length else b""
                self.receive(head + body, self.server, None)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError):
            pass
        finally:
            if self._writer is not None:
                self._writer.close()
            self._writer = None

    async def close(self) -> None:
        self.closed = True
        for transaction in list(self._transactions.values()):
            transaction.terminate()
        self._dialogs.clear()
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._writer.wait_closed(), 2)
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task
            self._reader_task = None

    # ------------------------------------------------------------ sending

    def send_message(self, message: SipMessage, addr: Address | None = None) -> None:
        data = bytes(message)
        if self._udp is not None:
            self._udp.sendto(data, addr or self.server)
        elif self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)
        # else: not connected; the transaction's timer turns silence into an outcome

    def via(self) -> str:
        return (
            f"SIP/2.0/{self.via_transport} {self.advertised_host}:{self.local_port}"
            f";branch={new_branch()};rport"
        )

    def contact(self, user: str) -> str:
        return f"<sip:{user}@{self.advertised_host}:{self.local_port}{self.contact_params}>"

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
