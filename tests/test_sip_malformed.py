"""What the SIP stack refuses (issue 20 §2), on the wire: a scripted UDP far end
sends a malformed or unmatched response or request among a call's real ones,
and the call must end exactly as it would have without it — the refused
message is counted (``dropped_datagrams``) and logged once per peer and minute.

The filed fault: a ``200 OK`` with the INVITE's branch and a To tag but no
Call-ID, then a real ``486 Busy Here``; the dialer took the 200 as the answer.
Every malformed answer here comes before a real 486, so a message taken as
the answer would turn a BUSY into an answered call."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Callable

import pytest
from aiosipua import SipRequest, SipResponse
from sip_helpers import EnergyAmd, call_request, eventually, running_platform, sip_config
from sip_scripted_far_end import AUDIO, ScriptedUas, reply

from opendialer.core.domain import LeadStatus
from opendialer.core.engine.outcomes import status_for_outcome
from opendialer.plugins.platform_sip.refusals import RefusalLog, Refused
from opendialer.sdk.contracts import CallDisposition

pytestmark = pytest.mark.timeout(60)

HUMAN = (AUDIO / "human_hello.ulaw").read_bytes()[: 8000 * 3]
FAST = {"t1_s": 0.1, "t4_s": 0.5, "amd_max_s": 4.0, "transfer_timeout_s": 5.0}
JUNK = [b"\x00\xff" * 50, b"HELLO WORLD\r\n\r\n", b"SIP/2.0 banana\r\n\r\n", b"INVITE\r\n"]
REFUSED_LOG = "opendialer.plugins.platform_sip.signalling"


def answer(uas: ScriptedUas, invite: SipRequest) -> SipResponse:
    """The 200 OK a phone would send: the far end's tag, Contact and SDP."""
    ok = reply(invite, 200, "OK", uas.tag)
    ok.headers.set_single("Contact", f"<sip:far@127.0.0.1:{uas.port}>")
    ok.headers.set_single("Content-Type", "application/sdp")
    ok.text = uas._sdp()
    return ok


def branch_of(message: SipRequest) -> str:
    return re.search(r"branch=([^;]+)", message.headers.get_first("via") or "")[1]  # type: ignore[index]


def refused_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == REFUSED_LOG and r.getMessage().startswith("sip.refused")
    ]


def send_before_the_answer(uas: ScriptedUas, make: Callable[[SipResponse], bytes]) -> None:
    """On the INVITE, before its 100/486: ``make(200 OK)`` from the far end's socket."""

    def meddle(request: SipRequest) -> None:
        if request.method == "INVITE":
            uas.send(make(answer(uas, request)))

    uas.on_request = meddle


async def busy_call(uas: ScriptedUas, expected_drops: int) -> tuple[object, int]:
    """One call to the busy far end; (its outcome, the drops counted while it ran)."""
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
        await eventually(lambda: platform.stats()["dropped_datagrams"] >= expected_drops)
        drops = platform.stats()["dropped_datagrams"]
    return outcome, drops


def assert_only_the_486_was_acked(uas: ScriptedUas, outcome: object) -> None:
    assert outcome.disposition is CallDisposition.FINAL_RESPONSE, outcome  # type: ignore[attr-defined]
    assert outcome.sip_code == 486  # type: ignore[attr-defined]
    assert status_for_outcome(outcome) is LeadStatus.BUSY  # type: ignore[arg-type]
    assert uas.invite is not None
    # The ACK of a 3xx-6xx reuses the INVITE's branch (§17.1.1.3); the ACK of a
    # 2xx would be a new transaction, sent before it.
    assert [branch_of(ack) for ack in uas.requests("ACK")] == [branch_of(uas.invite)]
    assert uas.count("BYE") == 0


async def test_a_200_without_call_id_among_junk_is_not_the_answer(far_end, caplog) -> None:
    """The filed case: junk, a complete 200 OK with the INVITE's branch and a To
    tag but no Call-ID, then a proper 486: BUSY, the 486 ACKed, no BYE."""
    caplog.set_level(logging.WARNING, REFUSED_LOG)
    uas = await far_end(reject=(486, "Busy Here"))

    def without_call_id(ok: SipResponse) -> bytes:
        ok.headers.remove("Call-ID")
        return bytes(ok)

    def meddle(request: SipRequest) -> None:
        if request.method == "INVITE":
            for junk in JUNK:
                uas.send(junk)
            uas.send(without_call_id(answer(uas, request)))

    uas.on_request = meddle
    outcome, drops = await busy_call(uas, expected_drops=len(JUNK) + 1)
    await eventually(lambda: uas.count("ACK") >= 1)
    assert_only_the_486_was_acked(uas, outcome)
    assert drops == len(JUNK) + 1
    lines = refused_lines(caplog)
    assert len(lines) == 1, lines  # one peer, one minute: one line for five refusals
    assert f"from=127.0.0.1:{uas.port}" in lines[0]


def _without(name: str) -> Callable[[SipResponse], bytes]:
    def make(ok: SipResponse) -> bytes:
        ok.headers.remove(name)
        return bytes(ok)

    return make


def _with(name: str, value: Callable[[SipResponse], str]) -> Callable[[SipResponse], bytes]:
    def make(ok: SipResponse) -> bytes:
        ok.headers.set_single(name, value(ok))
        return bytes(ok)

    return make


def _start_line(line: bytes) -> Callable[[SipResponse], bytes]:
    return lambda ok: bytes(ok).replace(b"SIP/2.0 200 OK", line, 1)


def _cseq_number_plus_one(ok: SipResponse) -> str:
    number, method = (ok.headers.get_first("cseq") or "").split()
    return f"{int(number) + 1} {method}"


def _another_from_tag(ok: SipResponse) -> str:
    return re.sub(r";tag=[^;]+", ";tag=not-the-dialers", ok.headers.get_first("from") or "")


def _two_vias(ok: SipResponse) -> bytes:
    ok.headers.append("Via", "SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKproxy")
    return bytes(ok)


MALFORMED_200 = {
    "no Call-ID": (_without("Call-ID"), "missing_header"),
    "empty Call-ID": (_with("Call-ID", lambda ok: ""), "missing_header"),
    "no From": (_without("From"), "missing_header"),
    "no To": (_without("To"), "missing_header"),
    "no CSeq": (_without("CSeq"), "missing_header"),
    "no Via": (_without("Via"), "missing_header"),
    "unreadable CSeq": (_with("CSeq", lambda ok: "one INVITE"), "bad_header"),
    "two Vias": (_two_vias, "bad_header"),
    "another Call-ID": (_with("Call-ID", lambda ok: "someone-else@far"), "not_the_request"),
    "another From tag": (_with("From", _another_from_tag), "not_the_request"),
    "another CSeq number": (_with("CSeq", _cseq_number_plus_one), "not_the_request"),
    "CSeq method BYE": (
        _with("CSeq", lambda ok: (ok.headers.get_first("cseq") or "").split()[0] + " BYE"),
        "no_transaction",
    ),
    "another branch": (
        _with(
            "Via",
            lambda ok: re.sub(
                r"branch=[^;]+", "branch=z9hG4bKnobody", ok.headers.get_first("via") or ""
            ),
        ),
        "no_transaction",
    ),
    "status 2OO": (_start_line(b"SIP/2.0 2OO OK"), "bad_start_line"),
    "status 999": (_start_line(b"SIP/2.0 999 OK"), "bad_start_line"),
    "no space": (_start_line(b"SIP/2.0 200OK"), "bad_start_line"),
    "SIP/3.0": (_start_line(b"SIP/3.0 200 OK"), "bad_start_line"),
    "HTTP": (_start_line(b"HTTP/1.1 200 OK"), "bad_start_line"),
}


@pytest.mark.parametrize("variant", list(MALFORMED_200))
async def test_a_malformed_or_unmatched_200_before_a_486_changes_nothing(
    far_end, caplog, variant: str
) -> None:
    make, reason = MALFORMED_200[variant]
    caplog.set_level(logging.WARNING, REFUSED_LOG)
    uas = await far_end(reject=(486, "Busy Here"))
    send_before_the_answer(uas, make)
    outcome, drops = await busy_call(uas, expected_drops=1)
    await eventually(lambda: uas.count("ACK") >= 1)
    assert_only_the_486_was_acked(uas, outcome)
    assert drops == 1
    lines = refused_lines(caplog)
    assert len(lines) == 1 and f"reason={reason} " in lines[0], lines


async def test_the_same_200_well_formed_is_the_answer(far_end) -> None:
    """The control for the test above: the 200 it spoils, left intact, is taken —
    the 100 that follows is a late provisional of the INVITE (absorbed) and the 486
    matches nothing any more (refused)."""
    uas = await far_end(reject=(486, "Busy Here"), rtp=HUMAN)
    send_before_the_answer(uas, bytes)
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
        assert platform.stats()["dropped_datagrams"] == 1
    assert outcome.disposition is CallDisposition.TRANSFERRED, outcome


async def test_a_retransmitted_200_is_reacked_only_when_it_answers_our_invite(far_end) -> None:
    """After the answer, 2xx copies with the dialog's Call-ID but another From tag
    or CSeq are refused (not re-ACKed); the true copy is re-ACKed."""
    uas = await far_end(rtp=HUMAN)
    spoiled = [_with("From", _another_from_tag), _with("CSeq", _cseq_number_plus_one)]

    def meddle(request: SipRequest) -> None:
        if request.method == "ACK" and uas.invite is not None and uas.count("ACK") == 1:
            for make in spoiled:
                uas.send(make(answer(uas, uas.invite)))
            uas.send(answer(uas, uas.invite))

    uas.on_request = meddle
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
        await eventually(lambda: uas.count("ACK") >= 2)
        assert platform.stats()["dropped_datagrams"] == len(spoiled)
    assert uas.count("ACK") == 2  # the answer's ACK and the re-ACK of the true copy
    assert outcome.disposition is CallDisposition.TRANSFERRED, outcome


def _bye(uas: ScriptedUas) -> SipRequest:
    return uas.in_dialog("BYE")


def _request_without(name: str) -> Callable[[ScriptedUas], SipRequest | bytes]:
    def make(uas: ScriptedUas) -> SipRequest:
        bye = _bye(uas)
        bye.headers.remove(name)
        return bye

    return make


def _request_with(name: str, value: str) -> Callable[[ScriptedUas], SipRequest | bytes]:
    def make(uas: ScriptedUas) -> SipRequest:
        bye = _bye(uas)
        bye.headers.set_single(name, value)
        return bye

    return make


def _bye_from_another_tag(uas: ScriptedUas) -> SipRequest:
    bye = _bye(uas)
    bye.headers.set_single("From", "<sip:far@127.0.0.1>;tag=not-the-far-ends")
    return bye


def _ack_with_another_tag(uas: ScriptedUas) -> SipRequest:
    return uas.in_dialog("ACK", to_tag="not-the-dialers")


def _bye_line(line: bytes) -> Callable[[ScriptedUas], bytes]:
    def make(uas: ScriptedUas) -> bytes:
        raw = bytes(_bye(uas))
        return line + raw[raw.index(b"\r\n") :]

    return make


# variant: (the request, the answer the dialer gives, the refusal's reason)
BAD_REQUESTS: dict[str, tuple[Callable[[ScriptedUas], SipRequest | bytes], int | None, str]] = {
    "BYE for another Call-ID": (_request_with("Call-ID", "nobody@far"), 481, "no_dialog"),
    "BYE from another tag": (_bye_from_another_tag, 481, "no_dialog"),
    "ACK to another tag": (_ack_with_another_tag, None, "no_dialog"),
    "BYE without Call-ID": (_request_without("Call-ID"), 400, "missing_header"),
    "BYE without From": (_request_without("From"), 400, "missing_header"),
    "BYE without Via": (_request_without("Via"), None, "missing_header"),
    "BYE with CSeq INFO": (_request_with("CSeq", "999 INFO"), 400, "bad_header"),
    "BYE SIP/3.0": (_bye_line(b"BYE sip:dialer@127.0.0.1 SIP/3.0"), None, "bad_start_line"),
    "BYE without a URI": (_bye_line(b"BYE SIP/2.0"), None, "bad_start_line"),
}


@pytest.mark.parametrize("variant", list(BAD_REQUESTS))
async def test_a_malformed_or_unmatched_request_mid_call_changes_nothing(
    far_end, caplog, variant: str
) -> None:
    make, answer_code, reason = BAD_REQUESTS[variant]
    caplog.set_level(logging.WARNING, REFUSED_LOG)
    uas = await far_end(rtp=HUMAN)

    def meddle(request: SipRequest) -> None:
        if request.method == "ACK" and uas.count("ACK") == 1:
            uas.send(make(uas))

    uas.on_request = meddle
    async with running_platform(sip_config(uas.address), **FAST) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
        await eventually(lambda: platform.stats()["dropped_datagrams"] >= 1)
        assert platform.stats()["dropped_datagrams"] == 1
    # the BYE did not end the call: it ran to its transfer
    assert outcome.disposition is CallDisposition.TRANSFERRED, outcome
    refusals = [r.status_code for r in uas.responses_to_us if r.status_code >= 400]
    assert refusals == ([answer_code] if answer_code else [])
    lines = refused_lines(caplog)
    assert len(lines) == 1 and f"reason={reason} " in lines[0], lines


async def test_refusals_are_logged_once_per_peer(far_end, caplog) -> None:
    """Junk from the far end's socket and from a stranger's during one call:
    every datagram counted, one log line per peer."""
    caplog.set_level(logging.WARNING, REFUSED_LOG)
    uas = await far_end(reject=(486, "Busy Here"))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        stranger.bind(("127.0.0.1", 0))

        def spray(request: SipRequest) -> None:
            if request.method == "INVITE" and uas.dialer is not None:
                for junk in JUNK:
                    uas.send(junk)
                    stranger.sendto(junk, uas.dialer)

        uas.on_request = spray
        outcome, drops = await busy_call(uas, expected_drops=2 * len(JUNK))
        stranger_port = stranger.getsockname()[1]
    assert outcome.sip_code == 486  # type: ignore[attr-defined]
    assert drops == 2 * len(JUNK)
    lines = refused_lines(caplog)
    assert len(lines) == 2, lines
    assert {re.search(r"from=127\.0\.0\.1:(\d+)", line)[1] for line in lines} == {  # type: ignore[index]
        str(uas.port),
        str(stranger_port),
    }


def test_the_refusal_log_writes_one_line_per_peer_and_minute(caplog) -> None:
    caplog.set_level(logging.WARNING, REFUSED_LOG)
    now = [1000.0]
    refusals = RefusalLog(clock=lambda: now[0])
    far, stranger = ("192.0.2.1", 5060), ("192.0.2.2", 5060)
    junk = Refused("bad_start_line", "start line 'x'")
    for _ in range(3):
        refusals.refuse(far, junk)
    refusals.refuse(stranger, Refused("no_dialog", "nobody"))
    now[0] += 59.9
    refusals.refuse(far, junk)
    assert len(refused_lines(caplog)) == 2  # far's first, stranger's first
    now[0] += 0.1  # a minute after far's last line
    refusals.refuse(far, Refused("missing_header", "no Call-ID"))
    lines = refused_lines(caplog)
    assert len(lines) == 3
    assert "from=192.0.2.1:5060 reason=missing_header" in lines[2]
    assert "(3 more refused from this peer" in lines[2]  # the two at t=0 and the one at 59.9
    assert refusals.total == 6
    assert refusals.by_reason == {"bad_start_line": 4, "no_dialog": 1, "missing_header": 1}
