"""The safe-harbour message on the wire, in the cases SIPp cannot be made to play.

A scripted far end (``sip_scripted_far_end``) records every RTP packet reaching its
media port and is told by the test when to act — hang up, or put the call on hold,
once the message's first packet has arrived — so nothing here depends on timing.
The RTP endpoint's playback is driven directly for what a call cannot reach: the
codec changing mid-message, a message without silence around it (``rtp_send="off"``).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import replace

import numpy as np
import pytest
from sip_helpers import call_request, eventually, running_platform, sip_config
from sip_scripted_far_end import RtpRecorder
from test_sip_g711 import ref_linear2alaw, ref_ulaw2linear

from opendialer.plugins.platform_sip import outcome_details as details
from opendialer.plugins.platform_sip.rtp import RtpEndpoint, RtpPortAllocator, RtpTicker
from opendialer.sdk.contracts import CallDisposition, CallRequest

pytestmark = pytest.mark.timeout(120)

PCMU, PCMA = 0, 8
SILENCE = {PCMU: b"\xff" * 160, PCMA: b"\xd5" * 160}
#: 2 s of pseudo-random µ-law codes (no packet alike, none silence).
MESSAGE = bytes(np.random.default_rng(4).integers(0, 255, 16000, dtype=np.uint8))
FAST = {"t1_s": 0.1, "t4_s": 0.5}


def to_alaw(ulaw: bytes) -> bytes:
    return bytes(ref_linear2alaw(ref_ulaw2linear(code)) for code in ulaw)


def no_agent() -> Callable[[], Awaitable[bool]]:
    async def claim_agent() -> bool:
        return False

    return claim_agent


def over_dialed(
    claim_agent: Callable[[], Awaitable[bool]], message: bytes | None = MESSAGE
) -> CallRequest:
    return replace(call_request(amd=None), claim_agent=claim_agent, safe_harbour_ulaw=message)


def payloads(recorder: RtpRecorder) -> list[bytes]:
    return [packet[12:] for _, _, packet in recorder.packets]


def message_packets(recorder: RtpRecorder, codec: int) -> int:
    return sum(payload != SILENCE[codec] for payload in payloads(recorder))


async def test_far_end_hanging_up_during_the_message_is_still_an_abandon(far_end) -> None:
    uas = await far_end()
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        call = asyncio.create_task(platform.originate(over_dialed(no_agent())))
        await eventually(lambda: message_packets(uas.rtp_recorder, PCMU) >= 5, what="message")
        uas.send(uas.in_dialog("BYE"))
        outcome = await call
    assert outcome.disposition is CallDisposition.ABANDONED, outcome
    assert outcome.detail_code == details.ABANDONED_HUNG_UP_DURING_MESSAGE
    played = float(outcome.detail_params["played"])
    assert outcome.detail_params["s"] == "2.0" and 0.1 <= played < 2.0, outcome.detail_params
    assert uas.count("BYE") == 0  # the far end's BYE ended it: the dialer sends none
    sent = b"".join(p for p in payloads(uas.rtp_recorder) if p != SILENCE[PCMU])
    assert 5 * 160 <= len(sent) < len(MESSAGE) and MESSAGE.startswith(sent)
    assert abs(len(sent) / 8000 - played) <= 0.07  # the detail says what went out (to 0.1 s)


async def test_a_hold_during_the_message_cuts_it_short_then_hangs_up(far_end) -> None:
    uas = await far_end(codec=PCMA)
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        call = asyncio.create_task(platform.originate(over_dialed(no_agent())))
        await eventually(lambda: message_packets(uas.rtp_recorder, PCMA) >= 5, what="message")
        hold = uas.in_dialog("INVITE")
        hold.headers.set_single("Content-Type", "application/sdp")
        hold.headers.set_single("Contact", f"<sip:far@127.0.0.1:{uas.port}>")
        hold.text = uas._sdp(None, "sendonly")
        uas.send(hold)
        outcome = await call
    assert outcome.disposition is CallDisposition.ABANDONED, outcome
    assert outcome.detail_code == details.ABANDONED_MESSAGE_CUT
    assert float(outcome.detail_params["played"]) < 2.0
    assert uas.count("BYE") == 1  # then the dialer hung up
    sent = b"".join(p for p in payloads(uas.rtp_recorder) if p != SILENCE[PCMA])
    assert 5 * 160 <= len(sent) < len(MESSAGE) and to_alaw(MESSAGE).startswith(sent)


async def test_a_claim_that_never_settles_is_cancelled_and_the_call_abandoned(far_end) -> None:
    uas = await far_end()
    cancelled: list[bool] = []

    async def stuck_claim() -> bool:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return True

    options = {**FAST, "agent_wait_max_s": 0.5}
    async with running_platform(sip_config(uas.address), **options) as platform:
        outcome = await platform.originate(over_dialed(stuck_claim, None))
    assert outcome.disposition is CallDisposition.ABANDONED, outcome
    assert outcome.detail_code == details.ABANDONED_NO_MESSAGE
    assert cancelled == [True]
    assert uas.count("BYE") == 1 and uas.count("REFER") == 0


async def test_without_claim_agent_the_call_is_transferred_at_once(far_end) -> None:
    """Progressive pacing (claim_agent None): today's flow, the message is never played."""
    uas = await far_end()
    request = replace(call_request(amd=None), safe_harbour_ulaw=MESSAGE)
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        outcome = await platform.originate(request)
    assert outcome.disposition is CallDisposition.TRANSFERRED, outcome
    assert uas.count("REFER") == 1
    assert message_packets(uas.rtp_recorder, PCMU) == 0


# -- the RTP endpoint's playback ----------------------------------------------------------


async def endpoint_and_sink() -> tuple[RtpEndpoint, RtpRecorder, RtpTicker, Callable[[], None]]:
    loop = asyncio.get_running_loop()
    recorder = RtpRecorder()
    sink, _ = await loop.create_datagram_endpoint(lambda: recorder, local_addr=("127.0.0.1", 0))
    ticker = RtpTicker()
    endpoint = await RtpEndpoint.open(RtpPortAllocator(41000, 41999), "127.0.0.1", ticker=ticker)
    assert endpoint is not None
    endpoint.expect(sink.get_extra_info("sockname"), PCMU)

    def close() -> None:
        endpoint.close()
        sink.close()

    return endpoint, recorder, ticker, close


def fields(packet: bytes) -> tuple[int, int, int, int]:
    """(marker, payload type, sequence, timestamp)."""
    return (
        packet[1] >> 7,
        packet[1] & 0x7F,
        int.from_bytes(packet[2:4], "big"),
        int.from_bytes(packet[4:8], "big"),
    )


async def test_a_message_alone_is_sent_then_the_ticker_stops() -> None:
    """rtp_send="off": no silence around it; the ticker runs only while it plays."""
    endpoint, recorder, ticker, close = await endpoint_and_sink()
    try:
        played = await endpoint.play(MESSAGE[:1000])  # 6.25 frames: the 7th padded
        assert played == 7
        assert not ticker.running and ticker.streams == 0
        await eventually(lambda: len(recorder.packets) == 7, what="7 packets")
    finally:
        close()
    packets = [packet for _, _, packet in recorder.packets]
    assert [fields(p)[0] for p in packets] == [1, 0, 0, 0, 0, 0, 0]
    assert b"".join(p[12:] for p in packets) == MESSAGE[:1000] + b"\xff" * 120


async def test_a_codec_change_mid_message_transcodes_the_rest() -> None:
    endpoint, recorder, _, close = await endpoint_and_sink()
    try:
        endpoint.start_sending()
        await eventually(lambda: len(recorder.packets) >= 3, what="silence first")
        playing = endpoint.play(MESSAGE[:8000])
        await eventually(lambda: endpoint.sent >= 3 + 10, what="part of the message")
        endpoint.expect(endpoint.remote, PCMA)  # type: ignore[arg-type]  # a re-INVITE
        assert await playing == 50
        await eventually(lambda: fields(recorder.packets[-1][2])[1] == PCMA)
        settled = len(recorder.packets)
        await eventually(lambda: len(recorder.packets) >= settled + 3, what="silence after")
    finally:
        close()
    packets = [packet for _, _, packet in recorder.packets]
    heads = [fields(p) for p in packets]
    for before, after in itertools.pairwise(heads):  # one stream throughout
        assert after[2] == (before[2] + 1) & 0xFFFF and after[3] == (before[3] + 160) & 0xFFFFFFFF
    start = next(i for i, p in enumerate(packets) if p[12:] not in SILENCE.values())
    assert [h[0] for h in heads] == [1 if i in (0, start) else 0 for i in range(len(heads))]
    switch = next(i for i in range(start, len(packets)) if heads[i][1] == PCMA)
    expected = [MESSAGE[i * 160 : i * 160 + 160] for i in range(50)]
    got = [p[12:] for p in packets[start : start + 50]]
    assert got[: switch - start] == expected[: switch - start]
    assert got[switch - start :] == [to_alaw(chunk) for chunk in expected[switch - start :]]
    assert {p[12:] for p in packets[start + 50 :]} == {SILENCE[PCMA]}


async def test_stopping_cuts_the_message_and_nothing_more_is_sent() -> None:
    endpoint, recorder, ticker, close = await endpoint_and_sink()
    try:
        playing = endpoint.play(MESSAGE)
        await eventually(lambda: endpoint.sent >= 5, what="the message's start")
        endpoint.stop_sending()
        stopped_at = endpoint.sent
        assert await playing == stopped_at
        assert not ticker.running  # so nothing more can be sent
        await eventually(lambda: len(recorder.packets) == stopped_at, what="what was sent")
    finally:
        close()
    assert await endpoint.play(MESSAGE) == 0  # closed: nothing can be sent
    assert len(recorder.packets) == stopped_at
