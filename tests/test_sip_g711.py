"""G.711 tables against a plain transcription of the ITU/Sun reference (g711.c), and
the RTP receive path (header forms, source filtering, batching) on a real socket."""

from __future__ import annotations

import socket

import numpy as np
from sip_helpers import eventually

from opendialer.plugins.platform_sip import g711
from opendialer.plugins.platform_sip.rtp import MAX_RTP_DATAGRAM, RtpEndpoint, RtpPortAllocator

SEG_END = [0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF, 0x3FFF, 0x7FFF]


def ref_ulaw2linear(u: int) -> int:
    u = ~u & 0xFF
    t = ((u & 0x0F) << 3) + 0x84
    t <<= (u & 0x70) >> 4
    return (0x84 - t) if u & 0x80 else (t - 0x84)


def ref_alaw2linear(a: int) -> int:
    a ^= 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


def ref_linear2ulaw(pcm: int) -> int:
    pcm >>= 2
    if pcm < 0:
        pcm, mask = -pcm, 0x7F
    else:
        mask = 0xFF
    pcm = min(pcm, 8159) + 33
    seg = next(
        (
            i
            for i, end in enumerate([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
            if pcm <= end
        ),
        8,
    )
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((pcm >> (seg + 1)) & 0x0F)) ^ mask


def ref_linear2alaw(pcm: int) -> int:
    pcm >>= 3
    if pcm >= 0:
        mask = 0xD5
    else:
        mask, pcm = 0x55, -pcm - 1
    seg = next(
        (
            i
            for i, end in enumerate([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
            if pcm <= end
        ),
        8,
    )
    if seg >= 8:
        return 0x7F ^ mask
    aval = seg << 4
    aval |= ((pcm >> 1) if seg < 2 else (pcm >> seg)) & 0x0F
    return aval ^ mask


def test_decode_tables_match_the_reference() -> None:
    codes = bytes(range(256))
    assert g711.decode(codes, g711.PCMU).tolist() == [ref_ulaw2linear(c) for c in codes]
    assert g711.decode(codes, g711.PCMA).tolist() == [ref_alaw2linear(c) for c in codes]


def test_encode_tables_match_the_reference_for_every_sample() -> None:
    pcm = np.arange(-32768, 32768, dtype=np.int16)
    ulaw = g711.encode(pcm, g711.PCMU)
    alaw = g711.encode(pcm, g711.PCMA)
    assert list(ulaw) == [ref_linear2ulaw(int(x)) for x in pcm]
    assert list(alaw) == [ref_linear2alaw(int(x)) for x in pcm]


def test_round_trip_is_stable() -> None:
    for pt in (g711.PCMU, g711.PCMA):
        decoded = g711.decode(bytes(range(256)), pt)
        again = g711.decode(g711.encode(decoded, pt), pt)
        assert np.array_equal(decoded, again)


def packet(
    payload: bytes, *, pt: int = 0, csrc: int = 0, ext_words: int = 0, pad: int = 0
) -> bytes:
    first = 0x80 | csrc | (0x10 if ext_words else 0) | (0x20 if pad else 0)
    header = bytes([first, pt]) + b"\x00\x01" + b"\x00" * 4 + b"\x00\x00\x12\x34"
    header += b"\x00" * 4 * csrc
    if ext_words:
        header += b"\xbe\xde" + ext_words.to_bytes(2, "big") + b"\x00" * 4 * ext_words
    tail = (b"\x00" * (pad - 1) + bytes([pad])) if pad else b""
    return header + payload + tail


async def test_rtp_endpoint_decodes_only_announced_g711_in_batches() -> None:
    allocator = RtpPortAllocator(41000, 41100)
    endpoint = await RtpEndpoint.open(allocator, "127.0.0.1", batch_ms=40)
    assert endpoint is not None and allocator.free == allocator.size - 1
    batches: list[np.ndarray] = []
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as far,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger,
    ):
        far.bind(("127.0.0.1", 0))
        stranger.bind(("127.0.0.1", 0))
        endpoint.expect(far.getsockname(), g711.PCMA)
        endpoint.start(batches.append)
        tone = g711.encode(np.full(160, 1000, dtype=np.int16), g711.PCMA)
        target = ("127.0.0.1", endpoint.port)
        far.sendto(packet(tone, pt=8), target)
        far.sendto(packet(tone, pt=8, csrc=2, ext_words=1, pad=4), target)
        far.sendto(packet(tone, pt=101), target)  # telephone-event: ignored
        far.sendto(b"\x80\x08", target)  # too short
        stranger.sendto(packet(tone, pt=8), target)  # not the SDP's address
        await eventually(lambda: endpoint.ignored == 3, within=5)
        assert len(batches) == 1 and len(batches[0]) == 320
        assert set(batches[0].tolist()) == {int(g711.decode(tone[:1], g711.PCMA)[0])}
        endpoint.stop_decoding()
        far.sendto(packet(tone, pt=8), target)
        far.sendto(packet(tone, pt=8), target)
        await eventually(lambda: endpoint.dropped == 2, within=5)  # both arrived …
        assert len(batches) == 1 and endpoint.packets == 2  # … and neither was decoded
    endpoint.close()
    endpoint.close()  # idempotent
    assert allocator.free == allocator.size


async def test_rtp_endpoint_ignores_datagrams_longer_than_any_rtp_we_negotiate() -> None:
    # The socket is read with a small buffer (not asyncio's 256 KiB: heap fragmentation
    # at 15,000 packets a second), so a longer datagram arrives cut short: it is ignored,
    # never decoded as audio.
    allocator = RtpPortAllocator(41200, 41300)
    endpoint = await RtpEndpoint.open(allocator, "127.0.0.1", batch_ms=20)
    assert endpoint is not None
    batches: list[np.ndarray] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as far:
        far.bind(("127.0.0.1", 0))
        endpoint.expect(far.getsockname(), g711.PCMU)
        endpoint.start(batches.append)
        target = ("127.0.0.1", endpoint.port)
        far.sendto(packet(b"\x7f" * (MAX_RTP_DATAGRAM + 500)), target)  # cut to the buffer
        far.sendto(packet(b"\x7f" * (MAX_RTP_DATAGRAM - 12)), target)  # the largest accepted
        await eventually(lambda: endpoint.ignored + endpoint.packets == 2, within=5)
        assert endpoint.ignored == 1 and endpoint.packets == 1
        assert [len(batch) for batch in batches] == [MAX_RTP_DATAGRAM - 12]
    endpoint.close()
