"""``GET /metrics`` health gauges beyond the static routing target: the contact-center
session of ``route_oscc`` going down (the gauge drops to 0 and the doctor's line on
this node says so), and calls counted in flight while they ring on the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from doctor_support import OSCC_FAST
from engine_support import add_leads, add_schedule, make_campaign, utc, wait_for
from test_metrics import no_amd_strategy, scrape, scraped_app, value

from opendialer.core import health
from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.engine import Engine
from opendialer.core.storage import Database
from opendialer.plugins.route_oscc.simulator import ContactCenter, SimulatorServer

pytestmark = pytest.mark.timeout(180)

DAY = date(2026, 3, 2)


@pytest.fixture
async def contact_center() -> AsyncIterator[SimulatorServer]:
    """The contact-center simulator over HTTP, as tests/test_route_oscc.py runs it."""
    server = SimulatorServer(ContactCenter(session_timeout_s=5), base_path="/oscc/rest")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def _gauge_is(client: httpx.AsyncClient, metric: str, wanted: float, **labels: str) -> Any:
    async def check() -> bool:
        _, samples = await scrape(client)
        return value(samples, metric, **labels) == wanted

    return check


async def test_routing_target_up_follows_the_contact_center_session(
    db: Database, monkeypatch: pytest.MonkeyPatch, contact_center: SimulatorServer
) -> None:
    from opendialer.core.services import routing_config
    from opendialer.core.services.common import SYSTEM

    # stored as an administrator does: the engine and the doctor both read it
    await routing_config.put(SYSTEM, "oscc", {"base_url": contact_center.url, **OSCC_FAST})
    clock = FakeClock(utc(2026, 3, 2, 10, 0))
    cid = await make_campaign(routing_target="oscc")  # type OSCC, queue "sales"
    await add_schedule(cid, DAY)
    await add_leads(cid, ["15553000001"])
    engine = Engine(
        db,
        "oscc-node",
        clock,
        "sim",
        platform_options={"time_scale": 0, "seed": 1, "mix": {"busy": 1}},
        routing_options={},  # none given: the stored routing.oscc
        plugin_manager=no_amd_strategy(),
    )
    await engine.start(run_loop=False)
    health.attach_routing_targets(engine.routing_targets)  # as `serve --role all` does
    try:
        async with scraped_app(db, engine, monkeypatch) as client:
            await engine.tick()  # the campaign's first round starts its routing target
            up = _gauge_is(client, "opendialer_routing_target_up", 1, target="oscc")
            await wait_for(up, what="the contact-center session up")

            await contact_center.stop()  # the contact center goes away
            down = _gauge_is(client, "opendialer_routing_target_up", 0, target="oscc")
            await wait_for(down, what="the gauge at 0 once the session is down")
            results = await health.run_checks(
                db, health.DoctorOptions(timeout_s=2), only=["contact_center"]
            )
    finally:
        health.attach_routing_targets(None)
        await engine.stop()
    [line] = results
    assert line.name == "contact_center: oscc" and line.status is health.Status.FAIL
    assert "(this node's engine)" in line.message
    assert "check the contact center's URL" in line.message
    assert "dialing for its campaigns waits meanwhile" in line.message


async def test_calls_in_flight_while_they_ring(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(utc(2026, 3, 2, 10, 0))
    cid = await make_campaign()
    await add_schedule(cid, DAY)
    await add_leads(cid, ["15554000001", "15554000002", "15554000003"])
    engine = Engine(
        db,
        "ringing-node",
        clock,
        "sim",
        # every call rings ten minutes of the fake clock: in flight until it moves
        platform_options={"time_scale": 1, "seed": 1, "mix": {"busy": 1}, "ring_s": [600, 600]},
        routing_options={"static": {"slots": 5}},
        plugin_manager=no_amd_strategy(),
    )
    await engine.start(run_loop=False)
    try:
        async with scraped_app(db, engine, monkeypatch) as client:
            await engine.tick()
            ringing = _gauge_is(client, "opendialer_calls_in_flight", 3, campaign=str(cid))
            await wait_for(ringing, what="three calls in flight while they ring")
            assert engine.calls_up_total() == 3  # on the platform, not only counted

            await clock.advance(601)  # the far ends answer busy
            await engine.drain()
            _, after = await scrape(client)
    finally:
        await engine.stop()
    assert value(after, "opendialer_calls_in_flight", campaign=str(cid)) == 0
    outcomes = value(after, "opendialer_call_outcomes_total", campaign=str(cid), status="BUSY")
    assert outcomes == 3
