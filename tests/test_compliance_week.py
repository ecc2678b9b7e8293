"""A simulated week of two campaigns under compliance policies (issue 18, "How it is
proven"), on the fake clock with two engine nodes on PostgreSQL: leads in four time
zones of two countries, the same numbers in both campaigns, every call busy so that
leads are retried all week. Checked on what the dialer stored: no call outside its
lead's local hours, on a holiday or over a number's daily limit, New York's move to
summer time followed, and every deferral in the audit trail with its reason."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from engine_support import add_schedule, make_campaign, make_engine, utc

from opendialer.core.engine.clock import FakeClock
from opendialer.core.services import campaign_compliance, lead_import
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import AuditEvent, CallRecord, Campaign, Lead

pytestmark = pytest.mark.pg

#: Thursday 5 March to Wednesday 11 March 2026: New York moves to summer time on
#: Sunday the 8th (UTC-5 → UTC-4); Brazil keeps UTC-3 and UTC-4.
FIRST_DAY = date(2026, 3, 5)
DAYS = 7
LEADS = (
    "name,phone\n"
    "Sao Paulo 1,5511987650001\n"
    "Sao Paulo 2,5511987650002\n"
    "Manaus 1,5592987650001\n"
    "Manaus 2,5592987650002\n"
    "New York 1,+1 212 555 0101\n"
    "New York 2,+1 212 555 0102\n"
    "Los Angeles 1,+1 213 555 0101\n"
    "Los Angeles 2,+1 213 555 0102\n"
)
WEEKDAY_HOURS = ["09:00-18:00"]
POLICY = {
    "preset": "custom",
    "local_hours": {
        **{d: WEEKDAY_HOURS for d in ("mon", "tue", "wed", "thu", "fri")},
        "sat": ["10:00-14:00"],
        "sun": [],
    },
    "max_attempts_per_day": 2,
}
#: The Brazilian campaign's own day off, in each lead's own date.
DAY_OFF = date(2026, 3, 10)


async def _campaign(name: str, zone: str, region: str, tmp_path: Path, policy: dict) -> int:
    cid = await make_campaign(
        name=name,
        timezone=zone,
        default_region=region,
        max_attempts=50,
        retry_after_minutes=30,
        state="STOPPED",
    )
    for n in range(-1, DAYS + 1):
        await add_schedule(cid, FIRST_DAY + timedelta(days=n), time(0), time(23, 59))
    path = tmp_path / f"{name}.csv"
    path.write_text(LEADS)
    await lead_import.import_file(SYSTEM, cid, path)
    await campaign_compliance.update_policy(SYSTEM, cid, policy)
    await Campaign.update({Campaign.state: "STARTED"}).where(Campaign.id == cid).run()
    return cid


def _allowed(local: datetime, days_off: set[date]) -> bool:
    if local.date() in days_off:
        return False
    spans = {5: [(time(10), time(14))], 6: []}.get(local.weekday(), [(time(9), time(18))])
    return any(start <= local.time() < end for start, end in spans)


async def test_a_week_of_two_campaigns_keeps_every_rule(db: Database, tmp_path: Path) -> None:
    if not db.is_postgres:
        pytest.skip("several engine nodes need PostgreSQL (SQLite is the single-node backend)")
    brazil = await _campaign(
        "Brasil",
        "America/Sao_Paulo",
        "BR",
        tmp_path,
        {**POLICY, "holiday_dates": [DAY_OFF.isoformat()]},
    )
    usa = await _campaign("USA", "America/New_York", "US", tmp_path, POLICY)
    clock = FakeClock(utc(2026, 3, 5, 0, 0))
    nodes = [make_engine(db, clock, mix={"busy": 1}, node_id=f"node-{n}", slots=6) for n in "ab"]
    for node in nodes:
        await node.start(run_loop=False)
    try:
        for _ in range(DAYS * 24 * 2):  # every half hour of the week
            for _ in range(2):
                await asyncio.gather(*(node.tick() for node in nodes))
                await asyncio.gather(*(node.drain() for node in nodes))
            await clock.advance(1800)
    finally:
        for node in nodes:
            await node.stop()

    rows = (
        await CallRecord.select(
            CallRecord.campaign,
            CallRecord.phone,
            CallRecord.created_at,
            CallRecord.node,
            CallRecord.lead.timezone,
        )
        .output(nested=True)
        .run()
    )
    assert len(rows) > 60, len(rows)
    assert {r["node"] for r in rows} == {"node-a", "node-b"}
    per_local_day: Counter[tuple[str, date]] = Counter()
    new_york_summer_morning = 0
    for r in rows:
        zones = r["lead"]["timezone"].split()
        days_off = {DAY_OFF} if r["campaign"] == brazil else set()
        for zone in zones:
            local = r["created_at"].astimezone(ZoneInfo(zone))
            assert _allowed(local, days_off), (r["phone"], zone, local, r["campaign"])
        first = r["created_at"].astimezone(ZoneInfo(zones[0]))
        per_local_day[(r["phone"], first.date())] += 1
        if zones == ["America/New_York"] and first.date() == date(2026, 3, 9):
            # 09:00 EDT is 13:00 UTC: dialed an hour earlier in UTC than the week before
            new_york_summer_morning += r["created_at"].hour == 13
    assert max(per_local_day.values()) <= 2, per_local_day.most_common(3)
    assert new_york_summer_morning > 0
    # Both campaigns dialed the shared numbers, and no number went uncalled on a workday.
    assert {r["campaign"] for r in rows} == {brazil, usa}
    assert len({r["phone"] for r in rows}) == 8
    # Every deferral is in the audit trail with its rule and until when; every lead
    # still put off at the end has its row, and every started attempt one too.
    audit = await AuditEvent.select().run()
    deferrals = [a for a in audit if a["kind"] == "deferred"]
    assert deferrals, "the daily limit never deferred a lead"
    details = [json.loads(a["detail"]) for a in deferrals]
    assert {d["rule"] for d in details} == {"contact_limit_day"}
    assert all(d["until"] and d["limit"] == 2 for d in details), details[:3]
    audited = {(a["lead"], d["until"][:19]) for a, d in zip(deferrals, details, strict=True)}
    for lead in await Lead.select(Lead.id, Lead.deferred_reason).run():
        if lead["deferred_reason"]:
            until = json.loads(lead["deferred_reason"])["until"][:19]
            assert (lead["id"], until) in audited, lead
    started = [a for a in audit if a["kind"] == "attempt_started"]
    assert len(started) == len(rows)
