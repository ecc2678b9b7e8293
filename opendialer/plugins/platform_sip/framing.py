"""The SIP transport layer (RFC 3261 §18): one UDP socket or one TCP/TLS stream to the server.

UDP: one datagram is one message; the server's name is resolved once at start
(``sendto`` with a host name would block the loop on DNS) and the socket buffers
are raised so a burst of answers does not overflow them. TCP/TLS: messages are
framed by their header block and ``Content-Length`` (§18.3, compact form ``l``);
a message over :data:`MAX_STREAM_MESSAGE` closes the connection, which
:meth:`SipTransport.ensure_connected` opens again — once, however many ports
ask at the same time (they share one connection, so their Contacts and the
answers to them are that connection's). Every message received goes,
as bytes with its source address, to ``deliver`` — parsing and everything above
is the endpoint's (``signalling.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable
from typing import Any

log = logging.getLogger("opendialer.plugins.platform_sip.signalling")

Address = tuple[str, int]
Deliver = Callable[[bytes, Address, object], None]
MAX_STREAM_MESSAGE = 64 * 1024
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
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                self.server[0],
                self.server[1],
                ssl=self._tls_context if self.transport == "tls" else None,
                server_hostname=self.server[0] if self.transport == "tls" else None,
            ),
            timeout=self._connect_timeout_s,
        )
        self._writer = writer
        self.local_port = int(writer.get_extra_info("sockname")[1])
        self._reader_task = asyncio.create_task(self._read_stream(reader, writer))

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
        elif self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)
        # else: not connected; the transaction's timer turns silence into an outcome

    async def close(self) -> None:
        self.closed = True
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
