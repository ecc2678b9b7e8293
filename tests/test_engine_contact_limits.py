"""Contact limits per number over every campaign (issue 18 §2), on the fake clock: the
attempts a number gets in a local day and in 30 days whichever campaign calls it, the
quiet period after an abandoned call (waived for a progressive campaign whose policy
allows it) and after an answering machine; a blocked lead is put off to when its limit
allows it, its reason on the lead API; two engine nodes never exceed a limit."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from api_client import PASSWORD, ApiClient
from engine_support import (
    add_leads,
    add_schedule,
    default_group_id,
    make_campaign,
    make_engine,
    run_round,
    utc,
)

from opendialer.core.engine.claims import ClaimedLead
from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.records import NewCallRecord, insert_call_records
from opendialer.core.services import campaign_compliance, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, Lead

pytestmark = pytest.mark.pg

DAY = date(2026, 3, 2)  # a Monday; São Paulo is UTC-3 all year
PHONES = ["5541983015031", "5541983015032"]


async def _campaign(name: str, phones: list[str], policy: dict[str, Any], **fields: Any) -> int:
    """A STARTED campaign in São Paulo dialing 06:00-23:00 on DAY and the next day,
    every call busy and retried at once (the limits alone hold the numbers back)."""
    fields = {"max_attempts": 20, "retry_after_minutes": 0, **fields}
    cid = await make_campaign(name=name, timezone="America/Sao_Paulo", **fields)
    for day in (DAY, DAY + timedelta(days=1)):
        await add_schedule(cid, day, time(6), time(23))
    await add_leads(cid, phones)
    await campaign_compliance.update_policy(SYSTEM, cid, policy)
    return cid


async def _calls_per_phone() -> dict[str, int]:
    rows = await CallRecord.select(CallRecord.phone).run()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["phone"]] = counts.get(row["phone"], 0) + 1
    return counts


async def _leads_api(app_client: ApiClient, cid: int) -> dict[str, dict[str, Any]]:
    admin = await app_client.login_as("campaign_admin", [await default_group_id()])
    r = await admin.get(f"/api/v1/campaigns/{cid}/leads")
    assert r.status_code == 200, r.text
    return {lead["phone"]: lead for lead in r.json()["items"]}


async def _earlier_call(phone: str, status: str, ended_at: datetime) -> None:
    """A call another campaign made to ``phone`` before (a call record, as the engine
    writes one)."""
    cid = await make_campaign(name=f"Earlier {uuid.uuid4().hex[:6]}", state="STOPPED")
    [lead_id] = await add_leads(cid, [phone])
    lead = ClaimedLead(lead_id, cid, "Earlier", phone, 0, status, ended_at)
    await insert_call_records(
        [
            NewCallRecord(
                lead,
                1,
                uuid.uuid4().hex,
                "earlier-node",
                created_at=ended_at - timedelta(seconds=20),
                ended_at=ended_at,
                disposition=status.lower(),
                status=status,
            )
        ]
    )


async def test_attempts_per_day_and_per_30_days_count_every_campaign(
    db: Database, app_client: ApiClient
) -> None:
    policy = {"max_attempts_per_day": 2, "max_attempts_per_30_days": 3}
    sales = await _campaign("Sales", PHONES, policy)
    renewals = await _campaign("Renewals", PHONES, policy)
    clock = FakeClock(utc(2026, 3, 2, 13, 0))  # 10:00 in São Paulo
    engine = make_engine(db, clock, mix={"busy": 1})
    await engine.start(run_loop=False)
    try:
        await run_round(engine, 4)
        # Both campaigns retry at once, yet each number was called twice today.
        assert await _calls_per_phone() == dict.fromkeys(PHONES, 2)
        leads = await _leads_api(app_client, renewals)
        tomorrow = "2026-03-03T03:00:00+00:00"  # midnight in São Paulo
        for phone in PHONES:
            deferred = leads[phone]["deferred"]
            assert deferred["code"] == "contact_limit_day", leads[phone]
            assert deferred["until"] == tomorrow and deferred["limit"] == 2
            assert deferred["count"] == 2 and deferred["timezone"] == "America/Sao_Paulo"
            assert leads[phone]["status"] == "BUSY"
            assert datetime.fromisoformat(str(leads[phone]["next_attempt_at"])) == (
                datetime.fromisoformat(tomorrow)
            )
        # Not dialed, so its attempts were not counted: four calls in all, two leads each.
        attempts = await Lead.select(Lead.attempts).where(Lead.campaign.is_in([sales, renewals]))
        assert sum(r["attempts"] for r in attempts) == 4

        # The next local day: one more call per number, then the 30-day limit.
        await clock.set(utc(2026, 3, 3, 13, 0))
        await run_round(engine, 4)
        assert await _calls_per_phone() == dict.fromkeys(PHONES, 3)
        month_later = "2026-04-01T13:00:00+00:00"  # the first call + 30 days
        for cid in (sales, renewals):
            for lead in (await _leads_api(app_client, cid)).values():
                if lead["deferred"] is None:
                    continue  # the lead dialed today: its retry came after the limit
                assert lead["deferred"]["code"] == "contact_limit_30d", lead
                assert lead["deferred"]["until"] == month_later
                assert lead["deferred"]["count"] == 3 and lead["deferred"]["limit"] == 3
        deferred = [
            lead
            for cid in (sales, renewals)
            for lead in (await _leads_api(app_client, cid)).values()
            if lead["deferred"]
        ]
        assert len(deferred) == 4  # every lead waits for the 30-day window
    finally:
        await engine.stop()


async def test_a_lead_dialed_again_has_its_deferral_cleared(db: Database) -> None:
    await _campaign("Sales", PHONES[:1], {"max_attempts_per_day": 1})
    clock = FakeClock(utc(2026, 3, 2, 13, 0))
    engine = make_engine(db, clock, mix={"busy": 1})
    await engine.start(run_loop=False)
    try:
        await run_round(engine, 3)
        [lead] = await Lead.select().run()
        assert lead["attempts"] == 1 and '"contact_limit_day"' in lead["deferred_reason"]
        await clock.set(utc(2026, 3, 3, 13, 0))
        await run_round(engine, 1)
        [lead] = await Lead.select().run()
        assert lead["attempts"] == 2 and lead["deferred_reason"] == ""  # dialed: cleared
        await run_round(engine, 1)
        [lead] = await Lead.select().run()
        # Retried at once, and put off again until tomorrow.
        assert lead["attempts"] == 2
        assert '"until": "2026-03-04T03:00:00+00:00"' in lead["deferred_reason"]
    finally:
        await engine.stop()


async def test_no_call_within_the_quiet_period_after_an_abandoned_call(
    db: Database, app_client: ApiClient
) -> None:
    abandoned_at = utc(2026, 3, 2, 12, 0)
    await _earlier_call(PHONES[0], "ABANDONED", abandoned_at)
    strict = await _campaign(
        "Strict",
        PHONES[:1],
        {"preset": "uk_ofcom", "safe_harbour_required": False},
        caller_id="554130150310",  # Ofcom's policy presents a caller ID
    )
    clock = FakeClock(utc(2026, 3, 2, 13, 0))
    engine = make_engine(db, clock, mix={"busy": 1})
    await engine.start(run_loop=False)
    try:
        await run_round(engine, 2)
        assert await _calls_per_phone() == {PHONES[0]: 1}  # only the abandoned call
        lead = (await _leads_api(app_client, strict))[PHONES[0]]
        assert lead["deferred"]["code"] == "after_abandon"
        assert lead["deferred"]["until"] == "2026-03-05T12:00:00+00:00"  # 72 hours later
        assert lead["attempts"] == 0 and lead["status"] == "NOT_CALLED"

        # The leads page says it too, in the viewer's language.
        viewer = await app_client.login_as(
            "campaign_admin", [await default_group_id()], cookie=True
        )
        await users.set_language(
            await users.authenticate(viewer.user["username"], PASSWORD), "pt_BR"
        )
        page = await viewer.get(f"/campaigns/{strict}/leads")
        assert page.status_code == 200, page.text
        assert (
            "Adiado até 2026-03-05 12:00 UTC: o intervalo após uma chamada abandonada" in page.text
        )
    finally:
        await engine.stop()


async def test_a_progressive_campaign_may_call_after_an_abandon_when_its_policy_allows(
    db: Database,
) -> None:
    """An agent is held for every progressive call: it cannot abandon the person."""
    await _earlier_call(PHONES[0], "ABANDONED", utc(2026, 3, 2, 12, 0))
    await _earlier_call(PHONES[1], "ABANDONED", utc(2026, 3, 2, 12, 0))
    policy = {"hours_after_abandon": 72, "abandon_retry_with_agent": True}
    await _campaign("With agent", PHONES[:1], policy, pacing_mode="progressive", max_attempts=1)
    await _campaign("Without", PHONES[1:], {**policy, "abandon_retry_with_agent": False})
    clock = FakeClock(utc(2026, 3, 2, 13, 0))
    engine = make_engine(db, clock, mix={"busy": 1})
    await engine.start(run_loop=False)
    try:
        await run_round(engine, 2)
        assert await _calls_per_phone() == {PHONES[0]: 2, PHONES[1]: 1}
    finally:
        await engine.stop()


async def test_a_gap_after_an_answering_machine(db: Database, app_client: ApiClient) -> None:
    await _earlier_call(PHONES[0], "AMD", utc(2026, 3, 2, 12, 50))
    cid = await _campaign("Gap", PHONES[:1], {"minutes_after_machine": 30}, max_attempts=1)
    clock = FakeClock(utc(2026, 3, 2, 13, 0))
    engine = make_engine(db, clock, mix={"busy": 1})
    await engine.start(run_loop=False)
    try:
        await run_round(engine, 2)
        lead = (await _leads_api(app_client, cid))[PHONES[0]]
        assert lead["deferred"]["code"] == "after_machine"
        assert lead["deferred"]["until"] == "2026-03-02T13:20:00+00:00"
        await clock.set(utc(2026, 3, 2, 13, 20))
        await run_round(engine, 1)
        assert await _calls_per_phone() == {PHONES[0]: 2}
        lead = (await _leads_api(app_client, cid))[PHONES[0]]
        assert lead["deferred"] is None and lead["attempts"] == 1
    finally:
        await engine.stop()


async def test_a_campaign_with_a_dnc_service_is_screened_before_the_check(
    db: Database, app_client: ApiClient
) -> None:
    from opendialer.core.storage.tables import DncService

    service = await DncService.select(DncService.id).first().run()  # the embedded one
    policy = {"max_attempts_per_day": 1}
    first = await _campaign("First", PHONES, policy, dnc_service=service["id"])
    second = await _campaign("Second", PHONES, policy, dnc_service=service["id"])
    clock = FakeClock(utc(2026, 3, 2, 13, 0))
    engine = make_engine(db, clock, mix={"busy": 1})
    await engine.start(run_loop=False)
    try:
        await run_round(engine, 3)
        assert await _calls_per_phone() == dict.fromkeys(PHONES, 1)
        leads = [
            *(await _leads_api(app_client, first)).values(),
            *(await _leads_api(app_client, second)).values(),
        ]
        assert sorted(bool(lead["deferred"]) for lead in leads) == [True, True, True, True]
        assert sum(lead["attempts"] for lead in leads) == 2
    finally:
        await engine.stop()


async def test_two_engine_nodes_never_exceed_the_daily_limit(db: Database) -> None:
    if not db.is_postgres:
        pytest.skip("several engine nodes need PostgreSQL (SQLite is the single-node backend)")
    phones = [f"55419830{i:05d}" for i in range(30)]
    policy = {"max_attempts_per_day": 1}
    for name in ("North", "South", "East"):
        await _campaign(name, phones, policy)
    clock = FakeClock(utc(2026, 3, 2, 13, 0))
    nodes = [make_engine(db, clock, mix={"busy": 1}, node_id=f"node-{n}", slots=4) for n in "ab"]
    for node in nodes:
        await node.start(run_loop=False)
    try:
        for _ in range(20):
            await asyncio.gather(*(node.tick() for node in nodes))
            await asyncio.gather(*(node.drain() for node in nodes))
        counts = await _calls_per_phone()
        assert counts == dict.fromkeys(phones, 1)
        by_node = await CallRecord.select(CallRecord.node).distinct().run()
        assert {r["node"] for r in by_node} == {"node-a", "node-b"}  # both dialed
    finally:
        for node in nodes:
            await node.stop()
