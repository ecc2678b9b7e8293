"""Schedule windows and states on a fake clock: zones, midnight, DST, edits, the end."""

from __future__ import annotations

from datetime import date, time

from engine_support import (
    add_leads,
    add_schedule,
    make_campaign,
    make_engine,
    records,
    run_round,
    schedule_state,
    utc,
)

from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.window import window_for
from opendialer.core.plugins import PluginManager
from opendialer.core.storage import Database
from opendialer.core.storage.tables import Campaign, Schedule
from opendialer.sdk.hookspecs import hookimpl


def test_spring_forward_window_inside_the_missing_hour_opens_at_the_jump() -> None:
    # New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    window = window_for(date(2026, 3, 8), time(2, 30), time(3, 30), "America/New_York")
    assert window.opens == utc(2026, 3, 8, 7, 0)
    assert window.closes == utc(2026, 3, 8, 7, 30)


def test_fall_back_window_closes_at_the_first_occurrence_and_never_reopens() -> None:
    # New York, 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:00-01:59 happens twice.
    window = window_for(date(2026, 11, 1), time(0, 30), time(1, 30), "America/New_York")
    assert window.opens == utc(2026, 11, 1, 4, 30)
    assert window.closes == utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    assert not window.contains(utc(2026, 11, 1, 6, 10))  # 01:10 EST, the second time round
    # A whole working day across the change lasts 9 hours of real time, not 8.
    day = window_for(date(2026, 11, 1), time(0, 0), time(8, 0), "America/New_York")
    assert (day.closes - day.opens).total_seconds() == 9 * 3600


async def test_states_follow_the_window_and_the_campaign_stops_when_its_schedule_ends(
    db: Database,
) -> None:
    events: list[tuple[str, str, str]] = []

    class Observer:
        @hookimpl
        def campaign_state_changed(self, campaign, old_state, new_state, reason):
            events.append((old_state, new_state, reason))

    pm = PluginManager().load_all()
    pm.register(Observer(), name="observer")
    clock = FakeClock(utc(2026, 3, 2, 8, 59))
    cid = await make_campaign(timezone="America/Sao_Paulo")  # UTC-3, no DST in 2026
    yesterday = await add_schedule(cid, date(2026, 3, 1))
    today = await add_schedule(cid, date(2026, 3, 2), time(9), time(10))
    await add_leads(cid, ["15550401"])
    engine = make_engine(db, clock, pm=pm, mix={"busy": 1})
    await engine.start(run_loop=False)
    try:
        await clock.set(utc(2026, 3, 2, 11, 59))  # 08:59 local
        await run_round(engine)
        assert await schedule_state(yesterday) == ("FINISHED", "")
        assert (await schedule_state(today))[0] == "NOT_RUNNING"
        assert await records(cid) == []
        await clock.advance(60)  # 09:00 local
        await run_round(engine)
        assert (await schedule_state(today))[0] == "RUNNING"
        assert len(await records(cid)) == 1
        await clock.advance(3600)  # 10:00 local: window over, nothing left to run
        await run_round(engine)
        assert (await schedule_state(today))[0] == "FINISHED"
        state = await Campaign.select(Campaign.state, Campaign.state_reason).first().run()
        assert state == {"state": "STOPPED", "state_reason": "schedule ended"}
        assert events == [("STARTED", "STOPPED", "schedule ended")]
    finally:
        await engine.stop()


async def test_midnight_belongs_to_the_next_day_in_the_campaign_zone(db: Database) -> None:
    clock = FakeClock(utc(2026, 3, 3, 2, 59))  # Monday 23:59 in São Paulo
    cid = await make_campaign(timezone="America/Sao_Paulo")
    monday = await add_schedule(cid, date(2026, 3, 2), time(9), time(17))
    tuesday = await add_schedule(cid, date(2026, 3, 3), time(0), time(6))
    await add_leads(cid, ["15550501"])
    engine = make_engine(db, clock, mix={"human": 1})
    await engine.start(run_loop=False)
    try:
        await run_round(engine)
        assert await records(cid) == []
        assert (await schedule_state(monday))[0] == "FINISHED"
        await clock.advance(60)  # Tuesday 00:00 local = 03:00 UTC
        await run_round(engine)
        assert (await schedule_state(tuesday))[0] == "RUNNING"
        assert len(await records(cid)) == 1
    finally:
        await engine.stop()


async def edit_while_stopped(campaign_id: int, entry: int, end: time) -> None:
    await Campaign.update({Campaign.state: "STOPPED"}).where(Campaign.id == campaign_id).run()
    await Schedule.update({Schedule.end_time: end}).where(Schedule.id == entry).run()
    await Campaign.update({Campaign.state: "STARTED"}).where(Campaign.id == campaign_id).run()


async def test_a_schedule_edited_while_leads_are_due_takes_effect_at_once(db: Database) -> None:
    clock = FakeClock(utc(2026, 3, 2, 12, 0))
    cid = await make_campaign()
    entry = await add_schedule(cid, date(2026, 3, 2), time(9), time(17))
    await add_schedule(cid, date(2026, 3, 3), time(9), time(17))
    await add_leads(cid, [f"1555060{i}" for i in range(6)])
    engine = make_engine(db, clock, slots=2, mix={"busy": 1})
    await engine.start(run_loop=False)
    try:
        await run_round(engine)
        assert len(await records(cid)) == 2
        # Edits happen while the campaign is stopped (the product's rule); today's entry
        # edited to end at 11:00 is closed when the campaign starts again: leads wait.
        await edit_while_stopped(cid, entry, time(11))
        await run_round(engine, rounds=2)
        assert (await schedule_state(entry))[0] == "FINISHED"
        assert len(await records(cid)) == 2
        # Edited again to 18:00: open again, dialing resumes where it stopped.
        await edit_while_stopped(cid, entry, time(18))
        await run_round(engine, rounds=2)
        assert (await schedule_state(entry))[0] == "RUNNING"
        assert len(await records(cid)) == 6
    finally:
        await engine.stop()


async def test_manual_stop_holds_the_window_and_start_resumes_it(db: Database) -> None:
    clock = FakeClock(utc(2026, 3, 2, 12, 0))
    cid = await make_campaign()
    entry = await add_schedule(cid, date(2026, 3, 2))
    await add_leads(cid, ["15550701", "15550702"])
    engine = make_engine(db, clock, slots=1, mix={"busy": 1})
    await engine.start(run_loop=False)
    try:
        await run_round(engine)
        assert len(await records(cid)) == 1
        await Campaign.update({Campaign.state: "STOPPED"}).where(Campaign.id == cid).run()
        await run_round(engine, rounds=2)
        assert await schedule_state(entry) == ("NOT_RUNNING", "campaign stopped")
        assert len(await records(cid)) == 1
        await Campaign.update({Campaign.state: "STARTED"}).where(Campaign.id == cid).run()
        await run_round(engine, rounds=2)
        assert (await schedule_state(entry))[0] == "RUNNING"
        assert len(await records(cid)) == 2
    finally:
        await engine.stop()
