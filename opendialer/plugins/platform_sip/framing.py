"""The SIP transport layer (RFC 3261 §18): one UDP socket or one TCP/TLS stream to the server.

UDP: one datagram is one message; the server's name is resolved once at start
(``sendto`` with a host name would block the loop on DNS) and the socket buffers
are raised so a burst of answers does not overflow them. TCP/TLS: messages are
framed by their header block and ``Content-Length`` (§18.3, compact form ``l``);
a message over :data:`MAX_STREAM_MESSAGE` closes the connection, which
:meth:`SipTransport.ensure_connected` opens again — once, however many ports
ask at the same time (they share one connection, so their Contacts and the
answers to them are that connection's). A message sent while the connection is
gone (the server restarted or dropped it mid-call: the REFER, BYE, ACK or CANCEL of
a call in progress) is held and sent over that new connection (RFC 3261 §18.1.1),
not dropped. The new connection is made from the local port of the old one when the
OS allows it: the Contacts of calls in progress name that port, and a server routes
the far end's in-dialog requests (NOTIFY, BYE) to it. Every message received goes,
as bytes with its source address, to ``deliver`` — parsing and everything above
is the endpoint's (``signalling.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import ssl
from collections.abc import Callable
from typing import Any

log = logging.getLogger("opendialer.plugins.platform_sip.signalling")

Address = tuple[str, int]
Deliver = Callable[[bytes, Address, object], None]
MAX_STREAM_MESSAGE = 64 * 1024
#: Messages held while a dropped TCP/TLS connection is made again (beyond: dropped,
#: their transactions' timers turn the silence into outcomes).
MAX_HELD_MESSAGES = 10_000
UDP_BUFFER_BYTES = 4 * 1024 * 1024  # capped by net.core.rmem_max/wmem_max


def local_ip_towards(host: str) -> str:
    """The local address the OS would use to reach ``host`` (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((host, 9))
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


async def read_stream_message(reader: asyncio.StreamReader) -> bytes | None:
    """The next message of a TCP/TLS stream (header block + Content-Length body);
    None when it is too big to be a SIP message (the connection should go)."""
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_STREAM_MESSAGE:
        return None
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() in (b"content-length", b"l"):
            with contextlib.suppress(ValueError):
                length = int(value.strip())
    if length > MAX_STREAM_MESSAGE:
        return None
    body = await reader.readexactly(length) if length else b""
    return head + body


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, deliver: Deliver) -> None:
        self.deliver = deliver

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.deliver(data, (str(addr[0]), int(addr[1])), None)

    def error_received(self, exc: Exception) -> None:
        log.debug("sip.udp_error %s", exc)


class SipTransport:
    """Bytes to and from the server over ``transport`` (``udp``, ``tcp``, ``tls``)."""

    def __init__(
        self,
        *,
        server: Address,
        transport: str,
        deliver: Deliver,
        connect_timeout_s: float,
        bind_host: str = "0.0.0.0",
        bind_port: int = 0,
        advertised_host: str | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.server = server
        self.transport = transport.lower()
        self.reliable = self.transport in ("tcp", "tls")
        self.advertised_host = advertised_host or local_ip_towards(server[0])
        self.local_port = 0
        self.closed = False
        self._deliver = deliver
        self._connect_timeout_s = connect_timeout_s
        self._bind = (bind_host, bind_port)
        self._tls_context = tls_context
        self._udp: asyncio.DatagramTransport | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        # One (re)connect at a time: ports refreshing together after a drop would
        # otherwise each open a connection, and each new one replaces the writer
        # the others' requests (and Contacts) were made for.
        self._connect_lock = asyncio.Lock()
        self._failed_connects = 0  # lets those waiting on a failed attempt share its result
        self._held: list[bytes] = []  # sent while the connection was gone (see send)
        self._resend_task: asyncio.Task[None] | None = None

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
            infos = await loop.getaddrinfo(
                self.server[0], self.server[1], family=socket.AF_INET, type=socket.SOCK_DGRAM
            )
            self.server = (str(infos[0][4][0]), int(infos[0][4][1]))
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self._deliver), local_addr=self._bind
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
        # Again from the old connection's port when it is free: the Contacts of calls
        # in progress name it. A port in TIME_WAIT or taken refuses the bind: then any
        # port (a refused or unanswered connect is the server's answer: no second try).
        previous = self.local_port
        opened = None
        if previous:
            try:
                opened = await self._open((self._bind[0], previous))
            except OSError as exc:
                if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
                    raise
        reader, writer = opened or await self._open(None)
        self._writer = writer
        self.local_port = int(writer.get_extra_info("sockname")[1])
        self._reader_task = asyncio.create_task(self._read_stream(reader, writer))

    async def _open(
        self, local_addr: tuple[str, int] | None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.wait_for(
            asyncio.open_connection(
                self.server[0],
                self.server[1],
                ssl=self._tls_context if self.transport == "tls" else None,
                server_hostname=self.server[0] if self.transport == "tls" else None,
                local_addr=local_addr,
            ),
            timeout=self._connect_timeout_s,
        )

    async def ensure_connected(self) -> bool:
        """Reconnect a dropped TCP/TLS connection; False if the server cannot be reached.

        Callers arriving while a connect is under way wait for it and use its
        connection; if it failed, they are told so rather than each trying (and
        waiting out the connect timeout) in turn."""
        if self.connected or self.closed:
            return self.connected
        failed_before = self._failed_connects
        async with self._connect_lock:
            if self.connected or self.closed:
                return self.connected
            if self._failed_connects != failed_before:
                return False  # the attempt made while we waited failed just now
            try:
                await self._connect()
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                self._failed_connects += 1
                log.warning("sip.connect_failed server=%s:%s error=%s", *self.server, exc)
                return False
        return True

    async def _read_stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                message = await read_stream_message(reader)
                if message is None:
                    break
                self._deliver(message, self.server, None)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError):
            pass
        finally:
            writer.close()
            if self._writer is writer:  # a newer connection may have replaced this one
                self._writer = None

    def send(self, data: bytes, addr: Address | None = None) -> None:
        if self._udp is not None:
            self._udp.sendto(data, addr or self.server)
        elif self._writer is not None and not self._writer.is_closing() and not self._held:
            self._writer.write(data)
        elif self.reliable and not self.closed and len(self._held) < MAX_HELD_MESSAGES:
            # The connection is gone: connect again and send it then, in order (§18.1.1).
            self._held.append(data)
            if self._resend_task is None or self._resend_task.done():
                self._resend_task = asyncio.get_running_loop().create_task(
                    self._send_held(), name="sip-reconnect"
                )
        # else: closed, or too much held; the transaction's timer turns silence into an outcome

    async def _send_held(self) -> None:
        """Connect again (sharing an attempt under way) and send what was held; if the
        server cannot be reached, drop it: the transactions time out as for a loss."""
        connected = await self.ensure_connected()
        held, self._held = self._held, []
        if connected and self._writer is not None:
            for data in held:
                self._writer.write(data)

    async def close(self) -> None:
        self.closed = True
        self._held.clear()
        if self._resend_task is not None:
            self._resend_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._resend_task
            self._resend_task = None
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
