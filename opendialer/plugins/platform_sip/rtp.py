"""RTP receive for answer audio: one asyncio datagram endpoint per call.

Per packet the only Python work is a header check and a ``bytearray`` append;
G.711 is decoded with a numpy lookup table once per batch (200 ms by default)
and the PCM handed to the call's sink (the AMD session). Once AMD has decided
the call stops decoding: later packets are dropped at the first check, which
is what makes a thousand answered calls affordable in one process.

Packets are accepted only from the address the far end's SDP announced
(RTP from anywhere else is counted and ignored), only with version 2 and the
negotiated payload type (telephone-event, comfort noise … are ignored).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from opendialer.plugins.platform_sip import g711

log = logging.getLogger(__name__)

AudioSink = Callable[[npt.NDArray[np.int16]], None]


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
    """One call's RTP socket. ``expect()`` sets the far end; ``start()`` begins decoding."""

    def __init__(self, allocator: RtpPortAllocator, port: int, batch_ms: int) -> None:
        self.allocator = allocator
        self.port = port
        self.batch_bytes = 8 * batch_ms  # G.711: 8 bytes per ms
        self.remote: tuple[str, int] | None = None
        self.payload_type = g711.PCMU
        self.packets = 0
        self.ignored = 0  # wrong source, wrong version or payload type, too short
        self._buffer = bytearray()
        self._sink: AudioSink | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self.closed = False

    @classmethod
    async def open(
        cls, allocator: RtpPortAllocator, host: str, batch_ms: int = 200
    ) -> RtpEndpoint | None:
        """Bind the next free port of the range (skipping ports someone else holds)."""
        loop = asyncio.get_running_loop()
        busy: list[int] = []
        try:
            for _ in range(allocator.free):
                port = allocator.take()
                if port is None:
                    return None
                endpoint = cls(allocator, port, batch_ms)
                try:
                    await loop.create_datagram_endpoint(endpoint._itself, local_addr=(host, port))
                except OSError:
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

    def expect(self, remote: tuple[str, int], payload_type: int) -> None:
        self.remote = remote
        self.payload_type = payload_type

    def start(self, sink: AudioSink) -> None:
        self._sink = sink

    def stop_decoding(self) -> None:
        self._sink = None
        self._buffer.clear()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self._sink is None:
            return
        if (addr[0], addr[1]) != self.remote or len(data) < 12:
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
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        self.allocator.release(self.port)
