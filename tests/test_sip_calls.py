"""Call flows of the SIP platform against SIPp far ends (Debian sip-tester, installed if missing).

Each SIPp runs with ``-m N``: its exit code 0 says the far end saw exactly the
dialogue its scenario expects (INVITE, ACK, REFER/NOTIFY, BYE or CANCEL). Lead
statuses are asserted through the engine's own table (``status_for_outcome``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from sip_helpers import EnergyAmd, call_request, running_platform, sip_config
from sipp_far_end import SippUas, audio, ensure_sipp

from opendialer.core.domain import LeadStatus
from opendialer.core.engine.outcomes import status_for_outcome
from opendialer.core.plugins import PluginManager
from opendialer.sdk.contracts import AmdLabel, CallDisposition

pytestmark = [pytest.mark.sip, pytest.mark.timeout(180)]


@pytest.fixture(scope="session")
def sipp() -> str:
    return ensure_sipp()


def answering_uas(recording: str, refer_result: str = "200 OK", **kw: object) -> SippUas:
    return SippUas(
        "uas_answer_rtp.xml",
        calls=1,
        keys={"audio": audio(recording), "refer_result": refer_result},
        sets={"ring_ms": "300"},
        **kw,  # type: ignore[arg-type]
    )


async def finished(uas: SippUas) -> int:
    return await asyncio.to_thread(uas.wait, 60)


def test_platform_sip_is_a_builtin_plugin() -> None:
    manager = PluginManager()
    manager.load_builtins()
    assert "sip" in manager.factories("platforms")


async def test_human_answer_is_transferred_to_the_pilot(sipp: str, tmp_path: Path) -> None:
    log_file = tmp_path / "uas.log"
    uas = answering_uas(
        "human_hello.ulaw", extra=["-trace_logs", "-log_file", str(log_file)]
    ).start(tmp_path)
    answered: list[datetime] = []
    amd = EnergyAmd()
    async with running_platform(sip_config(uas.address)) as platform:
        outcome = await platform.originate(call_request(amd=amd, answered=answered))
        assert platform.free_ports() == 4
    assert outcome.disposition is CallDisposition.TRANSFERRED, outcome
    assert status_for_outcome(outcome) is LeadStatus.SUCCESS
    assert outcome.amd is not None and outcome.amd.label is AmdLabel.HUMAN
    assert outcome.transfer_code == 200
    assert outcome.answered_at is not None and answered == [outcome.answered_at]
    assert outcome.created_at <= outcome.answered_at <= outcome.ended_at
    assert outcome.port == "port001"
    assert amd.fed_samples > 8000  # real answer audio reached the detector
    assert await finished(uas) == 0, uas.errors()
    assert "<sip:7000@dialer.test>" in log_file.read_text()


async def test_answering_machine_is_hung_up_with_status_amd(sipp: str, tmp_path: Path) -> None:
    uas = answering_uas("machine_greeting.ulaw").start(tmp_path)
    async with running_platform(sip_config(uas.address)) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
    assert outcome.disposition is CallDisposition.AMD_HANGUP, outcome
    assert outcome.amd is not None and outcome.amd.label is AmdLabel.MACHINE
    assert status_for_outcome(outcome) is LeadStatus.AMD
    assert await finished(uas) == 0, uas.errors()  # SIPp got our BYE


async def test_failed_transfer_hangs_up_with_failure(sipp: str, tmp_path: Path) -> None:
    uas = answering_uas("human_hello.ulaw", refer_result="503 Service Unavailable").start(tmp_path)
    async with running_platform(sip_config(uas.address)) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
    assert outcome.disposition is CallDisposition.TRANSFER_FAILED, outcome
    assert outcome.transfer_code == 503
    assert status_for_outcome(outcome) is LeadStatus.FAILURE
    assert await finished(uas) == 0, uas.errors()  # and we hung up with BYE


async def test_without_amd_the_call_is_transferred_on_answer(sipp: str, tmp_path: Path) -> None:
    uas = answering_uas("machine_greeting.ulaw").start(tmp_path)
    async with running_platform(sip_config(uas.address)) as platform:
        outcome = await platform.originate(call_request(amd=None))
    assert outcome.disposition is CallDisposition.TRANSFERRED, outcome
    assert outcome.amd is None
    assert status_for_outcome(outcome) is LeadStatus.SUCCESS
    assert await finished(uas) == 0, uas.errors()


async def test_ring_out_is_cancelled_after_the_no_answer_timeout(sipp: str, tmp_path: Path) -> None:
    uas = SippUas("uas_ring_cancel.xml", calls=1).start(tmp_path)
    async with running_platform(sip_config(uas.address)) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd(), no_answer_timeout_s=1.0))
    assert outcome.disposition is CallDisposition.NO_ANSWER, outcome
    assert outcome.sip_code == 487
    assert outcome.answered_at is None
    assert status_for_outcome(outcome) is LeadStatus.FAILURE
    assert await finished(uas) == 0, uas.errors()  # CANCEL, 487 and its ACK all seen


REJECTIONS = [
    ("uas_busy_486.xml", 486, LeadStatus.BUSY),
    ("uas_busy_600.xml", 600, LeadStatus.BUSY),
    ("uas_decline_603.xml", 603, LeadStatus.REJECTED),
    ("uas_tempunavail_480.xml", 480, LeadStatus.FAILURE),
    ("uas_timeout_408.xml", 408, LeadStatus.FAILURE),
    ("uas_notfound_404.xml", 404, LeadStatus.FAILURE),
    ("uas_addrincomplete_484.xml", 484, LeadStatus.FAILURE),
    ("uas_servererror_500.xml", 500, LeadStatus.SERVICE_TEMPORARILY_UNAVAILABLE),
    ("uas_unavailable_503.xml", 503, LeadStatus.SERVICE_TEMPORARILY_UNAVAILABLE),
]


async def test_every_final_response_gets_its_lead_status(sipp: str, tmp_path: Path) -> None:
    """One SIPp per response code, all dialled at once; each must see INVITE and ACK."""
    far_ends = [
        SippUas(scenario, calls=1, sets={"ring_ms": "200"}).start(tmp_path)
        for scenario, _, _ in REJECTIONS
    ]

    async def dial(uas: SippUas) -> object:
        async with running_platform(sip_config(uas.address, ports=1)) as platform:
            return await platform.originate(call_request(amd=EnergyAmd()))

    outcomes = await asyncio.gather(*(dial(uas) for uas in far_ends))
    for (scenario, code, status), outcome in zip(REJECTIONS, outcomes, strict=True):
        assert outcome.disposition is CallDisposition.FINAL_RESPONSE, (scenario, outcome)
        assert outcome.sip_code == code, scenario
        assert status_for_outcome(outcome) is status, scenario
    codes = await asyncio.gather(*(finished(uas) for uas in far_ends))
    assert codes == [0] * len(far_ends), [uas.errors() for uas in far_ends]


async def test_calls_over_tcp(sipp: str, tmp_path: Path) -> None:
    uas = answering_uas("human_hello.ulaw", transport="t1").start(tmp_path)
    async with running_platform(sip_config(uas.address, transport="tcp")) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
        # SIPp fails calls whose TCP connection closes: let it finish first
        assert await finished(uas) == 0, uas.errors()
    assert outcome.disposition is CallDisposition.TRANSFERRED, outcome


async def test_concurrent_calls_use_distinct_ports(sipp: str, tmp_path: Path) -> None:
    uas = SippUas(
        "uas_answer_rtp.xml",
        calls=6,
        keys={"audio": audio("machine_greeting.ulaw"), "refer_result": "200 OK"},
        sets={"ring_ms": "0"},
    ).start(tmp_path)
    async with running_platform(sip_config(uas.address, ports=6)) as platform:
        outcomes = await asyncio.gather(
            *(platform.originate(call_request(amd=EnergyAmd())) for _ in range(6))
        )
        assert platform.free_ports() == 6
    assert sorted(o.port for o in outcomes) == [f"port{i:03d}" for i in range(1, 7)]
    assert {o.disposition for o in outcomes} == {CallDisposition.AMD_HANGUP}
    assert await finished(uas) == 0, uas.errors()


@pytest.mark.parametrize(
    ("recording", "label", "status"),
    [
        ("human_hello.ulaw", AmdLabel.HUMAN, LeadStatus.SUCCESS),
        ("machine_greeting.ulaw", AmdLabel.MACHINE, LeadStatus.AMD),
    ],
)
async def test_with_the_product_amd_detector(
    sipp: str, tmp_path: Path, recording: str, label: AmdLabel, status: LeadStatus
) -> None:
    """The real ``amd_numpy`` strategy, fed the decoded answer audio from the wire."""
    from opendialer.plugins import amd_numpy

    strategy = amd_numpy.register_amd_strategies()["numpy"](context=None)
    uas = answering_uas(recording).start(tmp_path)
    async with running_platform(sip_config(uas.address)) as platform:
        outcome = await platform.originate(call_request(amd=strategy.new_session({})))
    assert outcome.amd is not None and outcome.amd.label is label, outcome
    assert status_for_outcome(outcome) is status
    assert await finished(uas) == 0, uas.errors()
