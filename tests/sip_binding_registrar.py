"""A registrar that keeps bindings (RFC 3261 §10.3), on UDP and TCP at one port number.

``BindingRegistrar`` answers REGISTER without authentication and keeps, per
address of record, the Contact URIs registered and not removed since
(``Expires: 0`` removes the Contact it names; a binding whose time ran out is
gone too). The 2xx lists every binding of the AoR with its ``expires``, as a
registrar does. Every REGISTER is kept with the transport it came over, so a
test can tell through which endpoint and with which Contact a binding was made
and removed; ``connections`` counts the TCP connections accepted. OPTIONS get a
200 on both transports.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from aiosipua import SipMessage, SipRequest

from opendialer.plugins.platform_sip.framing import read_stream_message
from opendialer.plugins.platform_sip.signalling import make_response


@dataclass(frozen=True)
class Register:
    transport: str  # "udp" or "tcp"
    user: str
    contact: str  # the Contact URI, without <> and header parameters
    expires: int


def contact_uri(value: str) -> str:
    value = value.strip()
    return value.partition("<")[2].partition(">")[0] if "<" in value else value.split(";")[0]


def _free_port_on_both() -> int:
    """A port number free for UDP and TCP alike on 127.0.0.1 (a SIP server's 5060)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free on both UDP and TCP")


@dataclass
class BindingRegistrar(asyncio.DatagramProtocol):
    port: int = 0
    registers: list[Register] = field(default_factory=list)
    # user → Contact URI → monotonic time it expires
    bindings: dict[str, dict[str, float]] = field(default_factory=dict)
    connections: int = 0  # TCP connections accepted since start
    _udp: asyncio.DatagramTransport | None = None
    _tcp: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> BindingRegistrar:
        loop = asyncio.get_running_loop()
        self.port = _free_port_on_both()
        self._udp, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=("127.0.0.1", self.port)
        )
        self._tcp = await asyncio.start_server(self._serve_tcp, "127.0.0.1", self.port)
        return self

    def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
        for writer in self._writers:
            writer.close()

    def drop_connections(self) -> None:
        """Close every TCP connection (a server restart, a NAT or firewall timeout)."""
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    def current(self) -> dict[str, set[str]]:
        """Per user, the Contact URIs bound now."""
        now = time.monotonic()
        return {
            user: {c for c, until in contacts.items() if until > now}
            for user, contacts in self.bindings.items()
            if any(until > now for until in contacts.values())
        }

    def count(self) -> int:
        return sum(len(contacts) for contacts in self.current().values())

    # ------------------------------------------------------------ transports

    def datagram_received(self, data: bytes, addr: Any) -> None:
        assert self._udp is not None
        udp = self._udp
        self._handle(data, "udp", lambda reply: udp.sendto(reply, addr))

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, OSError):
            while (data := await read_stream_message(reader)) is not None:
                self._handle(data, "tcp", writer.write)
        writer.close()

    # ------------------------------------------------------------ SIP

    def _handle(self, data: bytes, transport: str, send: Any) -> None:
        if not data.strip():
            return
        message = SipMessage.parse(data)
        if not isinstance(message, SipRequest):
            return
        method = message.method.upper()
        if method == "OPTIONS":
            send(bytes(make_response(message, 200, "OK", to_tag="reg")))
        elif method == "REGISTER":
            send(bytes(self._register(message, transport)))

    def _register(self, request: SipRequest, transport: str) -> Any:
        to = str(request.headers.get_first("to") or "")
        user = to.split("sip:", 1)[1].split("@", 1)[0]
        header_expires = int(str(request.headers.get_first("expires") or "3600").strip())
        contacts = self.bindings.setdefault(user, {})
        for value in request.headers.get("contact"):
            expires = header_expires
            for part in value.rpartition(">")[2].split(";"):
                name, _, number = part.strip().partition("=")
                if name.lower() == "expires" and number.isdigit():
                    expires = int(number)
            uri = contact_uri(value)
            self.registers.append(Register(transport, user, uri, expires))
            if expires == 0:
                contacts.pop(uri, None)
            else:
                contacts[uri] = time.monotonic() + expires
        ok = make_response(request, 200, "OK", to_tag="reg")
        now = time.monotonic()
        for uri, until in contacts.items():
            if until > now:
                ok.headers.append("Contact", f"<{uri}>;expires={round(until - now)}")
        return ok
