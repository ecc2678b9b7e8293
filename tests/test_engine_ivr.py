"""IVR campaigns on the simulator: the ``ivr`` routing target counts transferred calls
still up, and the simulator tells the engine when they end."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from engine_support import add_leads, add_schedule, leads_by_phone, make_campaign, records, utc

from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.engine import Engine
from opendialer.core.plugins import PluginManager
from opendialer.core.storage import Database
from opendialer.plugins.platform_sim.center import center

pytestmark = pytest.mark.pg

MONDAY = date(2026, 3, 2)
CHANNELS = 3


def ivr_engine(db: Database, clock: FakeClock, center_name: str, phones: list[str]) -> Engine:
    return Engine(
        db,
        "ivr-node",
        clock,
        "sim",
        platform_options={
            "time_scale": 1,  # simulated waits run on the fake clock
            "ring_s": [1, 1],
            "handle_s": [30, 30],  # the caller stays 30 s in the IVR
            "agents": None,  # the IVR itself takes everyone: only the channel count limits
            "center": center_name,
            "script": {p: ["human"] for p in phones},
            "ports": 50,
            "seed": 3,
        },
        routing_options={"ivr": {"channels": CHANNELS}},
        plugin_manager=PluginManager().load_all(),
    )


async def test_ivr_campaign_never_has_more_transferred_calls_up_than_channels(
    db: Database,
) -> None:
    clock = FakeClock(utc(2026, 3, 2, 10, 0))
    cid = await make_campaign(
        type="IVR", routing_target="ivr", queue="", pilot_number="7000", max_attempts=1
    )
    await add_schedule(cid, MONDAY)
    phones = [f"1555{i:04d}" for i in range(10)]
    await add_leads(cid, phones)
    name = f"ivr-{uuid.uuid4().hex[:8]}"
    ivr = center(name)
    engine = ivr_engine(db, clock, name, phones)
    await engine.start(run_loop=False)
    try:
        await engine.tick()
        await clock.advance(5)  # ring 1 s, REFER; the three callers are in the IVR now
        await engine.drain()
        assert ivr.busy == CHANNELS
        await engine.tick()  # every channel is taken by a transferred call still up
        assert len(await records(cid)) == CHANNELS
        assert engine.runners[cid].in_flight == {}

        # The transferred calls end (30 s in the IVR): the channels free up again.
        for _ in range(12):
            await clock.advance(30)
            await engine.drain()
            assert ivr.busy <= CHANNELS
            await engine.tick()
            await clock.advance(5)
            await engine.drain()
            assert ivr.busy <= CHANNELS
        leads = await leads_by_phone(cid)
        assert {lead["status"] for lead in leads.values()} == {"SUCCESS"}
        assert len(await records(cid)) == len(phones)
        assert ivr.peak_busy == CHANNELS  # full, never over
        routing = engine.routing_targets()["ivr"]
        assert routing.status()["transferred_up"] == ivr.busy  # type: ignore[attr-defined]
    finally:
        await engine.stop()
        await ivr.close()


async def test_a_transferred_call_that_ends_before_originate_returns_still_frees_its_channel(
    db: Database,
) -> None:
    """With no simulated waiting the IVR session ends before the platform reports the
    transfer: the engine keeps the end signal and applies it after the release."""
    clock = FakeClock(utc(2026, 3, 2, 10, 0))
    cid = await make_campaign(
        type="IVR", routing_target="ivr", queue="", pilot_number="7000", max_attempts=1
    )
    await add_schedule(cid, MONDAY)
    phones = [f"1556{i:04d}" for i in range(7)]
    await add_leads(cid, phones)
    name = f"ivr-{uuid.uuid4().hex[:8]}"
    engine = Engine(
        db,
        "ivr-node",
        clock,
        "sim",
        platform_options={
            "time_scale": 0,
            "center": name,
            "handle_s": [0, 0],
            "script": {p: ["human"] for p in phones},
            "ports": 50,
        },
        routing_options={"ivr": {"channels": 2}},
        plugin_manager=PluginManager().load_all(),
    )
    await engine.start(run_loop=False)
    try:
        for _ in range(4):
            await engine.tick()
            await engine.drain()
            await clock.advance(1)
        routing = engine.routing_targets()["ivr"]
        assert routing.free_slots(engine.runners[cid].routing_request()) == 2
        assert {lead["status"] for lead in (await leads_by_phone(cid)).values()} == {"SUCCESS"}
    finally:
        await engine.stop()
        await center(name).close()
