"""The SIP platform against a misbehaving far end (a scripted UDP peer, see
``sip_scripted_far_end``): garbage, wrong tags, missing headers, retransmitted
2xx, re-INVITE, hang-up mid-analysis, RTP that never comes or comes from the
wrong place, lost requests (RFC 3261 Timers A and E) and a dead server."""

from __future__ import annotations

import asyncio
import re
import socket
from dataclasses import replace

import pytest
from aiosipua import SipRequest
from sip_helpers import EnergyAmd, call_request, eventually, running_platform, sip_config
from sip_scripted_far_end import AUDIO, loud_audio

from opendialer.core.domain import LeadStatus
from opendialer.core.engine.outcomes import status_for_outcome
from opendialer.plugins.platform_sip import SipPlatform
from opendialer.plugins.platform_sip.config import SipConfig
from opendialer.sdk.contracts import AmdLabel, CallDisposition, PlatformUnavailable

pytestmark = pytest.mark.timeout(120)

HUMAN = (AUDIO / "human_hello.ulaw").read_bytes()[: 8000 * 3]
FAST = {"t1_s": 0.1, "t4_s": 0.5, "amd_max_s": 4.0, "transfer_timeout_s": 5.0}


def send_udp(data: bytes, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(data, ("127.0.0.1", port))


async def test_garbage_datagrams_are_dropped_and_the_call_goes_on(far_end) -> None:
    uas = await far_end(rtp=HUMAN)
    garbage = [b"\x00\xff" * 50, b"HELLO WORLD\r\n\r\n", b"SIP/2.0 banana\r\n\r\n", b"INVITE\r\n"]

    def spray(request: SipRequest) -> None:
        if request.method == "INVITE" and uas.dialer is not None:
            for junk in garbage:
                send_udp(junk, uas.dialer[1])
            if uas.dialer_rtp is not None:
                send_udp(b"\x80", uas.dialer_rtp[1])  # too short for RTP

    uas.on_request = spray
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
        assert platform.stats()["dropped_datagrams"] >= 2
        assert platform.health().ok
    assert outcome.disposition is CallDisposition.TRANSFERRED, outcome


async def test_wrong_tags_and_missing_headers_get_481_and_400(far_end) -> None:
    uas = await far_end(rtp=HUMAN)

    def meddle(request: SipRequest) -> None:
        if request.method == "ACK":
            uas.send(uas.in_dialog("BYE", to_tag="not-the-dialers-tag"))
            broken = uas.in_dialog("INFO")
            broken.headers.remove("CSeq")
            uas.send(broken)

    uas.on_request = meddle
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
    codes = sorted(r.status_code for r in uas.responses_to_us if r.status_code >= 400)
    assert codes == [400, 481]
    # the stray BYE did not end the call: it ran to its transfer
    assert outcome.disposition is CallDisposition.TRANSFERRED, outcome


async def test_retransmitted_2xx_is_acked_every_time(far_end) -> None:
    uas = await far_end(rtp=HUMAN, extra_200s=3)
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
    assert outcome.disposition is CallDisposition.TRANSFERRED
    await eventually(lambda: uas.count("ACK") == 4)  # one ACK per 200 OK received
    assert uas.count("INVITE") == 1


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_a_180_after_the_final_response_is_absorbed_not_refused(
    far_end, transport: str
) -> None:
    """A proxy forwarding the far end's 180 and its final response from different
    worker processes (Kamailio does, seen over TCP) can deliver the 180 last: a
    provisional of our INVITE, late — not a message to refuse, count and warn about.
    After a 200 (the call goes on) and after a 486 (on TCP its transaction is gone at
    once; on UDP Timer D still holds it)."""
    answered = await far_end(rtp=HUMAN, ringing_after_answer=True)
    busy = await far_end(reject=(486, "Busy Here"), ringing_after_answer=True)
    outcomes, refused = [], []
    for uas in (answered, busy):
        if transport == "tcp":
            await uas.start_tcp()
        config = sip_config(uas.address, transport=transport)
        async with running_platform(config, **FAST) as platform:
            outcomes.append(await platform.originate(call_request(amd=EnergyAmd())))
            await eventually(lambda uas=uas: uas.count("ACK") == 1)
            refused.append({reason: n for reason, n in platform.refused_messages().items() if n})
    assert [o.disposition for o in outcomes] == [
        CallDisposition.TRANSFERRED,
        CallDisposition.FINAL_RESPONSE,
    ], outcomes
    assert outcomes[1].sip_code == 486
    assert refused == [{}, {}]


async def test_reinvite_mid_call_is_answered_with_sdp(far_end) -> None:
    uas = await far_end(rtp=HUMAN, reinvite=True)
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
    answers = [r for r in uas.responses_to_us if r.cseq and r.cseq.method == "INVITE"]
    assert [r.status_code for r in answers] == [200]
    assert "m=audio" in answers[0].text
    assert outcome.disposition is CallDisposition.TRANSFERRED, outcome


async def test_far_end_hang_up_during_analysis(far_end) -> None:
    uas = await far_end(rtp=loud_audio(5), hang_up_after_s=0.5)
    amd = EnergyAmd()
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        outcome = await platform.originate(call_request(amd=amd))
        assert platform.free_ports() == 4
    assert outcome.disposition is CallDisposition.FAR_END_HANGUP, outcome
    assert status_for_outcome(outcome) is LeadStatus.FAILURE
    assert [r.status_code for r in uas.responses_to_us if r.cseq.method == "BYE"] == [200]
    assert uas.count("BYE") == 0  # the dialer did not send a BYE of its own


async def test_rtp_that_never_arrives_ends_as_silence(far_end) -> None:
    uas = await far_end(rtp=None)
    async with running_platform(sip_config(uas.address), **{**FAST, "amd_max_s": 1.0}) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
    assert outcome.disposition is CallDisposition.AMD_HANGUP, outcome
    assert outcome.amd is not None and outcome.amd.label is AmdLabel.SILENCE
    assert status_for_outcome(outcome) is LeadStatus.AMD
    assert uas.count("BYE") == 1


async def test_rtp_from_an_unexpected_address_is_ignored(far_end) -> None:
    uas = await far_end(rtp=loud_audio(3), rtp_from_elsewhere=True)
    amd = EnergyAmd()
    async with running_platform(sip_config(uas.address), **{**FAST, "amd_max_s": 1.5}) as platform:
        outcome = await platform.originate(call_request(amd=amd))
    assert amd.fed_samples == 0  # loud audio, but from a port the SDP never announced
    assert outcome.amd is not None and outcome.amd.label is AmdLabel.SILENCE


async def test_lost_invite_is_retransmitted_timer_a(far_end) -> None:
    uas = await far_end(rtp=HUMAN, drop_invites=2)
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
    invites = uas.requests("INVITE")
    assert len(invites) == 3
    assert len({bytes(i) for i in invites}) == 1  # the same request, byte for byte
    assert outcome.disposition is CallDisposition.TRANSFERRED, outcome


async def test_lost_bye_is_retransmitted_timer_e(far_end) -> None:
    uas = await far_end(rtp=None, drop_byes=1)
    async with running_platform(sip_config(uas.address), **{**FAST, "amd_max_s": 0.5}) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
        byes = uas.requests("BYE")
        assert len(byes) == 2 and bytes(byes[0]) == bytes(byes[1])
        assert [r.status_code for r in uas.responses_to_us] == []  # the BYE's 200 went to us
    assert outcome.disposition is CallDisposition.AMD_HANGUP


async def test_invite_challenge_is_answered_with_digest(far_end) -> None:
    uas = await far_end(rtp=HUMAN, challenge_invite=True)
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
    first, second = uas.requests("INVITE")
    assert "authorization" not in first.headers
    credentials = second.headers.get_first("authorization") or ""
    assert 'username="port001"' in credentials and 'realm="far"' in credentials
    await eventually(lambda: uas.count("ACK") == 2)  # the 401 and the 200
    assert outcome.disposition is CallDisposition.TRANSFERRED, outcome


async def test_final_rejection_from_scripted_peer(far_end) -> None:
    uas = await far_end(reject=(486, "Busy Here"))
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
    assert outcome.sip_code == 486 and status_for_outcome(outcome) is LeadStatus.BUSY
    await eventually(lambda: uas.count("ACK") == 1)


async def test_silent_server_puts_the_platform_down_until_it_answers(far_end) -> None:
    uas = await far_end(silent=True)
    options = {**FAST, "t1_s": 0.02, "probe_interval_s": 0.2}
    async with running_platform(sip_config(uas.address), **options) as platform:
        assert platform.health().ok and platform.free_ports() == 4
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
        assert outcome.disposition is CallDisposition.PLATFORM_ERROR, outcome
        assert len(uas.requests("INVITE")) > 3  # Timer A kept trying until Timer B
        # one lost INVITE starts the probe; down once three requests in a row went unanswered
        await eventually(lambda: not platform.health().ok)
        health = platform.health()
        assert not health.ok and "did not answer" in health.detail
        assert platform.free_ports() == 0
        with pytest.raises(PlatformUnavailable):
            await platform.originate(call_request(amd=EnergyAmd()))
        uas.behaviour.silent = False  # the server is back: the OPTIONS probe notices
        await eventually(lambda: platform.health().ok)
        assert uas.count("OPTIONS") >= 1
        assert platform.free_ports() == 4


async def test_no_free_port_raises_before_sending(far_end) -> None:
    uas = await far_end(answer=False)
    async with running_platform(sip_config(uas.address, ports=1), **FAST) as platform:
        first = asyncio.create_task(
            platform.originate(call_request(amd=None, no_answer_timeout_s=0.5))
        )
        await eventually(lambda: uas.count("INVITE") == 1)
        assert platform.free_ports() == 0
        with pytest.raises(PlatformUnavailable, match="no free SIP port"):
            await platform.originate(call_request(amd=None))
        assert uas.count("INVITE") == 1
        outcome = await first
        assert outcome.disposition is CallDisposition.NO_ANSWER
        assert uas.count("CANCEL") == 1


async def test_licensed_port_count_caps_calls(far_end) -> None:
    uas = await far_end()
    platform = SipPlatform(
        {"config": sip_config(uas.address, ports=5), "licensed_ports": 2, "bind_host": "127.0.0.1"}
    )
    await platform.start()
    try:
        assert platform.free_ports() == 2
    finally:
        await platform.close()


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"transfer_to": "evil@evil.example>;x=<sip:4000"}, "pilot number"),
        ({"caller_id": "4000\r\nP-Asserted-Identity: <sip:1@evil>"}, "caller_id"),
        ({"number": "5551234;user=phone?X=1"}, "number"),
    ],
)
async def test_values_a_sip_header_cannot_carry_never_reach_the_wire(
    far_end, changes: dict[str, str], named: str
) -> None:
    """Rows stored before the services checked pilot numbers and caller IDs: the
    call is refused with the reason, and no INVITE (nor REFER) is sent."""
    uas = await far_end(rtp=HUMAN)
    request = replace(call_request(amd=EnergyAmd()), **changes)
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        outcome = await platform.originate(request)
        assert platform.free_ports() == 4  # the port went back
    assert outcome.disposition is CallDisposition.PLATFORM_ERROR, outcome
    assert "refused to dial" in (outcome.detail or "") and named in (outcome.detail or "")
    assert uas.count("INVITE") == 0  # refused before anything was sent


@pytest.mark.parametrize(
    ("port", "field"),
    [
        ({"user": "3001", "auth_user": 'x", realm="evil'}, "ports[0].auth_user"),
        ({"user": "3001@evil.example"}, "ports[0].user"),
    ],
)
def test_stored_port_names_a_header_cannot_carry_are_refused(
    port: dict[str, str], field: str
) -> None:
    config = sip_config("127.0.0.1:5060")
    config["ports"] = [{**port, "password": "secret"}]
    with pytest.raises(ValueError, match=re.escape(field) + ".*cannot go into a SIP header"):
        SipConfig.from_mapping(config)
    with pytest.raises(ValueError, match=r"caller_id .*cannot go into a SIP header"):
        SipConfig.from_mapping(sip_config("127.0.0.1:5060", caller_id="1>;evil"))
