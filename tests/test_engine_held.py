"""A STARTED campaign that cannot dial says why, and dials once it is fixed.

The engine stores a code (core/held.py) in today's schedule row; the dialing
service (core/services/dialing.py) reads it with what the web sees alone (no
engine alive, outside the window, no lead due) — on the simulator and a fake clock.
"""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta

from engine_support import add_leads, add_schedule, make_campaign, records, schedule_state, utc

from opendialer.core import held
from opendialer.core.domain import Role
from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.engine import ROUTING_RECHECK_S, Engine
from opendialer.core.plugins import PluginManager
from opendialer.core.services import campaigns, dialing, groups, routing_config
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import Lead

MONDAY = date(2026, 3, 2)
MASTER = SYSTEM  # a Master: routing settings are theirs


def sim_engine(db: Database, clock: FakeClock, **options: object) -> Engine:
    return Engine(
        db,
        f"held-{uuid.uuid4().hex[:6]}",
        clock,
        "sim",
        platform_options={
            "time_scale": 0,
            "seed": 1,
            "mix": {"busy": 1},
            "ports": 10,
            "center": f"held-{uuid.uuid4().hex[:8]}",
        },
        plugin_manager=PluginManager().load_all(),
        **options,  # type: ignore[arg-type]
    )


async def state_of(cid: int, clock: FakeClock) -> dialing.DialingState:
    body = await campaigns.get_campaign(SYSTEM, cid)
    return await dialing.dialing_state(body, clock.now())


async def test_on_the_simulator_an_unconfigured_default_target_gives_way_to_its_agents(
    db: Database,
) -> None:
    """A new install trying the product: the simulator is the platform, nothing else is
    set up, the first campaign names no routing target. Its type's default (the
    contact center, the IVR) is not configured, so it dials the simulator's own
    simulated agents instead of waiting for a contact center its calls could never
    reach — and shows no hold."""
    clock = FakeClock(utc(2026, 3, 2, 10, 0))
    for kind, first in (("OSCC", "1555071"), ("IVR", "1555072")):
        cid = await make_campaign(
            name=f"First {kind}", type=kind, routing_target=None, queue="q", pilot_number="7000"
        )
        entry = await add_schedule(cid, MONDAY)
        await add_leads(cid, [f"{first}{n}" for n in range(2)])
        engine = sim_engine(db, clock)
        await engine.start(run_loop=False)
        try:
            await engine.tick()
            await engine.drain()
            assert (await schedule_state(entry))[1] == "", kind  # no hold stored
            assert len(await records(cid)) == 2, kind
            assert (await state_of(cid, clock)).code != held.ROUTING_NOT_CONFIGURED
        finally:
            await engine.stop()


async def test_unconfigured_ivr_holds_the_campaign_until_a_master_configures_it(
    db: Database,
) -> None:
    """A campaign that names the IVR as its routing target (on the simulator too: it
    chose that target, the simulator's own does not stand in)."""
    clock = FakeClock(utc(2026, 3, 2, 10, 0))
    cid = await make_campaign(type="IVR", routing_target="ivr", queue="", pilot_number="7000")
    entry = await add_schedule(cid, MONDAY)
    await add_leads(cid, ["15550001", "15550002"])
    engine = sim_engine(db, clock)
    await engine.start(run_loop=False)
    try:
        await engine.tick()
        await engine.drain()
        state, reason = await schedule_state(entry)
        assert state == "RUNNING"
        stored = held.decode(reason)
        assert stored is not None and stored.code == held.ROUTING_NOT_CONFIGURED
        assert stored.params["target"] == "ivr" and "channels" in stored.params["detail"]
        assert await records(cid) == []
        seen = await state_of(cid, clock)
        assert not seen.dialing and seen.code == held.ROUTING_NOT_CONFIGURED
        assert (seen.fix_path, seen.fix_role) == ("/system/ivr", Role.MASTER)

        # A Master configures the IVR: no restart, the hold clears and calls go out.
        await routing_config.put(MASTER, "ivr", {"channels": 2})
        await clock.advance(ROUTING_RECHECK_S)
        await engine.tick()
        await engine.drain()
        assert (await schedule_state(entry))[1] == ""
        assert len(await records(cid)) >= 1
        assert (await state_of(cid, clock)).code in (None, dialing.NO_LEADS_DUE)

        # Stored options changed again: the engine rebuilds the target with them.
        first = engine.routing_targets()["ivr"]
        await routing_config.put(MASTER, "ivr", {"channels": 5})
        await clock.advance(ROUTING_RECHECK_S)
        await engine.tick()
        assert engine.routing_targets()["ivr"] is not first
        assert engine.routing_targets()["ivr"].options.channels == 5  # type: ignore[attr-defined]
    finally:
        await engine.stop()


async def test_the_web_alone_says_no_engine_then_waiting_then_retries_due(db: Database) -> None:
    clock = FakeClock(utc(2026, 3, 2, 7, 0))  # before the 08:00 window
    cid = await make_campaign(start_time=time(8), end_time=time(17))
    await add_schedule(cid, MONDAY, time(8), time(17))
    await add_schedule(cid, MONDAY + timedelta(days=1), time(8), time(17))
    await add_leads(cid, ["15550101"])

    seen = await state_of(cid, clock)  # no engine has ever run
    assert (seen.dialing, seen.code, seen.fix_path) == (False, dialing.NO_ENGINE, "/system")

    engine = sim_engine(db, clock, routing_options={"static": {"slots": 2}})
    await engine.start(run_loop=False)
    try:
        await engine.tick()
        seen = await state_of(cid, clock)
        assert seen.code == dialing.WAITING_NEXT_RUN and seen.waiting
        assert seen.params == {"date": "2026-03-02", "time": "08:00", "today": "1"}

        await clock.advance(3600)  # 08:00: the window opens, the lead is called (busy)
        await engine.tick()
        await engine.drain()
        assert len(await records(cid)) == 1
        seen = await state_of(cid, clock)
        assert seen.code == dialing.NO_LEADS_DUE and seen.waiting
        assert seen.params["time"] == "09:00"  # retry after 60 minutes

        # The lead done: nothing left to call.
        done = {Lead.next_attempt_at: None, Lead.status: "SUCCESS"}
        await Lead.update(done).where(Lead.campaign == cid).run()
        seen = await state_of(cid, clock)
        assert seen.code == dialing.NO_LEADS_LEFT and seen.fix_role is Role.CAMPAIGN_ADMIN
    finally:
        await engine.stop()
    later = FakeClock(clock.now() + timedelta(seconds=60))  # heartbeats are old now
    assert (await state_of(cid, later)).code == dialing.NO_ENGINE


async def test_a_disabled_groups_started_campaign_keeps_dialing_and_says_so(
    db: Database,
) -> None:
    clock = FakeClock(utc(2026, 3, 2, 10, 0))
    group = await groups.create_group(SYSTEM, {"name": f"Closing {uuid.uuid4().hex[:6]}"})
    cid = await make_campaign(group=group["id"])
    await add_schedule(cid, MONDAY)
    await add_leads(cid, [f"1555020{i}" for i in range(3)])
    await groups.update_group(SYSTEM, group["id"], {"enabled": False})
    engine = sim_engine(db, clock, routing_options={"static": {"slots": 1}})
    await engine.start(run_loop=False)
    try:
        await engine.tick()
        await engine.drain()
        assert len(await records(cid)) == 1  # it runs to its end (DESIGN.md §3)
        seen = await state_of(cid, clock)
        assert seen.group_disabled and seen.code in (None, dialing.NO_LEADS_DUE)
    finally:
        await engine.stop()


async def test_no_platform_chosen_holds_the_campaign_until_a_master_chooses(
    db: Database,
) -> None:
    from opendialer.core.engine.chosen_platform import ChosenPlatform
    from opendialer.core.services import platform_choice

    clock = FakeClock(utc(2026, 3, 2, 10, 0))
    cid = await make_campaign()
    entry = await add_schedule(cid, MONDAY)
    await add_leads(cid, ["15550201"])
    sim_options = {"time_scale": 0, "seed": 1, "mix": {"busy": 1}, "ports": 4}
    engine = Engine(
        db,
        f"held-{uuid.uuid4().hex[:6]}",
        clock,
        ChosenPlatform(
            lambda name, options: engine.build_platform(name, {**sim_options, **options}),
            platform_choice.load,
            sleep=clock.sleep,
            poll_s=3600,  # the test refreshes by hand
        ),
        routing_options={"static": {"slots": 2}},
        plugin_manager=PluginManager().load_all(),
    )
    await engine.start(run_loop=False)
    try:
        await engine.tick()
        stored = held.decode((await schedule_state(entry))[1])
        assert stored is not None and stored.code == held.PLATFORM_NOT_CHOSEN
        seen = await state_of(cid, clock)
        assert not seen.dialing and seen.code == held.PLATFORM_NOT_CHOSEN
        assert (seen.fix_path, seen.fix_role) == ("/system/platform", Role.MASTER)
        assert await records(cid) == []

        await platform_choice.put(MASTER, "sim")
        await engine.platform.refresh()  # type: ignore[attr-defined]
        await engine.tick()
        await engine.drain()
        assert (await schedule_state(entry))[1] == ""
        assert len(await records(cid)) == 1
    finally:
        await engine.stop()
