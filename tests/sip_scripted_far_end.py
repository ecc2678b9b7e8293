"""A scriptable far end on a raw UDP socket, for what SIPp cannot be made to do.

``ScriptedUas`` answers like a phone (100/180/200 with SDP, 202 + NOTIFY
sipfrag for REFER, 200 for BYE) and can misbehave on request: drop the first
INVITE or BYE (to prove retransmission), retransmit its 200 OK, send a
re-INVITE, hang up mid-analysis, send garbage, send in-dialog requests with
wrong tags or missing headers, stream RTP from the announced address or from
another one, or never answer at all. Everything it receives is kept in
``received`` for assertions; RTP arriving at its announced media port (and at
the port a re-INVITE moves it to) is kept with the time it arrived.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiosipua import SipMessage, SipRequest, SipResponse

from opendialer.plugins.platform_sip import g711

AUDIO = Path(__file__).parent / "sipp" / "audio"


def loud_audio(seconds: float) -> bytes:
    """µ-law of a loud 440 Hz tone: 'voiced' for any energy detector."""
    t = np.arange(int(8000 * seconds)) / 8000
    pcm = (12000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    return g711.encode(pcm, g711.PCMU)


def rtp_packets(payload: bytes, *, ssrc: int = 0x1234, pt: int = 0) -> list[bytes]:
    packets = []
    for seq, offset in enumerate(range(0, len(payload), 160)):
        header = bytes([0x80, pt]) + seq.to_bytes(2, "big") + (seq * 160).to_bytes(4, "big")
        packets.append(header + ssrc.to_bytes(4, "big") + payload[offset : offset + 160])
    return packets


@dataclass
class RtpRecorder(asyncio.DatagramProtocol):
    """A media port that keeps every datagram: (arrival loop time, source, bytes)."""

    packets: list[tuple[float, tuple[str, int], bytes]] = field(default_factory=list)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.packets.append((asyncio.get_running_loop().time(), (addr[0], addr[1]), data))


def reply(request: SipRequest, code: int, reason: str, tag: str | None = None) -> SipResponse:
    response = SipResponse(status_code=code, reason_phrase=reason)
    for via in request.headers.get("via"):
        response.headers.append("Via", via)
    for name in ("From", "Call-ID", "CSeq"):
        response.headers.set_single(name, request.headers.get_first(name) or "")
    to = request.headers.get_first("to") or ""
    if tag and ";tag=" not in to:
        to += f";tag={tag}"
    response.headers.set_single("To", to)
    return response


@dataclass
class Behaviour:
    answer: bool = True
    silent: bool = False  # never answer anything (a dead server)
    drop_invites: int = 0
    drop_byes: int = 0
    challenge_invite: bool = False
    extra_200s: int = 0  # retransmit the 200 OK this many more times
    ringing_after_answer: bool = False  # the 180 after the 200 or reject (a proxy swapped them)
    reinvite: bool = False
    hang_up_after_s: float | None = None  # BYE from the far end
    rtp: bytes | None = None  # µ-law to stream after ACK
    rtp_from_elsewhere: bool = False
    rtp_lost: range = range(0)  # packets of ``rtp`` never sent (their 20 ms still pass)
    refer_result: str = "200 OK"
    reject: tuple[int, str] | None = None
    register_expires: int = 300
    reject_register: bool = False
    codec: int = 0  # the one payload type the far end answers with (0 PCMU, 8 PCMA)
    early_media: bool = False  # 183 Session Progress with SDP before ringing
    ring_s: float = 0.0  # ring this long before the 200 OK
    reinvite_after_s: float = 0.1
    reinvite_to_new_port: bool = False  # the re-INVITE moves the far end's RTP
    reinvite_direction: str = "sendrecv"


@dataclass
class ScriptedUas(asyncio.DatagramProtocol):
    behaviour: Behaviour = field(default_factory=Behaviour)
    received: list[SipMessage] = field(default_factory=list)
    responses_to_us: list[SipResponse] = field(default_factory=list)
    port: int = 0
    tag: str = field(default_factory=lambda: secrets.token_hex(4))
    transport: asyncio.DatagramTransport | None = None
    rtp_transport: asyncio.DatagramTransport | None = None
    rtp_port: int = 0
    rtp_recorder: RtpRecorder = field(default_factory=RtpRecorder)
    moved_rtp: asyncio.DatagramTransport | None = None
    moved_rtp_port: int = 0
    moved_recorder: RtpRecorder = field(default_factory=RtpRecorder)
    other_rtp: asyncio.DatagramTransport | None = None
    dialer: tuple[str, int] | None = None
    dialer_rtp: tuple[str, int] | None = None
    invite: SipRequest | None = None
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    on_request: Callable[[SipRequest], None] | None = None
    cseq: int = 100
    acked: bool = False
    answered_at: float | None = None  # loop time the 200 OK went out
    server: asyncio.Server | None = None
    writer: asyncio.StreamWriter | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> ScriptedUas:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=("127.0.0.1", 0)
        )
        self.port = self.transport.get_extra_info("sockname")[1]
        self.rtp_transport, _ = await loop.create_datagram_endpoint(
            lambda: self.rtp_recorder, local_addr=("127.0.0.1", 0)
        )
        self.rtp_port = self.rtp_transport.get_extra_info("sockname")[1]
        self.moved_rtp, _ = await loop.create_datagram_endpoint(
            lambda: self.moved_recorder, local_addr=("127.0.0.1", 0)
        )
        self.moved_rtp_port = self.moved_rtp.get_extra_info("sockname")[1]
        self.other_rtp, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
        )
        return self

    async def start_tls(self, context: ssl.SSLContext) -> ScriptedUas:
        """Listen for SIP over TLS instead of UDP (one connection: the dialer's)."""
        return await self.start_tcp(context)

    async def start_tcp(self, context: ssl.SSLContext | None = None) -> ScriptedUas:
        """Listen for SIP over TCP (TLS with ``context``) instead of UDP (one
        connection: the dialer's); started or not yet."""
        if self.rtp_transport is None:
            await self.start()
        if self.transport is not None:
            self.transport.close()  # keep the RTP sockets, drop the UDP SIP socket
            self.transport = None
        self.server = await asyncio.start_server(self._serve_tls, "127.0.0.1", 0, ssl=context)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _serve_tls(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        peer = writer.get_extra_info("peername")
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                self.datagram_received(head + body, peer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        if self.writer is not None:
            self.writer.close()
        for task in self.tasks:
            task.cancel()
        for transport in (self.transport, self.rtp_transport, self.other_rtp, self.moved_rtp):
            if transport is not None:
                transport.close()

    def count(self, method: str) -> int:
        return sum(
            1 for m in self.received if isinstance(m, SipRequest) and m.method == method.upper()
        )

    def requests(self, method: str) -> list[SipRequest]:
        return [m for m in self.received if isinstance(m, SipRequest) and m.method == method]

    def send(self, message: SipMessage | bytes) -> None:
        data = message if isinstance(message, bytes) else bytes(message)
        if self.writer is not None:
            self.writer.write(data)
            return
        assert self.transport is not None and self.dialer is not None
        self.transport.sendto(data, self.dialer)

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # ------------------------------------------------------------ receiving

    def datagram_received(self, data: bytes, addr: Any) -> None:
        message = SipMessage.parse(data)
        self.received.append(message)
        if self.behaviour.silent:
            return
        if isinstance(message, SipResponse):
            self.responses_to_us.append(message)
            if message.status_code == 200 and (message.cseq and message.cseq.method == "INVITE"):
                ack = self.in_dialog("ACK")
                ack.headers.set_single("CSeq", f"{message.cseq.seq} ACK")
                self.send(ack)  # our re-INVITE was answered
            return
        self.dialer = (addr[0], addr[1])
        if self.on_request is not None:
            self.on_request(message)
        handler = getattr(self, f"_on_{message.method.lower()}", None)
        if handler is not None:
            handler(message)

    def _on_options(self, request: SipRequest) -> None:
        self.send(reply(request, 200, "OK", self.tag))

    def _on_register(self, request: SipRequest) -> None:
        if self.behaviour.reject_register:
            self.send(reply(request, 403, "Forbidden", self.tag))
            return
        ok = reply(request, 200, "OK", self.tag)
        ok.headers.set_single("Expires", str(self.behaviour.register_expires))
        self.send(ok)

    def _on_invite(self, request: SipRequest) -> None:
        b = self.behaviour
        if self.count("INVITE") <= b.drop_invites:
            return
        if b.challenge_invite and "authorization" not in request.headers:
            challenge = reply(request, 401, "Unauthorized", self.tag)
            challenge.headers.set_single(
                "WWW-Authenticate", 'Digest realm="far", nonce="abc123", algorithm=MD5, qop="auth"'
            )
            self.send(challenge)
            return
        self.invite = request
        sdp = request.text
        for line in sdp.splitlines():
            if line.startswith("m=audio"):
                self.dialer_rtp = ("127.0.0.1", int(line.split()[1]))
        self.send(reply(request, 100, "Trying"))
        if b.reject:
            self.send(reply(request, b.reject[0], b.reject[1], self.tag))
            if b.ringing_after_answer:
                self.send(reply(request, 180, "Ringing", self.tag))
            return
        if b.early_media:
            progress = reply(request, 183, "Session Progress", self.tag)
            progress.headers.set_single("Contact", f"<sip:far@127.0.0.1:{self.port}>")
            progress.headers.set_single("Content-Type", "application/sdp")
            progress.text = self._sdp()
            self.send(progress)
        ringing = reply(request, 180, "Ringing", self.tag)
        ringing.headers.set_single("Contact", f"<sip:far@127.0.0.1:{self.port}>")
        if b.ringing_after_answer:
            self._answer(request)
            self.send(ringing)
            return
        self.send(ringing)
        if not b.answer:
            return
        if b.ring_s:
            self.spawn(self._answer_later(request, b.ring_s))
            return
        self._answer(request)

    async def _answer_later(self, request: SipRequest, delay: float) -> None:
        await asyncio.sleep(delay)
        self._answer(request)

    def _answer(self, request: SipRequest) -> None:
        b = self.behaviour
        self.answered_at = asyncio.get_running_loop().time()
        ok = reply(request, 200, "OK", self.tag)
        ok.headers.set_single("Contact", f"<sip:far@127.0.0.1:{self.port}>")
        ok.headers.set_single("Content-Type", "application/sdp")
        ok.text = self._sdp()
        for _ in range(1 + b.extra_200s):
            self.send(ok)

    def _sdp(self, port: int | None = None, direction: str = "sendrecv") -> str:
        pt = self.behaviour.codec
        name = "PCMU" if pt == 0 else "PCMA"
        return (
            "v=0\r\no=far 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port or self.rtp_port} RTP/AVP {pt}\r\na=rtpmap:{pt} {name}/8000\r\n"
            f"a={direction}\r\n"
        )

    def _on_ack(self, request: SipRequest) -> None:
        answered = self.invite is not None and self.invite.cseq and request.cseq
        if not answered or self.invite.cseq.seq != request.cseq.seq or self.acked:  # type: ignore[union-attr]
            return  # the ACK of a 401/486, or a repeated ACK
        self.acked = True
        b = self.behaviour
        if b.rtp is not None:
            self.spawn(self._stream(b.rtp))
        if b.reinvite:
            self.spawn(self._reinvite())
        if b.hang_up_after_s is not None:
            self.spawn(self._hang_up(b.hang_up_after_s))

    async def _stream(self, payload: bytes) -> None:
        assert self.dialer_rtp is not None
        sender = self.other_rtp if self.behaviour.rtp_from_elsewhere else self.rtp_transport
        assert sender is not None
        for index, packet in enumerate(rtp_packets(payload)):
            if index not in self.behaviour.rtp_lost:
                sender.sendto(packet, self.dialer_rtp)
            await asyncio.sleep(0.02)

    def in_dialog(self, method: str, *, to_tag: str | None = None) -> SipRequest:
        """A request from the far end inside the dialog the INVITE created."""
        assert self.invite is not None
        if method != "ACK":
            self.cseq += 1
        from_header = self.invite.headers.get_first("from") or ""
        request = SipRequest(
            method=method, uri=f"sip:dialer@{self.dialer[0] if self.dialer else ''}"
        )
        request.headers.append(
            "Via", f"SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{secrets.token_hex(6)}"
        )
        to = from_header if to_tag is None else from_header.split(";tag=")[0] + f";tag={to_tag}"
        request.headers.set_single("From", f"<sip:far@127.0.0.1>;tag={self.tag}")
        request.headers.set_single("To", to)
        request.headers.set_single("Call-ID", self.invite.call_id or "")
        request.headers.set_single("CSeq", f"{self.cseq} {method}")
        request.headers.set_single("Max-Forwards", "70")
        return request

    async def _reinvite(self) -> None:
        b = self.behaviour
        await asyncio.sleep(b.reinvite_after_s)
        reinvite = self.in_dialog("INVITE")
        reinvite.headers.set_single("Content-Type", "application/sdp")
        reinvite.headers.set_single("Contact", f"<sip:far@127.0.0.1:{self.port}>")
        port = self.moved_rtp_port if b.reinvite_to_new_port else None
        reinvite.text = self._sdp(port, b.reinvite_direction)
        self.send(reinvite)

    async def _hang_up(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self.send(self.in_dialog("BYE"))

    def _on_bye(self, request: SipRequest) -> None:
        if self.count("BYE") <= self.behaviour.drop_byes:
            return
        self.send(reply(request, 200, "OK"))

    def _on_cancel(self, request: SipRequest) -> None:
        self.send(reply(request, 200, "OK", self.tag))
        if self.invite is not None:
            self.send(reply(self.invite, 487, "Request Terminated", self.tag))

    def _on_refer(self, request: SipRequest) -> None:
        self.send(reply(request, 202, "Accepted"))
        for state, frag in (("active", "100 Trying"), ("terminated", self.behaviour.refer_result)):
            notify = self.in_dialog("NOTIFY")
            notify.headers.set_single("Event", "refer")
            notify.headers.set_single("Subscription-State", state)
            notify.headers.set_single("Content-Type", "message/sipfrag;version=2.0")
            notify.text = f"SIP/2.0 {frag}\r\n"
            self.send(notify)


@pytest.fixture
async def far_end() -> AsyncIterator[Callable[..., Awaitable[ScriptedUas]]]:
    """``await far_end(**behaviour)``: a started :class:`ScriptedUas`, closed after the test
    (conftest makes it every test's fixture; a module may define its own)."""
    made: list[ScriptedUas] = []

    async def make(**behaviour: Any) -> ScriptedUas:
        uas = await ScriptedUas(Behaviour(**behaviour)).start()
        made.append(uas)
        return uas

    yield make
    for uas in made:
        uas.close()
