"""Over-dialed calls on the SIP platform against SIPp far ends (issue 17 §1, §4).

A person answers a call launched with no agent held (``CallRequest.claim_agent``):
no agent → the safe-harbour message is played over RTP, then BYE, outcome ABANDONED;
an agent → the call is transferred as before; the far end hanging up while the
dialer waits → FAR_END_HANGUP, the claim let settle first.

What SIPp received is seen on the wire. SIPp 3.6.1 logs SIP only (``-trace_*``); its
one way to show received RTP is ``-rtp_echo``, which sends every packet back to its
sender. So the SIPp scenarios announce, in their SDP answer, the port of a media tap
in the test: the tap forwards the dialer's RTP to SIPp's media port and keeps what
SIPp echoes back — the packets SIPp received, byte for byte — and plays the far end's
voice to the dialer (the dialer accepts media only from the announced address).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sip_helpers import EnergyAmd, call_request, eventually, running_platform, sip_config
from sip_scripted_far_end import AUDIO, rtp_packets
from sipp_far_end import SippUas, ensure_sipp
from test_sip_g711 import ref_linear2alaw, ref_ulaw2linear

from opendialer.core.domain import LeadStatus
from opendialer.core.engine.outcomes import status_for_outcome
from opendialer.plugins.platform_sip import SipPlatform
from opendialer.plugins.platform_sip import outcome_details as details
from opendialer.sdk import WaitsForAgents
from opendialer.sdk.contracts import AmdLabel, CallDisposition, CallRequest

pytestmark = [pytest.mark.sip, pytest.mark.timeout(180)]

PCMU, PCMA = 0, 8
SILENCE = {PCMU: b"\xff" * 160, PCMA: b"\xd5" * 160}  # G.711 zero, each law
#: The safe-harbour message: 1 s of pseudo-random µ-law codes — no two 20 ms packets
#: alike, so a lost, repeated or reordered packet shows, and none is silence.
MESSAGE = bytes(np.random.default_rng(17).integers(0, 255, 8000, dtype=np.uint8))
HUMAN_VOICE = (AUDIO / "human_hello.ulaw").read_bytes()[: 8000 * 4]


@pytest.fixture(scope="session")
def sipp() -> str:
    return ensure_sipp()


def to_alaw(ulaw: bytes) -> bytes:
    """µ-law → A-law through the ITU reference transcription (not the product's tables)."""
    return bytes(ref_linear2alaw(ref_ulaw2linear(code)) for code in ulaw)


@dataclass
class MediaTap(asyncio.DatagramProtocol):
    """The media address the far end's SDP announces (see the module docstring)."""

    codec: int
    sipp_media: tuple[str, int] = ("127.0.0.1", 0)
    from_dialer: list[tuple[float, bytes]] = field(default_factory=list)  # (wall time, packet)
    echoed: list[bytes] = field(default_factory=list)  # what SIPp received and sent back
    dialer: tuple[str, int] | None = None
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def datagram_received(self, data: bytes, addr: Any) -> None:
        assert self.transport is not None
        source = (addr[0], addr[1])
        if source == self.sipp_media:
            self.echoed.append(data)
            return
        self.dialer = source
        self.from_dialer.append((time.time(), data))
        self.transport.sendto(data, self.sipp_media)

    async def speak(self, ulaw: bytes) -> None:
        """The far end's voice, 20 ms per packet, from the dialer's first packet on."""
        await eventually(lambda: self.dialer is not None, what="the dialer's RTP")
        payload = ulaw if self.codec == PCMU else to_alaw(ulaw)
        assert self.transport is not None and self.dialer is not None
        for packet in rtp_packets(payload, ssrc=0xFA2E4D, pt=self.codec):
            self.transport.sendto(packet, self.dialer)
            await asyncio.sleep(0.02)

    async def everything_echoed(self, at_least: int = 1) -> list[bytes]:
        """What SIPp received, once it has echoed every packet the dialer sent."""
        await eventually(
            lambda: len(self.echoed) == len(self.from_dialer) >= at_least,
            what=f"SIPp's echo of {len(self.from_dialer)} packets (got {len(self.echoed)})",
        )
        return self.echoed


@dataclass
class FarEnd:
    uas: SippUas
    tap: MediaTap
    messages: Path

    async def finished(self) -> int:
        return await asyncio.to_thread(self.uas.wait, 60)

    def bye_received_at(self) -> float:
        """Wall time SIPp logged the dialer's BYE (its ``-trace_msg`` log)."""
        log = self.messages.read_text(errors="replace")
        found = re.search(r"-{20,} (\S+ \S+)\n\S+ message received[^\n]*\n\nBYE ", log)
        assert found, "SIPp received no BYE"
        return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()


@asynccontextmanager
async def far_end(tmp_path: Path, scenario: str, codec: int, **sets: str) -> AsyncIterator[FarEnd]:
    """SIPp answering with one codec (``-rtp_echo``) behind a media tap; the tap speaks."""
    loop = asyncio.get_running_loop()
    tap = MediaTap(codec)
    await loop.create_datagram_endpoint(lambda: tap, local_addr=("127.0.0.1", 0))
    messages = tmp_path / f"{scenario}.messages.log"
    uas = SippUas(
        scenario,
        calls=1,
        keys={
            "tap_port": str(tap.port),
            "codec_pt": str(codec),
            "codec_name": "PCMU" if codec == PCMU else "PCMA",
            "refer_result": "200 OK",
        },
        sets={"ring_ms": "300", **sets},
        extra=["-rtp_echo", "-trace_msg", "-message_file", str(messages)],
    ).start(tmp_path)
    tap.sipp_media = ("127.0.0.1", uas.media_port)
    speaking = asyncio.create_task(tap.speak(HUMAN_VOICE))
    try:
        yield FarEnd(uas, tap, messages)
    finally:
        speaking.cancel()
        uas.stop()
        assert tap.transport is not None
        tap.transport.close()


def claim(answer: bool, after_s: float, calls: list[str]) -> Callable[[], Any]:
    async def claim_agent() -> bool:
        calls.append("claimed")
        await asyncio.sleep(after_s)
        return answer

    return claim_agent


def over_dialed(request: CallRequest, claim_agent: Any, message: bytes | None) -> CallRequest:
    return replace(request, claim_agent=claim_agent, safe_harbour_ulaw=message)


def header(packet: bytes) -> tuple[int, int, int, int, int]:
    """(marker, payload type, sequence, timestamp, SSRC)."""
    return (
        packet[1] >> 7,
        packet[1] & 0x7F,
        int.from_bytes(packet[2:4], "big"),
        int.from_bytes(packet[4:8], "big"),
        int.from_bytes(packet[8:12], "big"),
    )


def assert_one_stream(packets: list[bytes], codec: int) -> list[int]:
    """One RTP stream (version 2, ``codec``, one SSRC, sequence +1 and timestamp +160 per
    packet, 160-byte payloads); returns the indexes of the packets with the marker bit."""
    fields = [header(p) for p in packets]
    assert {p[0] >> 6 for p in packets} == {2}
    assert {f[1] for f in fields} == {codec}
    assert len({f[4] for f in fields}) == 1
    for before, after in itertools.pairwise(fields):
        assert after[2] == (before[2] + 1) & 0xFFFF, (before, after)
        assert after[3] == (before[3] + 160) & 0xFFFFFFFF, (before, after)
    assert {len(p) for p in packets} == {172}
    return [index for index, f in enumerate(fields) if f[0]]


@pytest.mark.parametrize("codec", [PCMU, PCMA], ids=["PCMU", "PCMA"])
async def test_no_agent_free_plays_the_safe_harbour_message_then_hangs_up(
    sipp: str, tmp_path: Path, codec: int
) -> None:
    # PCMA: half a frame more, so the last packet is padded with A-law silence
    message = MESSAGE if codec == PCMU else MESSAGE + MESSAGE[:80]
    expected = message if codec == PCMU else to_alaw(message + b"\xff" * 80)
    claims: list[str] = []
    async with far_end(tmp_path, "uas_answer_agent_wait.xml", codec) as far:
        request = call_request(amd=EnergyAmd())
        request = over_dialed(request, claim(False, 0.3, claims), message)
        async with running_platform(sip_config(far.uas.address)) as platform:
            outcome = await platform.originate(request)
            assert platform.free_ports() == 4
        assert await far.finished() == 0, far.uas.errors()  # SIPp saw INVITE…ACK, our BYE
        received = await far.tap.everything_echoed()
        sent = far.tap.from_dialer
        bye_at = far.bye_received_at()

    assert outcome.disposition is CallDisposition.ABANDONED, outcome
    assert status_for_outcome(outcome) is LeadStatus.ABANDONED
    assert outcome.amd is not None and outcome.amd.label is AmdLabel.HUMAN
    assert outcome.detail_code == details.ABANDONED_MESSAGE_PLAYED
    assert outcome.detail_params == {"s": "1.0"}
    assert outcome.answered_at is not None and outcome.transfer_code is None
    assert claims == ["claimed"]

    assert received == [packet for _, packet in sent]  # SIPp got every packet, in order
    markers = assert_one_stream(received, codec)
    frames = len(expected) // 160
    assert len(markers) == 2 and markers[0] == 0, markers  # the stream's start, the message's
    start = markers[1]
    payloads = [packet[12:] for packet in received]
    assert start > 0 and set(payloads[:start]) == {SILENCE[codec]}  # silence while waiting
    assert b"".join(payloads[start : start + frames]) == expected
    assert set(payloads[start + frames :]) <= {SILENCE[codec]}  # only silence after it
    last_message_packet_at = sent[start + frames - 1][0]
    assert last_message_packet_at < bye_at  # the BYE came after the whole message


async def test_an_agent_claimed_in_time_gets_the_call_transferred(
    sipp: str, tmp_path: Path
) -> None:
    claims: list[str] = []
    async with far_end(tmp_path, "uas_answer_agent_wait.xml", PCMU) as far:
        request = over_dialed(call_request(amd=EnergyAmd()), claim(True, 0.3, claims), MESSAGE)
        async with running_platform(sip_config(far.uas.address)) as platform:
            outcome = await platform.originate(request)
        assert await far.finished() == 0, far.uas.errors()  # REFER, NOTIFYs, our BYE
        received = await far.tap.everything_echoed()
        log = far.messages.read_text(errors="replace")

    assert outcome.disposition is CallDisposition.TRANSFERRED, outcome
    assert status_for_outcome(outcome) is LeadStatus.SUCCESS
    assert outcome.transfer_code == 200
    assert claims == ["claimed"]
    assert "Refer-To: <sip:7000@dialer.test>" in log
    assert assert_one_stream(received, PCMU) == [0]
    assert {packet[12:] for packet in received} == {SILENCE[PCMU]}  # no message, silence only


async def test_far_end_hanging_up_while_waiting_ends_the_call_after_the_claim_settled(
    sipp: str, tmp_path: Path
) -> None:
    settled: list[bool] = []
    async with far_end(tmp_path, "uas_answer_then_hang_up.xml", PCMU, hangup_ms="300") as far:

        async def agent_frees_after_the_far_end_left() -> bool:
            # returns only once SIPp's call is over (its BYE answered, its timewait done)
            await far.finished()
            settled.append(True)
            return True

        request = over_dialed(call_request(amd=None), agent_frees_after_the_far_end_left, MESSAGE)
        async with running_platform(sip_config(far.uas.address)) as platform:
            outcome = await platform.originate(request)
            assert platform.free_ports() == 4
        assert settled == [True]  # the outcome came after the claim, not instead of it
        assert await far.finished() == 0, far.uas.errors()
        received = await far.tap.everything_echoed()

    assert outcome.disposition is CallDisposition.FAR_END_HANGUP, outcome
    assert outcome.detail_code == details.HUNG_UP_WAITING_FOR_AGENT
    assert status_for_outcome(outcome) is LeadStatus.FAILURE
    assert outcome.amd is None
    assert {packet[12:] for packet in received} == {SILENCE[PCMU]}  # no message was played


async def test_a_failing_claim_abandons_and_without_a_message_hangs_up_at_once(
    sipp: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken_claim() -> bool:
        raise RuntimeError("routing database unreachable")

    caplog.set_level(logging.ERROR, logger="opendialer.plugins.platform_sip")
    async with far_end(tmp_path, "uas_answer_agent_wait.xml", PCMA) as far:
        request = over_dialed(call_request(amd=None), broken_claim, None)
        async with running_platform(sip_config(far.uas.address)) as platform:
            outcome = await platform.originate(request)
        assert await far.finished() == 0, far.uas.errors()  # our BYE, no REFER
        received = await far.tap.everything_echoed(at_least=0)

    assert outcome.disposition is CallDisposition.ABANDONED, outcome
    assert outcome.detail_code == details.ABANDONED_NO_MESSAGE
    assert "no safe-harbour message" in outcome.detail
    assert {packet[12:] for packet in received} <= {SILENCE[PCMA]}
    assert any("sip.agent_claim_error" in r.getMessage() for r in caplog.records), caplog.text


def test_the_sip_platform_says_it_waits_for_agents() -> None:
    platform = SipPlatform({"config": sip_config("127.0.0.1:5060")})
    assert isinstance(platform, WaitsForAgents) and platform.waits_for_agents is True
