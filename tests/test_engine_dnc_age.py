"""DNC data age (issue 18 §4): a campaign whose compliance policy sets
``dnc_max_age_days`` is not dialed against an older Do-Not-Call list — an HTTP service
declares its list's date (``X-DNC-List-Date`` header or ``list_date`` field), the
embedded list's is its last import — nor one whose age is unknown: the schedule goes
DNC out of service, the reason naming the age, and comes back when the list is fresh."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import pytest
from engine_support import (
    add_schedule,
    dnc_campaign,
    records,
    run_round,
    schedule_state,
    started_engine,
)

from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.engine import Engine
from opendialer.core.services import campaign_compliance, dnc_numbers
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import Campaign, DncService
from opendialer.testing import FakeDncServer

pytestmark = pytest.mark.pg

PHONES = ["15550901", "15550902"]


async def _http_service(server: FakeDncServer) -> int:
    row = DncService(
        name="National registry",
        kind="http",
        url=server.url,
        ca_bundle=server.ca_pem,
        timeout_ms=5000,
        options={"retries": 0},
    )
    await row.save().run()
    return int(row.id)


async def test_an_old_list_holds_the_campaign_until_the_service_declares_a_fresh_one(
    db: Database,
) -> None:
    with FakeDncServer() as server:
        server.list_date = "2026-01-15"  # 46 days before the campaign's day (2 March)
        campaign = await dnc_campaign(await _http_service(server), PHONES)
        await campaign_compliance.update_policy(
            SYSTEM, campaign.campaign_id, {"dnc_max_age_days": 31}
        )
        async with started_engine(db, campaign.clock, mix={"busy": 1}) as engine:
            await run_round(engine, rounds=3)
            state, reason = await schedule_state(campaign.schedule_id)
            assert state == "DNC_OUT_OF_SERVICE"
            assert "'National registry' is 46.4 days old (dated 2026-01-15 00:00 UTC)" in reason
            assert "no older than 31 days" in reason
            assert await records(campaign.campaign_id) == []

            # The registry publishes a new list: the leader's probe brings the campaign back.
            server.list_date = "2026-02-27T06:00:00Z"
            await _until_running(engine, campaign.schedule_id)
            called = await records(campaign.campaign_id)
            assert {c["phone"] for c in called} == set(PHONES)
            assert all(c["dnc_result"] == "callable" for c in called)


async def test_a_date_in_the_answer_body_counts_and_an_undated_list_is_refused(
    db: Database,
) -> None:
    with FakeDncServer() as server:
        campaign = await dnc_campaign(await _http_service(server), PHONES)
        await campaign_compliance.update_policy(
            SYSTEM, campaign.campaign_id, {"dnc_max_age_days": 31}
        )
        async with started_engine(db, campaign.clock, mix={"busy": 1}) as engine:
            await run_round(engine, rounds=2)  # the service declares no date
            state, reason = await schedule_state(campaign.schedule_id)
            assert state == "DNC_OUT_OF_SERVICE"
            assert "does not say how old its list is" in reason

            server.list_date, server.list_date_in = "2026-03-01T22:00:00+00:00", "body"
            await _until_running(engine, campaign.schedule_id)
            assert len(await records(campaign.campaign_id)) == 2


async def test_a_campaign_without_an_age_rule_dials_whatever_the_lists_age(
    db: Database,
) -> None:
    with FakeDncServer() as server:
        server.list_date = "2020-01-01"
        campaign = await dnc_campaign(await _http_service(server), PHONES)
        async with started_engine(db, campaign.clock, mix={"busy": 1}) as engine:
            await run_round(engine, rounds=2)
            assert len(await records(campaign.campaign_id)) == 2


async def test_the_embedded_lists_age_is_its_last_import(db: Database) -> None:
    await dnc_numbers.import_numbers(SYSTEM, b"15550999\n", region="US")
    embedded = await DncService.select(DncService.id, DncService.list_updated_at).first().run()
    imported = embedded["list_updated_at"]
    assert abs(imported - datetime.now(UTC)) < timedelta(minutes=1)
    campaign = await dnc_campaign(embedded["id"], PHONES)
    await campaign_compliance.update_policy(SYSTEM, campaign.campaign_id, {"dnc_max_age_days": 31})

    # The engine's clock 40 days after the import: the list is too old.
    later = FakeClock(imported + timedelta(days=40))
    campaign.schedule_id = await _schedule_on(campaign.campaign_id, later.now())
    async with started_engine(db, later, mix={"busy": 1}) as engine:
        await run_round(engine, rounds=3)
        state, reason = await schedule_state(campaign.schedule_id)
        assert state == "DNC_OUT_OF_SERVICE"
        assert "'Embedded Service' is 40 days old" in reason
        assert await records(campaign.campaign_id) == []

    # 30 days after it: fresh enough.
    await (
        Campaign.update({Campaign.name: "Too late"})
        .where(Campaign.id == campaign.campaign_id)
        .run()
    )
    fresh = await dnc_campaign(embedded["id"], ["15550903"])
    await campaign_compliance.update_policy(SYSTEM, fresh.campaign_id, {"dnc_max_age_days": 31})
    soon = FakeClock(imported + timedelta(days=30))
    await _schedule_on(fresh.campaign_id, soon.now())
    async with started_engine(db, soon, mix={"busy": 1}) as engine:
        await run_round(engine, rounds=2)
        assert len(await records(fresh.campaign_id)) == 1


async def _until_running(engine: Engine, schedule_id: int) -> None:
    """Rounds until the leader's probe (a task of its own) has put the entry back."""
    for _ in range(20):
        await run_round(engine)
        await asyncio.gather(*engine.dnc_probes.tasks())
        if (await schedule_state(schedule_id))[0] == "RUNNING":
            await run_round(engine, rounds=2)
            return
    raise AssertionError(f"still {await schedule_state(schedule_id)}")


async def _schedule_on(campaign_id: int, instant: datetime) -> int:
    """A whole-day schedule entry on ``instant``'s UTC day (and dates that include it)."""
    day = instant.astimezone(UTC).date()
    await (
        Campaign.update({Campaign.end_date: day + timedelta(days=1)})
        .where(Campaign.id == campaign_id)
        .run()
    )
    return await add_schedule(campaign_id, day, time(0), time(23, 59, 59))
