"""Outbound RTP: the dialer sends 20 ms G.711 silence to the far end's SDP address.

A scripted far end records every datagram reaching its media ports; the tests
check what an SBC that latches on symmetric RTP would see: packets at the
announced address, from the socket the dialer's SDP offered, the negotiated
payload type, sequence +1 and timestamp +160 per packet, one SSRC, the marker
bit on the first packet only, silence of the right codec as payload — and
nothing once the call is over (BYE, CANCEL, transfer, hold).
"""

from __future__ import annotations

import asyncio
import itertools
import socket

import numpy as np
import pytest
from sip_helpers import EnergyAmd, call_request, eventually, running_platform, sip_config
from sip_scripted_far_end import AUDIO, RtpRecorder, ScriptedUas

from opendialer.plugins.platform_sip import g711
from opendialer.plugins.platform_sip.rtp import RtpEndpoint, RtpPortAllocator, RtpTicker
from opendialer.sdk.contracts import CallDisposition

pytestmark = pytest.mark.timeout(120)

FAST = {"t1_s": 0.1, "t4_s": 0.5, "transfer_timeout_s": 5.0}
HUMAN = (AUDIO / "human_hello.ulaw").read_bytes()[: 8000 * 3]


def header(packet: bytes) -> tuple[int, int, int, int, int, int]:
    """(version, marker, payload type, sequence, timestamp, SSRC)."""
    return (
        packet[0] >> 6,
        packet[1] >> 7,
        packet[1] & 0x7F,
        int.from_bytes(packet[2:4], "big"),
        int.from_bytes(packet[4:8], "big"),
        int.from_bytes(packet[8:12], "big"),
    )


def offered_rtp_port(uas: ScriptedUas) -> int:
    assert uas.dialer_rtp is not None
    return uas.dialer_rtp[1]


def assert_silence_stream(packets: list[bytes], payload_type: int) -> None:
    """One well-formed stream of 20 ms silence frames of ``payload_type``."""
    assert len(packets) >= 5, f"only {len(packets)} RTP packets"
    fields = [header(p) for p in packets]
    assert {f[0] for f in fields} == {2}
    assert [f[1] for f in fields] == [1] + [0] * (len(fields) - 1)  # marker: first only
    assert {f[2] for f in fields} == {payload_type}
    assert len({f[5] for f in fields}) == 1  # one SSRC
    for before, after in itertools.pairwise(fields):
        assert after[3] == (before[3] + 1) & 0xFFFF, (before, after)
        assert after[4] == (before[4] + 160) & 0xFFFFFFFF, (before, after)
    silence = g711.encode(np.zeros(160, dtype=np.int16), payload_type)
    assert {p[12:] for p in packets} == {silence}
    assert silence == (b"\xff" * 160 if payload_type == g711.PCMU else b"\xd5" * 160)


def bound_to(port: int) -> socket.socket | None:
    """A UDP socket on ``port``, or None while someone else holds the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        return None
    return sock


async def assert_nothing_more_arrives(uas: ScriptedUas, *, moved: bool = False) -> None:
    """The dialer's media socket closes (its port binds again: asyncio closes a transport
    on the next loop turn), so nothing more can come from it; a marker sent from that port
    then arrives after anything the dialer had sent, and comes next. ``moved``: the far
    end's media port after a re-INVITE moved it."""
    recorder = uas.moved_recorder if moved else uas.rtp_recorder
    count = len(recorder.packets)
    port = offered_rtp_port(uas)
    with await eventually(
        lambda: bound_to(port), what=f"the dialer's RTP port {port} free"
    ) as marker:
        marker.sendto(b"marker", ("127.0.0.1", uas.moved_rtp_port if moved else uas.rtp_port))
    await eventually(lambda: len(recorder.packets) > count, what="the marker")
    assert [p for _, _, p in recorder.packets[count:]] == [b"marker"]


@pytest.mark.parametrize("codec", [g711.PCMU, g711.PCMA], ids=["PCMU", "PCMA"])
async def test_silence_goes_to_the_sdp_address_until_our_bye(far_end, codec: int) -> None:
    uas = await far_end(rtp=None, codec=codec)
    async with running_platform(sip_config(uas.address), **{**FAST, "amd_max_s": 1.0}) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
        assert platform.stats()["rtp_streams_sending"] == 0
        sent = platform.stats()["rtp_packets_sent"]
    assert outcome.disposition is CallDisposition.AMD_HANGUP, outcome  # silence → BYE
    assert uas.count("BYE") == 1
    received = uas.rtp_recorder.packets
    # symmetric RTP: every packet comes from the port our SDP offered (the receiving socket)
    assert {source for _, source, _ in received} == {("127.0.0.1", offered_rtp_port(uas))}
    assert_silence_stream([p for _, _, p in received], codec)
    assert len(received) == sent
    assert uas.answered_at is not None and received[0][0] >= uas.answered_at
    await assert_nothing_more_arrives(uas)


async def test_far_end_bye_stops_the_sending(far_end) -> None:
    uas = await far_end(rtp=None, hang_up_after_s=0.5)
    async with running_platform(sip_config(uas.address), **{**FAST, "amd_max_s": 5.0}) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
        assert platform.stats()["rtp_streams_sending"] == 0
    assert outcome.disposition is CallDisposition.FAR_END_HANGUP, outcome
    assert_silence_stream([p for _, _, p in uas.rtp_recorder.packets], g711.PCMU)
    await assert_nothing_more_arrives(uas)


async def test_transfer_stops_the_sending_at_the_refer(far_end) -> None:
    uas = await far_end(rtp=HUMAN)
    refer_seen: list[float] = []
    uas.on_request = lambda r: (
        refer_seen.append(asyncio.get_running_loop().time()) if r.method == "REFER" else None
    )
    async with running_platform(sip_config(uas.address), **{**FAST, "amd_max_s": 4.0}) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
    assert outcome.disposition is CallDisposition.TRANSFERRED, outcome
    packets = uas.rtp_recorder.packets
    assert_silence_stream([p for _, _, p in packets], g711.PCMU)
    # nothing sent after the REFER (a packet already on its way may be read just after it)
    assert refer_seen and not [t for t, _, _ in packets if t > refer_seen[0] + 0.1]
    await assert_nothing_more_arrives(uas)


async def test_reinvite_moves_the_stream_to_the_new_address(far_end) -> None:
    uas = await far_end(rtp=None, reinvite=True, reinvite_after_s=0.4, reinvite_to_new_port=True)
    async with running_platform(sip_config(uas.address), **{**FAST, "amd_max_s": 1.2}) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
    assert outcome.disposition is CallDisposition.AMD_HANGUP, outcome
    before = [p for _, _, p in uas.rtp_recorder.packets]
    after = [p for _, _, p in uas.moved_recorder.packets]
    assert before and after, (len(before), len(after))
    assert {s for _, s, _ in uas.moved_recorder.packets} == {("127.0.0.1", offered_rtp_port(uas))}
    # one stream across the move: same SSRC, sequence and timestamps carry on
    assert_silence_stream(before + after, g711.PCMU)
    await assert_nothing_more_arrives(uas, moved=True)


async def test_reinvite_putting_us_on_hold_stops_the_sending(far_end) -> None:
    uas = await far_end(
        rtp=None, reinvite=True, reinvite_after_s=0.3, reinvite_direction="inactive"
    )
    async with running_platform(sip_config(uas.address), **{**FAST, "amd_max_s": 2.0}) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
    answer = next(r for r in uas.responses_to_us if r.cseq and r.cseq.method == "INVITE")
    assert "a=inactive" in answer.text  # RFC 3264: inactive answers inactive
    assert outcome.disposition is CallDisposition.AMD_HANGUP, outcome
    packets = uas.rtp_recorder.packets
    assert_silence_stream([p for _, _, p in packets], g711.PCMU)
    # sending ran from the answer to the hold (0.3 s ≈ 15 frames), not the 2 s call (≈ 100)
    assert len(packets) < 50, len(packets)


async def test_early_media_mode_sends_from_the_183_and_cancel_stops_it(far_end) -> None:
    uas = await far_end(rtp=None, early_media=True, answer=False)
    tunables = {**FAST, "rtp_send": "early"}
    async with running_platform(sip_config(uas.address), **tunables) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd(), no_answer_timeout_s=0.6))
        assert platform.stats()["rtp_streams_sending"] == 0
    assert outcome.disposition is CallDisposition.NO_ANSWER, outcome
    assert uas.count("CANCEL") == 1
    assert_silence_stream([p for _, _, p in uas.rtp_recorder.packets], g711.PCMU)
    await assert_nothing_more_arrives(uas)


async def test_by_default_nothing_is_sent_before_the_answer(far_end) -> None:
    uas = await far_end(rtp=None, early_media=True, ring_s=0.5)
    async with running_platform(sip_config(uas.address), **{**FAST, "amd_max_s": 0.6}) as platform:
        await platform.originate(call_request(amd=EnergyAmd()))
    packets = uas.rtp_recorder.packets
    assert uas.answered_at is not None and packets
    assert min(t for t, _, _ in packets) >= uas.answered_at


async def test_rtp_send_off_sends_nothing(far_end) -> None:
    uas = await far_end(rtp=None)
    tunables = {**FAST, "amd_max_s": 0.6, "rtp_send": "off"}
    async with running_platform(sip_config(uas.address), **tunables) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
    assert outcome.disposition is CallDisposition.AMD_HANGUP
    assert uas.rtp_recorder.packets == []


def test_a_wrong_rtp_send_option_is_refused() -> None:
    from opendialer.plugins.platform_sip import SipPlatform

    with pytest.raises(ValueError, match="rtp_send must be one of answer, early, off"):
        SipPlatform({"config": sip_config("127.0.0.1:5060"), "rtp_send": "always"})


async def test_one_ticker_paces_many_streams_and_stops_when_idle() -> None:
    """Hundreds of calls share one timer: streams join and leave it independently."""
    loop = asyncio.get_running_loop()
    recorder = RtpRecorder()
    sink, _ = await loop.create_datagram_endpoint(lambda: recorder, local_addr=("127.0.0.1", 0))
    ticker = RtpTicker()
    allocator = RtpPortAllocator(40000, 40999)
    streams = [await RtpEndpoint.open(allocator, "127.0.0.1", ticker=ticker) for _ in range(20)]
    try:
        for stream in streams:
            assert stream is not None
            stream.expect(sink.get_extra_info("sockname"), g711.PCMA)
            stream.start_sending()
        assert ticker.streams == 20 and ticker.running
        await eventually(lambda: all(s is not None and s.sent >= 10 for s in streams))
        streams[0].stop_sending()  # type: ignore[union-attr]
        stopped_at = streams[0].sent  # type: ignore[union-attr]
        await eventually(lambda: streams[1] is not None and streams[1].sent >= stopped_at + 10)
        assert streams[0].sent == stopped_at  # type: ignore[union-attr]
    finally:
        for stream in streams:
            if stream is not None:
                stream.close()
        sink.close()
    assert ticker.streams == 0 and not ticker.running
    by_port: dict[int, list[bytes]] = {}
    for _, (_, port), packet in recorder.packets:
        by_port.setdefault(port, []).append(packet)
    assert len(by_port) == 20
    assert len({header(p[0])[5] for p in by_port.values()}) == 20  # 20 distinct SSRCs
    for packets in by_port.values():
        assert_silence_stream(packets, g711.PCMA)
    assert allocator.free == allocator.size
