"""Do-Not-Call in a running campaign (the engine with the simulated platform): the
embedded list and a real HTTPS service block numbers; an outage of the service
holds dialing (DNC_OUT_OF_SERVICE) and recovery resumes it by itself."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from engine_support import (
    dnc_campaign,
    leads_by_phone,
    records,
    run_round,
    schedule_state,
    started_engine,
)

from opendialer.core.services import dnc_numbers
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import DncService
from opendialer.testing import FakeDncServer

pytestmark = pytest.mark.pg

BLOCKED = "5541981021119"
FREE = ["5541981021120", "5541981021121"]


@pytest.fixture
def server() -> Iterator[FakeDncServer]:
    with FakeDncServer(blocked={BLOCKED}) as fake:
        yield fake


async def test_embedded_list_blocks_a_lead(db: Database) -> None:
    await dnc_numbers.import_numbers(SYSTEM, f"{BLOCKED}\n".encode())
    embedded = await dnc_numbers.find_service()
    campaign = await dnc_campaign(embedded["id"], [BLOCKED, *FREE])
    cid = campaign.campaign_id
    async with started_engine(db, campaign.clock, mix={"human": 1}) as engine:
        await run_round(engine, rounds=2)
    leads = await leads_by_phone(cid)
    assert leads[BLOCKED]["status"] == "DO_NOT_CALL"
    assert {leads[p]["status"] for p in FREE} == {"SUCCESS"}
    [blocked] = [c for c in await records(cid) if c["phone"] == BLOCKED]
    assert blocked["dnc_service"] == "Embedded Service" and blocked["dnc_result"] == "blocked"
    assert engine.platform.calls == 2  # type: ignore[attr-defined]


async def test_https_service_outage_holds_dialing_and_recovery_resumes_it(
    db: Database, server: FakeDncServer
) -> None:
    service = DncService(
        name="Registry",
        kind="http",
        url=server.url,
        ca_bundle=server.ca_pem,
        timeout_ms=500,
        options={"retries": 0, "breaker_failures": 2, "breaker_reset_s": 0.05},
    )
    await service.save().run()
    campaign = await dnc_campaign(service.id, [BLOCKED, *FREE])
    cid, entry = campaign.campaign_id, campaign.schedule_id
    async with started_engine(db, campaign.clock, mix={"human": 1}, slots=1) as engine:
        server.stop()  # outage before the first check
        await run_round(engine, rounds=3)
        state, reason = await schedule_state(entry)
        assert state == "DNC_OUT_OF_SERVICE"
        assert "Registry" in reason and ("cannot connect" in reason or "circuit open" in reason)
        assert await records(cid) == [] and engine.platform.calls == 0  # type: ignore[attr-defined]

        server.start()  # it answers again, same port
        # Recovery involves real time (the breaker's cool-down, the first TLS connection
        # after the restart): give it rounds until the free leads are done, with a bound.
        for _ in range(40):
            await asyncio.sleep(0.1)
            await run_round(engine)
            leads = await leads_by_phone(cid)
            if {leads[p]["status"] for p in FREE} == {"SUCCESS"}:
                break
        assert (await schedule_state(entry))[0] == "RUNNING"
        leads = await leads_by_phone(cid)
        assert leads[BLOCKED]["status"] == "DO_NOT_CALL"
        assert {leads[p]["status"] for p in FREE} == {"SUCCESS"}
        assert engine.platform.calls == 2  # type: ignore[attr-defined]
