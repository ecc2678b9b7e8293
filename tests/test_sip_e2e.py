"""End to end: campaign → engine → SIP platform → SIPp → lead status and call record.

Every row of the outcome table is dialled by the real engine (fake clock inside
the schedule window) through ``SipPlatform`` to a SIPp far end playing that
outcome; the lead's status and its call record are read back from the
database (SQLite and PostgreSQL). One engine run per outcome, because one
platform talks to one SIP server and SIPp plays one scenario per port.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from engine_support import add_leads, add_schedule, leads_by_phone, make_campaign, records, utc
from sip_helpers import EnergyPlugin, sip_config
from sipp_far_end import SippUas, audio, ensure_sipp

from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.engine import Engine
from opendialer.core.plugins import PluginManager
from opendialer.core.storage import Database
from opendialer.plugins.platform_sip import SipPlatform

pytestmark = [pytest.mark.sip, pytest.mark.slow, pytest.mark.timeout(600)]


def answering(recording: str, refer_result: str = "200 OK") -> SippUas:
    return SippUas(
        "uas_answer_rtp.xml",
        calls=1,
        keys={"audio": audio(recording), "refer_result": refer_result},
        sets={"ring_ms": "200"},
    )


def rejecting(scenario: str) -> SippUas:
    return SippUas(scenario, calls=1, sets={"ring_ms": "100"})


# (far end, campaign fields, lead status, call record fields)
CASES: list[tuple[str, Any, dict[str, Any], str, dict[str, Any]]] = [
    ("human", lambda: answering("human_hello.ulaw"), {}, "SUCCESS",
     {"disposition": "transferred", "amd_verdict": "HUMAN", "transfer_result": "200", "sip_code": 200}),
    ("machine", lambda: answering("machine_greeting.ulaw"), {}, "AMD",
     {"disposition": "amd_hangup", "amd_verdict": "MACHINE", "transfer_result": None}),
    ("transfer 503", lambda: answering("human_hello.ulaw", "503 Service Unavailable"), {}, "FAILURE",
     {"disposition": "transfer_failed", "amd_verdict": "HUMAN", "transfer_result": "503"}),
    ("ring-out", lambda: SippUas("uas_ring_cancel.xml", calls=1), {"no_answer_timeout_s": 1}, "FAILURE",
     {"disposition": "no_answer", "sip_code": 487, "answered_at": None}),
    ("486", lambda: rejecting("uas_busy_486.xml"), {}, "BUSY", {"sip_code": 486}),
    ("600", lambda: rejecting("uas_busy_600.xml"), {}, "BUSY", {"sip_code": 600}),
    ("603", lambda: rejecting("uas_decline_603.xml"), {}, "REJECTED", {"sip_code": 603}),
    ("480", lambda: rejecting("uas_tempunavail_480.xml"), {}, "FAILURE", {"sip_code": 480}),
    ("408", lambda: rejecting("uas_timeout_408.xml"), {}, "FAILURE", {"sip_code": 408}),
    ("404", lambda: rejecting("uas_notfound_404.xml"), {}, "FAILURE", {"sip_code": 404}),
    ("484", lambda: rejecting("uas_addrincomplete_484.xml"), {}, "FAILURE", {"sip_code": 484}),
    ("500", lambda: rejecting("uas_servererror_500.xml"), {}, "SERVICE_TEMPORARILY_UNAVAILABLE", {"sip_code": 500}),
    ("503", lambda: rejecting("uas_unavailable_503.xml"), {}, "SERVICE_TEMPORARILY_UNAVAILABLE", {"sip_code": 503}),
]  # fmt: skip


async def test_every_outcome_from_campaign_to_lead_status(db: Database, tmp_path: Path) -> None:
    ensure_sipp()
    pm = PluginManager().load_all()
    pm.register(EnergyPlugin(), name="sip_energy_test")
    clock = FakeClock(utc(2026, 3, 2, 10, 0))
    far_ends = [make() for _, make, _, _, _ in CASES]
    for uas in far_ends:
        uas.start(tmp_path)
    failures: list[str] = []
    for (name, _, fields, status, record), uas in zip(CASES, far_ends, strict=True):
        cid = await make_campaign(
            name=f"SIP {name}",
            amd_enabled=True,
            amd_params={"strategy": "sip_energy_test", "on_notsure": "hangup"},
            pilot_number="7000",
            **fields,
        )
        await add_schedule(cid, date(2026, 3, 2))
        number = "5551234"
        await add_leads(cid, [number])
        platform = SipPlatform(
            {"config": sip_config(uas.address, ports=2), "bind_host": "127.0.0.1"}
        )
        engine = Engine(
            db,
            f"sip-e2e-{name.replace(' ', '-')}",
            clock,
            platform,
            routing_options={"static": {"slots": 5}},
            plugin_manager=pm,
        )
        await engine.start(run_loop=False)
        try:
            await engine.tick()
            await engine.drain()
        finally:
            await engine.stop()
        lead = (await leads_by_phone(cid))[number]
        calls = await records(cid)
        if lead["status"] != status or len(calls) != 1:
            failures.append(f"{name}: lead {lead['status']} (want {status}), {len(calls)} records")
            continue
        call = calls[0]
        wrong = {k: (call[k], v) for k, v in record.items() if call[k] != v}
        if wrong or call["status"] != status or call["port"] != "port001":
            failures.append(f"{name}: record {wrong} status {call['status']} port {call['port']}")
        if status != "SUCCESS" and lead["next_attempt_at"] is None:
            failures.append(f"{name}: an unsuccessful lead must be due again")
    assert not failures, failures
    codes = [await asyncio.to_thread(uas.wait, 60) for uas in far_ends]
    assert codes == [0] * len(far_ends), [u.errors() for u in far_ends]
