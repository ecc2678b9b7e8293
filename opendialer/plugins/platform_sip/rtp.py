"""RTP for a call: answer audio in, silence out, on one asyncio datagram endpoint per call.

Per packet the only Python work is a header check, the sequence number (gaps
are counted as ``lost``: the call's AMD gives up on audio with seconds missing)
and a ``bytearray`` append;
G.711 is decoded with a numpy lookup table once per batch (200 ms by default)
and the PCM handed to the call's sink (the AMD session). Once AMD has decided
the call stops decoding: later packets are dropped at the first check, which
is what makes a thousand answered calls affordable in one process.

Packets are accepted only from the address the far end's SDP announced
(RTP from anywhere else is counted and ignored), only with version 2 and the
negotiated payload type (telephone-event, comfort noise … are ignored), and
only up to ``MAX_RTP_DATAGRAM`` bytes: the socket is read with a small buffer,
not asyncio's 256 KiB one (``RTP_RECEIVE_BYTES``).

Outbound, the call sends 20 ms G.711 silence frames to the far end's SDP
address from the same socket (symmetric RTP): SBCs and PBXs that latch on the
first packet, or drop calls that send no media, need it. A message (the
safe-harbour announcement of an abandoned call) takes the silence's place in
the same stream — same SSRC, sequence and timestamps carrying on — and is
paced by the same clock. One
:class:`RtpTicker` per platform paces every call's stream with a single
``loop.call_at`` timer — no task or timer per call: per tick the work is one
header ``struct.pack`` and one ``sendto`` per stream.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import struct
from collections import deque
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from opendialer.plugins.platform_sip import g711

log = logging.getLogger(__name__)

AudioSink = Callable[[npt.NDArray[np.int16]], None]

FRAME_S = 0.020  # one packet per 20 ms (the a=ptime:20 of our offer)
SAMPLES_PER_FRAME = 160  # 20 ms at 8 kHz: the RTP timestamp step
RTP_HEADER = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence, timestamp, SSRC
#: The largest RTP datagram accepted. A G.711 packet is 172 bytes at 20 ms and
#: 492 at 60 ms; anything over an Ethernet MTU is not media we negotiated.
MAX_RTP_DATAGRAM = 2048
#: What the socket is read with: one byte more than the largest accepted datagram,
#: so a longer one (cut to this size by the kernel) shows as too long and is ignored.
#: asyncio's datagram transport otherwise reads every datagram into a fresh 256 KiB
#: bytes object (``max_size``) and shrinks it, 15,000 times a second at 300 calls:
#: churn that fragmented the C heap, or with the mmap threshold pinned
#: (``core/memory.py``) 15,000 mmap/munmap pairs (docs/performance.md, "Soak").
RTP_RECEIVE_BYTES = MAX_RTP_DATAGRAM + 1
#: One frame of silence per codec, encoded with the project's G.711 tables
#: (µ-law 0xFF, A-law 0xD5).
SILENCE = {
    pt: g711.encode(np.zeros(SAMPLES_PER_FRAME, dtype=np.int16), pt)
    for pt in (g711.PCMU, g711.PCMA)
}


class RtpTicker:
    """The one 20 ms clock for every call's outbound RTP.

    Ticks at absolute deadlines (``start + k · 20 ms``), so a late tick is
    followed at once by the next one and the rate holds. When the loop falls
    more than ``max_lag_frames`` behind (a stall), the ticker skips ahead
    instead of bursting: the streams' timestamps jump by the skipped frames,
    their sequence numbers stay contiguous, as RFC 3550 wants. The timer runs
    only while some stream is sending.
    """

    def __init__(self, frame_s: float = FRAME_S, max_lag_frames: int = 50) -> None:
        self.frame_s = frame_s
        self.max_lag_frames = max_lag_frames
        self.frame = 0  # frames since the ticker was created: the streams' clock
        self.skipped_frames = 0
        self._streams: dict[RtpEndpoint, None] = {}  # an ordered set
        self._handle: asyncio.TimerHandle | None = None
        self._next = 0.0

    @property
    def streams(self) -> int:
        return len(self._streams)

    @property
    def running(self) -> bool:
        return self._handle is not None

    def add(self, endpoint: RtpEndpoint) -> None:
        self._streams[endpoint] = None
        if self._handle is None:
            loop = asyncio.get_running_loop()
            self._next = loop.time() + self.frame_s
            self._handle = loop.call_at(self._next, self._tick, loop)

    def discard(self, endpoint: RtpEndpoint) -> None:
        self._streams.pop(endpoint, None)
        if not self._streams and self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self.frame += 1
        behind = int((loop.time() - self._next) / self.frame_s)
        if behind > self.max_lag_frames:
            self.frame += behind
            self.skipped_frames += behind
            self._next += behind * self.frame_s
        frame = self.frame
        for endpoint in tuple(self._streams):
            endpoint.send_frame(frame)
        self._next += self.frame_s
        if not self._streams:  # the last stream left during this tick (its message ended)
            self._handle = None
            return
        self._handle = loop.call_at(self._next, self._tick, loop)


class RtpPortAllocator:
    """Even ports of ``[port_min, port_max]`` (RTP on even, RTCP would take the odd one)."""

    def __init__(self, port_min: int, port_max: int) -> None:
        first = port_min + (port_min % 2)
        self.port_min, self.port_max = port_min, port_max
        self._free: deque[int] = deque(range(first, port_max + 1, 2))
        self.size = len(self._free)

    def take(self) -> int | None:
        return self._free.popleft() if self._free else None

    def release(self, port: int) -> None:
        self._free.append(port)

    @property
    def free(self) -> int:
        return len(self._free)


class RtpEndpoint(asyncio.DatagramProtocol):
    """One call's RTP socket. ``expect()`` sets the far end; ``start()`` begins decoding;
    ``start_sending()`` joins the ticker (silence to the far end until ``stop_sending()``);
    ``play()`` sends a message in the silence's place."""

    def __init__(
        self,
        allocator: RtpPortAllocator,
        port: int,
        batch_ms: int,
        ticker: RtpTicker | None = None,
    ) -> None:
        self.allocator = allocator
        self.port = port
        self.batch_bytes = 8 * batch_ms  # G.711: 8 bytes per ms
        self.remote: tuple[str, int] | None = None
        self.payload_type = g711.PCMU
        self.remote_receives = True  # the far end's SDP direction lets us send
        self.ticker = ticker
        self.ssrc = secrets.randbits(32)
        self.sent = 0  # RTP packets sent
        self._seq0 = secrets.randbits(16)
        self._ts0 = secrets.randbits(32)
        self._first_frame: int | None = None
        self._send_wanted = False
        self._message: dict[int, bytes] = {}  # the playing message per payload type
        self._message_frames = 0  # its packets sent so far
        self._message_done: asyncio.Future[int] | None = None
        self.packets = 0
        self.ignored = 0  # wrong source, wrong version or payload type, too short
        self.dropped = 0  # arrived while nothing decodes (before start, after stop_decoding)
        #: packets missing from the decoded stream, from its sequence numbers: lost on the
        #: way, or dropped by the kernel when this socket's buffer was full (a node behind)
        self.lost = 0
        self._next_seq = -1  # of the stream being decoded (-1: none yet)
        self._stream_ssrc = b""
        self._buffer = bytearray()
        self._sink: AudioSink | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self.closed = False

    @classmethod
    async def open(
        cls,
        allocator: RtpPortAllocator,
        host: str,
        batch_ms: int = 200,
        ticker: RtpTicker | None = None,
    ) -> RtpEndpoint | None:
        """Bind the next free port of the range (skipping ports someone else holds)."""
        loop = asyncio.get_running_loop()
        busy: list[int] = []
        try:
            for _ in range(allocator.free):
                port = allocator.take()
                if port is None:
                    return None
                endpoint = cls(allocator, port, batch_ms, ticker)
                try:
                    await loop.create_datagram_endpoint(endpoint._itself, local_addr=(host, port))
                except OSError as exc:
                    # asyncio keeps this error in a list its own frame holds (a cycle);
                    # its traceback reaches this frame, whose ``endpoint`` is soon the
                    # one that binds: cut it, or that endpoint outlives its call until
                    # the cycle collector runs (seen when another process held a port).
                    exc.__traceback__ = None
                    busy.append(port)
                    continue
                return endpoint
            return None
        finally:
            for port in busy:
                allocator.release(port)

    def _itself(self) -> RtpEndpoint:
        return self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)
        # The selector and proactor transports read ``self.max_size`` bytes per
        # datagram (a class attribute, 256 KiB): a small per-instance value makes
        # each packet a small allocation (see RTP_RECEIVE_BYTES). Other loops keep theirs.
        if hasattr(transport, "max_size"):
            transport.max_size = RTP_RECEIVE_BYTES  # type: ignore[attr-defined]

    def expect(
        self, remote: tuple[str, int], payload_type: int, remote_receives: bool = True
    ) -> None:
        """The far end's media from its SDP (answer, early media or re-INVITE): received
        packets are checked against it and sent ones go to it from the next frame on."""
        self.remote = remote
        self.payload_type = payload_type
        self.remote_receives = remote_receives
        self._update_sending()

    # ------------------------------------------------------------ sending

    def start_sending(self) -> None:
        """Send silence to the far end every 20 ms while its SDP lets us (idempotent)."""
        self._send_wanted = True
        self._update_sending()

    def stop_sending(self) -> None:
        """Nothing more is sent: no silence, and a message playing stops where it is."""
        self._send_wanted = False
        self._end_message()

    @property
    def sending(self) -> bool:
        wanted = self._send_wanted or self._message_done is not None
        return wanted and self.remote_receives and not self.closed

    def play(self, ulaw: bytes) -> asyncio.Future[int]:
        """Send ``ulaw`` (8 kHz G.711 µ-law) to the far end in 20 ms packets, in the
        silence's place: the stream's SSRC, sequence numbers and timestamps carry on, the
        first packet has the marker bit (a talkspurt starts, RFC 3551 §4.1), the codec is
        the negotiated one (transcoded to A-law for PCMA), the last frame is padded with
        silence. Sent even when silence is not (``rtp_send="off"``). Paced by the ticker.

        The future gives how many of the message's packets were sent: when the last one
        was, when ``stop_sending()`` or ``close()`` cut it short, or at once when nothing
        can be sent (no far-end address yet, no ticker, closed). While the far end holds
        the call (``sendonly``/``inactive``) the message waits: the caller bounds it."""
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._end_message()
        if not ulaw or self.closed or self.remote is None or self.ticker is None:
            done.set_result(0)
            return done
        padding = -len(ulaw) % SAMPLES_PER_FRAME
        self._message = {g711.PCMU: ulaw + SILENCE[g711.PCMU][:padding]}
        self._message_frames = 0
        self._message_done = done
        self._message_payload(self.payload_type)  # transcode now, not in the tick
        self._update_sending()
        return done

    def _message_payload(self, payload_type: int) -> bytes:
        """The message in ``payload_type`` (a re-INVITE may change the codec mid-message)."""
        payload = self._message.get(payload_type)
        if payload is None:
            ulaw = self._message[g711.PCMU]
            payload = self._message[payload_type] = g711.transcode(ulaw, g711.PCMU, payload_type)
        return payload

    def _end_message(self) -> None:
        done, self._message_done = self._message_done, None
        self._message = {}
        if done is not None and not done.done():
            done.set_result(self._message_frames)
        self._update_sending()

    def _update_sending(self) -> None:
        if self.ticker is None:
            return
        if self.sending and self.remote is not None:
            self.ticker.add(self)
        else:
            self.ticker.discard(self)

    def send_frame(self, frame: int) -> None:
        """One 20 ms silence packet; ``frame`` is the ticker's clock (timestamp = 160/frame)."""
        transport, remote = self._transport, self.remote
        if transport is None or remote is None:
            return
        marker = 0
        if self._first_frame is None:
            self._first_frame = frame
            marker = 0x80  # first packet of the stream (RFC 3551 §4.1)
        payload_type = self.payload_type
        payload = SILENCE[payload_type]
        message_ends = False
        if self._message_done is not None:
            message = self._message_payload(payload_type)
            start = SAMPLES_PER_FRAME * self._message_frames
            payload = message[start : start + SAMPLES_PER_FRAME]
            marker |= 0x80 if start == 0 else 0  # the message starts a talkspurt
            self._message_frames += 1
            message_ends = start + SAMPLES_PER_FRAME >= len(message)
        header = RTP_HEADER.pack(
            0x80,
            marker | payload_type,
            (self._seq0 + self.sent) & 0xFFFF,
            (self._ts0 + SAMPLES_PER_FRAME * (frame - self._first_frame)) & 0xFFFFFFFF,
            self.ssrc,
        )
        transport.sendto(header + payload, remote)
        self.sent += 1
        if message_ends:
            self._end_message()

    def start(self, sink: AudioSink) -> None:
        self._sink = sink

    def stop_decoding(self) -> None:
        self._sink = None
        self._buffer.clear()
        self._next_seq = -1  # what arrives meanwhile is not decoded, not lost

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self._sink is None:
            self.dropped += 1
            return
        if (addr[0], addr[1]) != self.remote or not 12 <= len(data) <= MAX_RTP_DATAGRAM:
            self.ignored += 1
            return
        first = data[0]
        if first >> 6 != 2 or data[1] & 0x7F != self.payload_type:
            self.ignored += 1
            return
        start = 12 + 4 * (first & 0x0F)
        if first & 0x10:  # header extension
            if len(data) < start + 4:
                self.ignored += 1
                return
            start += 4 + 4 * int.from_bytes(data[start + 2 : start + 4], "big")
        end = len(data) - (data[-1] if first & 0x20 else 0)  # padding
        if end <= start:
            self.ignored += 1
            return
        # a gap in the sequence numbers is lost audio; a late or repeated packet (a step
        # back) and a new SSRC (the far end switched streams) are not
        seq = data[2] << 8 | data[3]
        if seq != self._next_seq:
            ssrc = data[8:12]
            if ssrc != self._stream_ssrc or self._next_seq < 0:
                self._stream_ssrc = ssrc
            elif (gap := (seq - self._next_seq) & 0xFFFF) < 0x8000:
                self.lost += gap
            else:
                seq = self._next_seq - 1
        self._next_seq = (seq + 1) & 0xFFFF
        self.packets += 1
        self._buffer += data[start:end]
        if len(self._buffer) >= self.batch_bytes:
            self.flush()

    def flush(self) -> None:
        """Decode what is buffered and hand it to the sink."""
        sink = self._sink
        if sink is None or not self._buffer:
            return
        pcm = g711.decode(bytes(self._buffer), self.payload_type)
        self._buffer.clear()
        sink(pcm)

    def error_received(self, exc: Exception) -> None:
        log.debug("rtp.error port=%d %s", self.port, exc)

    def close(self) -> None:
        """Close the socket and give the port back (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self._sink = None
        self._send_wanted = False
        self._end_message()
        if self.ticker is not None:
            self.ticker.discard(self)
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        self.allocator.release(self.port)
