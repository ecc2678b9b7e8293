"""Calling hours in the lead's own time (issue 18 §1) on the fake clock: the engine
claims only leads whose every zone is open; a closed zone's leads stay due and are
called when it opens; a number that spans zones waits for the intersection; holidays
close every zone; the campaign says why it waits; DST in both hemispheres."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from engine_support import add_schedule, make_campaign, make_engine, run_round, utc

from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.local_hours import key_open
from opendialer.core.services import campaign_compliance, compliance_policy, lead_import
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, Campaign, Lead, Schedule

pytestmark = pytest.mark.pg  # the claim's per-zone reads, on both backends

#: Monday 2 March 2026: New York on standard time (UTC-5), Brazil without DST.
DAY = date(2026, 3, 2)
LEADS = (
    "name,phone,region,timezone\n"
    "SaoPaulo,554183015031,,\n"  # America/Sao_Paulo, UTC-3, from the number
    "Manaus,5592991234567,,\n"  # America/Manaus, UTC-4, from the number
    "Amazonas,5511987654321,AM,\n"  # Eirunepe (UTC-5) and Manaus (UTC-4): both must be open
    "RioBranco,5511987654322,,America/Rio_Branco\n"  # UTC-5, from the column
    "NewYork,+1 212 555 0143,,\n"  # America/New_York, UTC-5 in March before the 8th
)


async def _campaign(tmp_path: Path, **policy: object) -> int:
    cid = await make_campaign(
        timezone="America/Sao_Paulo", default_region="BR", max_attempts=1, state="STOPPED"
    )
    # The campaign's own window is wide (06:00-23:00 São Paulo): the policy decides.
    await add_schedule(cid, DAY, time(6), time(23))
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text(LEADS)
    await lead_import.import_file(SYSTEM, cid, csv_path)
    await campaign_compliance.update_policy(SYSTEM, cid, dict(policy))
    await Campaign.update({Campaign.state: "STARTED"}).where(Campaign.id == cid).run()
    return cid


async def _called(cid: int) -> set[str]:
    rows = (
        await CallRecord.select(CallRecord.lead.name)
        .where(CallRecord.campaign == cid)
        .output(nested=True)
        .run()
    )
    return {r["lead"]["name"] for r in rows}


async def test_each_lead_is_called_only_inside_its_own_local_hours(
    db: Database, tmp_path: Path
) -> None:
    cid = await _campaign(
        tmp_path,
        local_hours={day: ["09:00-18:00"] for day in compliance_policy.WEEKDAYS},
    )
    clock_start = utc(2026, 3, 2, 11, 30)  # 08:30 São Paulo: every zone closed
    clock = FakeClock(clock_start)
    engine = make_engine(db, clock, mix={"busy": 1})
    await engine.start(run_loop=False)
    try:
        await run_round(engine, 2)
        assert await _called(cid) == set()
        # The campaign says why it waits, and when the first zone opens.
        reason = (await Schedule.select(Schedule.reason).where(Schedule.campaign == cid).run())[0]
        assert '"local_hours_closed"' in reason["reason"]
        assert "2026-03-02 09:00 America/Sao_Paulo" in reason["reason"]
        leads = await Lead.select(Lead.next_attempt_at).where(Lead.campaign == cid).run()
        assert all(lead["next_attempt_at"] is not None for lead in leads)  # due, untouched

        await clock.set(utc(2026, 3, 2, 12, 0))  # 09:00 São Paulo, 08:00 Manaus
        await run_round(engine, 2)
        assert await _called(cid) == {"SaoPaulo"}

        await clock.set(utc(2026, 3, 2, 13, 0))  # 09:00 Manaus, 08:00 Eirunepé
        await run_round(engine, 2)
        # Amazonas spans Manaus and Eirunepé: not yet, though Manaus is open.
        assert await _called(cid) == {"SaoPaulo", "Manaus"}

        await clock.set(utc(2026, 3, 2, 14, 0))  # 09:00 in Eirunepé, Rio Branco, New York
        await run_round(engine, 2)
        assert await _called(cid) == {"SaoPaulo", "Manaus", "Amazonas", "RioBranco", "NewYork"}
        # Nobody was dialed twice, and every call started inside its lead's window.
        rows = await CallRecord.select(CallRecord.lead, CallRecord.created_at).run()
        assert len({r["lead"] for r in rows}) == len(rows) == 5
    finally:
        await engine.stop()


async def test_a_holiday_closes_every_zone(db: Database, tmp_path: Path) -> None:
    """Tiradentes (21 April, a Brazilian national holiday): nothing is dialed all day;
    the campaign's own extra days off too."""
    cid = await _campaign(tmp_path, holiday_calendars=["BR"], holiday_dates=["2026-03-02"])
    clock = FakeClock(utc(2026, 3, 2, 15, 0))
    engine = make_engine(db, clock, mix={"busy": 1})
    await engine.start(run_loop=False)
    try:
        await run_round(engine, 2)
        assert await _called(cid) == set()
        # The next day (no schedule here) would open: the reason says when.
        reason = (await Schedule.select(Schedule.reason).where(Schedule.campaign == cid).run())[0]
        assert '"local_hours_closed"' in reason["reason"]
        assert "2026-03-03" in reason["reason"]
    finally:
        await engine.stop()
    days = campaign_compliance.skipped_days(
        compliance_policy.build({"holiday_calendars": ["BR"]}).policy,
        [date(2026, 4, 20), date(2026, 4, 21)],
        "pt_BR",
    )
    assert list(days) == [date(2026, 4, 21)]
    assert "Tiradentes" in days[date(2026, 4, 21)][0]


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        # New York springs forward on 8 March 2026: 09:00 local is 14:00 UTC the day
        # before and 13:00 UTC the day after.
        ("America/New_York", utc(2026, 3, 7, 14, 0), utc(2026, 3, 9, 13, 0)),
        # Santiago (southern hemisphere) falls back on 5 April 2026 (UTC-3 → UTC-4).
        ("America/Santiago", utc(2026, 4, 4, 12, 0), utc(2026, 4, 6, 13, 0)),
        # Sydney falls back on 5 April 2026 (UTC+11 → UTC+10).
        ("Australia/Sydney", utc(2026, 4, 3, 22, 0), utc(2026, 4, 5, 23, 0)),
    ],
)
async def test_local_hours_follow_daylight_saving_in_both_hemispheres(
    zone: str, before: datetime, after: datetime
) -> None:
    policy = compliance_policy.build(
        {"local_hours": {day: ["09:00-21:00"] for day in compliance_policy.WEEKDAYS}}
    ).policy
    for opening in (before, after):
        assert key_open(policy, zone, "UTC", opening), (zone, opening)
        earlier = opening - timedelta(minutes=1)
        assert not key_open(policy, zone, "UTC", earlier), (zone, earlier)
