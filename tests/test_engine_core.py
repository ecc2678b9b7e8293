"""The engine's core loop on a fake clock: outcomes, call records, retries, hooks."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from engine_support import (
    add_leads,
    add_schedule,
    leads_by_phone,
    make_campaign,
    make_engine,
    records,
    run_round,
    utc,
)

from opendialer.core.engine.clock import FakeClock
from opendialer.core.plugins import PluginManager
from opendialer.core.storage import Database
from opendialer.core.storage.tables import Lead
from opendialer.sdk.hookspecs import hookimpl

pytestmark = pytest.mark.pg

MONDAY = date(2026, 3, 2)


async def test_each_outcome_maps_to_its_status_and_failures_retry_after_the_delay(
    db: Database,
) -> None:
    clock = FakeClock(utc(2026, 3, 2, 10, 0))
    cid = await make_campaign(retry_after_minutes=30, max_attempts=3)
    await add_schedule(cid, MONDAY)
    script = {
        "15550001": ["human"],
        "15550002": ["busy", "human"],
        "15550003": ["rejected", "busy", "busy"],
        "15550004": ["no_answer"],
        "15550005": ["unavailable"],
        "15550006": ["machine"],
    }
    await add_leads(cid, list(script))
    engine = make_engine(db, clock, script=script)
    await engine.start(run_loop=False)
    try:
        await run_round(engine)
        leads = await leads_by_phone(cid)
        status = {p: lead["status"] for p, lead in leads.items()}
        assert status == {
            "15550001": "SUCCESS",
            "15550002": "BUSY",
            "15550003": "REJECTED",
            "15550004": "FAILURE",
            "15550005": "SERVICE_TEMPORARILY_UNAVAILABLE",
            "15550006": "SUCCESS",  # AMD off: a machine is transferred like a person
        }
        assert all(lead["attempts"] == 1 for lead in leads.values())
        assert leads["15550001"]["next_attempt_at"] is None  # SUCCESS is final
        assert leads["15550002"]["next_attempt_at"] == utc(2026, 3, 2, 10, 30)
        calls = await records(cid)
        assert len(calls) == 6
        assert {c["status"] for c in calls} == set(status.values())
        by_phone = {c["phone"]: c for c in calls}
        assert by_phone["15550002"]["sip_code"] == 486
        assert by_phone["15550003"]["sip_code"] == 603
        assert by_phone["15550001"]["transfer_result"] == "200"
        assert all(c["attempt"] == 1 and c["node"] == "test-node" for c in calls)
        assert all(c["port"].startswith("sim-") for c in calls)

        # Not due yet: nothing is dialed before the retry delay is over.
        await clock.advance(29 * 60)
        await run_round(engine)
        assert len(await records(cid)) == 6

        await clock.advance(60)
        await run_round(engine)
        leads = await leads_by_phone(cid)
        assert leads["15550002"]["status"] == "SUCCESS"
        assert leads["15550002"]["attempts"] == 2
        assert leads["15550003"]["attempts"] == 2
        assert len(await records(cid)) == 10

        # The third attempt is the last: max_attempts=3, then no next attempt.
        await clock.advance(30 * 60)
        await run_round(engine)
        leads = await leads_by_phone(cid)
        assert leads["15550003"]["attempts"] == 3
        assert leads["15550003"]["status"] == "BUSY"
        assert leads["15550003"]["next_attempt_at"] is None
        await clock.advance(3 * 3600)
        await run_round(engine)
        assert (await leads_by_phone(cid))["15550003"]["attempts"] == 3
    finally:
        await engine.stop()


async def test_pacing_never_exceeds_the_routing_slots(db: Database) -> None:
    clock = FakeClock(utc(2026, 3, 2, 10, 0))
    cid = await make_campaign()
    await add_schedule(cid, MONDAY)
    await add_leads(cid, [f"1555100{i:02d}" for i in range(25)])
    engine = make_engine(db, clock, slots=4, mix={"human": 1})
    await engine.start(run_loop=False)
    try:
        await engine.tick()
        assert engine.in_flight_total() == 4
        await engine.drain()
        assert len(await records(cid)) == 4
        await run_round(engine, rounds=6)
        assert len(await records(cid)) == 25
        assert engine.metrics.snapshot()["originated"] == 25
    finally:
        await engine.stop()


async def test_event_hooks_fire_after_the_records_are_stored(db: Database) -> None:
    clock = FakeClock(utc(2026, 3, 2, 10, 0))
    cid = await make_campaign()
    await add_schedule(cid, MONDAY)
    await add_leads(cid, ["15550101", "15550102"])
    seen: list[tuple[str, object]] = []

    class Observer:
        @hookimpl
        async def call_finished(self, call):
            from opendialer.core.storage.tables import CallRecord

            stored = (
                await CallRecord.select(CallRecord.status)
                .where(CallRecord.id == call["id"])
                .first()
                .run()
            )
            seen.append(("call", (call["status"], stored["status"], call["lead_id"])))

        @hookimpl
        def lead_status_changed(self, lead, old_status, new_status):
            seen.append(("lead", (lead["phone"], old_status, new_status)))

    pm = PluginManager().load_all()
    pm.register(Observer(), name="observer")
    engine = make_engine(db, clock, pm=pm, script={"15550101": ["human"], "15550102": ["busy"]})
    await engine.start(run_loop=False)
    try:
        await run_round(engine)
    finally:
        await engine.stop()
    calls = sorted(v for k, v in seen if k == "call")  # type: ignore[type-var]
    assert [c[:2] for c in calls] == [("BUSY", "BUSY"), ("SUCCESS", "SUCCESS")]
    assert sorted(v for k, v in seen if k == "lead") == [  # type: ignore[type-var]
        ("15550101", "NOT_CALLED", "SUCCESS"),
        ("15550102", "NOT_CALLED", "BUSY"),
    ]


async def test_stopped_campaign_never_dials_and_disabled_group_still_runs(db: Database) -> None:
    from opendialer.core.storage.tables import DialerGroup

    clock = FakeClock(utc(2026, 3, 2, 10, 0))
    stopped = await make_campaign(name="stopped", state="STOPPED")
    await add_schedule(stopped, MONDAY)
    await add_leads(stopped, ["15550201"])
    running = await make_campaign(name="running")
    await add_schedule(running, MONDAY)
    await add_leads(running, ["15550202"])
    await DialerGroup.update({DialerGroup.enabled: False}).where(DialerGroup.id > 0).run()
    engine = make_engine(db, clock, mix={"human": 1})
    await engine.start(run_loop=False)
    try:
        await run_round(engine, rounds=2)
        assert await records(stopped) == []
        assert len(await records(running)) == 1
    finally:
        await engine.stop()


async def test_retry_due_while_no_schedule_runs_goes_first_in_the_next_window(
    db: Database,
) -> None:
    """A 1440-minute retry after a 17:00 call is due 17:00 the next day; when no window
    is open then, it waits and is dialed first in the next window, before leads that
    fell due later."""
    clock = FakeClock(utc(2026, 3, 2, 17, 0))
    cid = await make_campaign(retry_after_minutes=1440)
    await add_schedule(cid, MONDAY, end=time(17, 30))
    await add_schedule(cid, MONDAY + timedelta(days=1), start=time(9), end=time(17))
    await add_schedule(cid, MONDAY + timedelta(days=2), start=time(9), end=time(17))
    [first] = await add_leads(cid, ["15550301"])
    engine = make_engine(
        db, clock, script={"15550301": ["busy", "human"], "15550302": ["human"]}, slots=1
    )
    await engine.start(run_loop=False)
    try:
        await run_round(engine)  # Monday 17:00: busy
        lead = (await leads_by_phone(cid))["15550301"]
        assert lead["next_attempt_at"] == utc(2026, 3, 3, 17, 0)
        # A second lead falls due later (Wednesday 08:30), while no window is open.
        [second] = await add_leads(cid, ["15550302"])
        await (
            Lead.update({Lead.next_attempt_at: utc(2026, 3, 4, 8, 30)})
            .where(Lead.id == second)
            .run()
        )
        await clock.set(utc(2026, 3, 3, 16, 59, 59))
        await run_round(engine)
        await clock.advance(1)  # Tuesday 17:00: due, but the window closed at 17:00
        await run_round(engine)
        assert len(await records(cid)) == 1
        await clock.set(utc(2026, 3, 4, 9, 0))  # Wednesday: the overdue retry goes first
        await engine.tick()
        await engine.drain()
        calls = await records(cid)
        assert [c["lead"] for c in calls] == [first, first]
        assert calls[1]["attempt"] == 2 and calls[1]["status"] == "SUCCESS"
        await run_round(engine)
        assert [c["lead"] for c in await records(cid)] == [first, first, second]
    finally:
        await engine.stop()
