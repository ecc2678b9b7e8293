"""Routing reservations shared by several engine nodes on one database.

Two engine nodes read the same free-agent count from the contact center; each
may only launch a call for an agent (or IVR channel) it claimed in the
database, so together they never ring more calls than there are free agents.
The claims themselves run on both backends; the engines sharing them need
PostgreSQL (SQLite is the single-node backend).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from engine_support import full_day_campaign, wait_for

from opendialer.core.engine.engine import Engine
from opendialer.core.plugins import PluginManager
from opendialer.core.services import routing_reservations as shared
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, EngineNode
from opendialer.plugins.platform_sim.center import center
from opendialer.plugins.route_oscc.simulator import ContactCenter, SimulatorServer

pytestmark = pytest.mark.pg

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DEAD_AFTER = timedelta(seconds=15)


async def add_node(node: str, heartbeat_at: datetime) -> None:
    await EngineNode.insert(
        EngineNode(node_id=node, started_at=heartbeat_at, heartbeat_at=heartbeat_at)
    ).run()


async def claim(
    node: str,
    n: int,
    *,
    capacity: int,
    pool: str = "oscc:sales",
    settled_before: datetime | None = None,
    pending: shared.PendingWrites | None = None,
) -> list[str]:
    granted, _ = await shared.claim(
        pool=pool,
        node=node,
        campaign_id=1,
        call_ids=[f"{node}-{uuid.uuid4().hex[:8]}" for _ in range(n)],
        capacity=capacity,
        now=NOW,
        alive_since=NOW - DEAD_AFTER,
        expires_at=NOW + timedelta(seconds=120),
        settled_before=settled_before,
        pending=pending,
    )
    return granted


# -- the claim, on both backends ------------------------------------------------------


async def test_concurrent_claims_of_two_nodes_never_exceed_the_capacity(db: Database) -> None:
    await add_node("node-a", NOW)
    await add_node("node-b", NOW)
    results = await asyncio.gather(
        *(claim(node, 2, capacity=5) for _ in range(8) for node in ("node-a", "node-b"))
    )
    granted = [call_id for batch in results for call_id in batch]
    assert len(granted) == 5
    # Another queue is another pool: its agents are its own.
    assert len(await claim("node-b", 3, capacity=3, pool="oscc:support")) == 3
    # Full: nothing more, whichever node asks.
    assert await claim("node-a", 1, capacity=5) == []
    # A call that never reached an agent gives its slot back (written with the next claim).
    first = await claim("node-a", 2, capacity=2, pool="ivr")
    assert await claim("node-a", 1, capacity=2, pool="ivr") == []
    freed = shared.PendingWrites({first[0]}, {})
    assert len(await claim("node-a", 3, capacity=2, pool="ivr", pending=freed)) == 1


async def test_a_transferred_call_stops_counting_once_the_count_can_see_it(db: Database) -> None:
    await add_node("node-a", NOW)
    [call_id] = await claim("node-a", 1, capacity=1)
    moved = shared.PendingWrites(set(), {call_id: (NOW, NOW + timedelta(seconds=30))})
    # A count fetched before the transfer does not show that agent busy: still held.
    assert await claim("node-b", 1, capacity=1, pending=moved, settled_before=NOW) == []
    # A count fetched after it does (its free agents exclude that agent): not held.
    later = NOW + timedelta(seconds=1)
    assert len(await claim("node-b", 1, capacity=1, settled_before=later)) == 1


async def test_the_holds_of_a_node_declared_dead_stop_counting(db: Database) -> None:
    await add_node("node-a", NOW)
    await add_node("node-dead", NOW - DEAD_AFTER - timedelta(seconds=1))
    # Its own holds always count for the claiming node; a dead node's do not.
    assert len(await claim("node-dead", 2, capacity=2)) == 2
    assert len(await claim("node-a", 3, capacity=2)) == 2
    holds = await shared.others_holds(
        ["oscc:sales"], node="node-a", now=NOW, alive_since=NOW - DEAD_AFTER
    )
    assert holds == []
    # A node that left (reconciled, row forgotten) holds nothing either.
    await EngineNode.delete().where(EngineNode.node_id == "node-dead").run()
    assert await claim("node-b", 1, capacity=2) == []  # node-a's two still count


# -- two engines on one PostgreSQL --------------------------------------------------

FAST_OSCC = {
    "poll_interval_ms": 50,
    "keepalive_interval_ms": 150,
    "stale_after_ms": 3000,
    "request_timeout_ms": 1500,
    "connect_timeout_ms": 1500,
    "backoff_initial_ms": 50,
    "backoff_max_ms": 400,
}


def needs_postgres(db: Database) -> None:
    if not db.is_postgres:
        pytest.skip("several engine nodes need PostgreSQL (SQLite is the single-node backend)")


@pytest.fixture
async def contact_center() -> AsyncIterator[SimulatorServer]:
    server = SimulatorServer(ContactCenter(session_timeout_s=30), base_path="/oscc/rest")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def engine(db: Database, node: str, platform: dict[str, Any], routing: dict[str, Any]) -> Engine:
    return Engine(
        db,
        node,
        platform_options={"time_scale": 1, "ports": 50, "seed": hash(node) % 1000, **platform},
        routing_options=routing,
        plugin_manager=PluginManager().load_all(),
        pace_s=0.05,
    )


class Sampler:
    """Samples a number every few milliseconds while the engines run."""

    def __init__(self, read: Callable[[], int]) -> None:
        self.read = read
        self.peak = 0
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, self.read())
            self.samples += 1
            await asyncio.sleep(0.002)

    def __enter__(self) -> Sampler:
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def calls_up(engines: list[Engine], campaign_id: int) -> Callable[[], int]:
    def read() -> int:
        return sum(e.runners[campaign_id].calls_up() for e in engines if campaign_id in e.runners)

    return read


async def nodes_that_dialed(campaign_id: int) -> set[str]:
    rows = (
        await CallRecord.select(CallRecord.node)
        .where(CallRecord.campaign == campaign_id)
        .distinct()
        .run()
    )
    return {r["node"] for r in rows}


async def finished_calls(campaign_id: int) -> int:
    return int(
        await CallRecord.count()
        .where((CallRecord.campaign == campaign_id) & CallRecord.status.is_not_null())
        .run()
    )


async def test_two_engines_never_ring_more_calls_than_free_agents(
    db: Database, contact_center: SimulatorServer
) -> None:
    needs_postgres(db)
    free_agents = 3
    sim = contact_center
    sim.center.set_queue("sales", free_agents + 2, free_agents)
    cid = await full_day_campaign(
        40, type="OSCC", routing_target="oscc", queue="sales", max_attempts=1
    )
    # Long rings that end busy: the calls never reach an agent, so the contact center
    # keeps saying 3 free while each node's calls ring.
    platform = {"mix": {"busy": 1}, "ring_s": [0.8, 1.6]}
    routing = {"oscc": {"base_url": sim.url, **FAST_OSCC}}
    engines = [engine(db, node, platform, routing) for node in ("node-a", "node-b")]
    for e in engines:
        await e.start()
    try:
        with Sampler(calls_up(engines, cid)) as in_flight:

            async def both_dialed_a_while() -> bool:
                return await nodes_that_dialed(cid) == {"node-a", "node-b"} and (
                    await finished_calls(cid) >= 12
                )

            await wait_for(both_dialed_a_while, what="both nodes to place a dozen calls")
        assert in_flight.samples > 100
        assert in_flight.peak == free_agents, in_flight.peak  # full, never over
    finally:
        for e in engines:
            await e.stop()


async def test_a_killed_nodes_reservations_stop_counting_once_it_is_dead(
    db: Database, contact_center: SimulatorServer
) -> None:
    needs_postgres(db)
    sim = contact_center
    sim.center.set_queue("sales", 2, 2)
    cid = await full_day_campaign(
        20, type="OSCC", routing_target="oscc", queue="sales", max_attempts=1
    )
    # A node that holds both free agents, then is killed: its heartbeat stops.
    now = datetime.now(UTC)
    await add_node("node-killed", now)
    granted, _ = await shared.claim(
        pool="oscc:sales",
        node="node-killed",
        campaign_id=cid,
        call_ids=["killed-1", "killed-2"],
        capacity=2,
        now=now,
        alive_since=now - DEAD_AFTER,
        expires_at=now + timedelta(minutes=10),
    )
    assert len(granted) == 2

    async def heartbeats() -> None:  # what a live node does, until it is killed
        while True:
            await (
                EngineNode.update({EngineNode.heartbeat_at: datetime.now(UTC)})
                .where(EngineNode.node_id == "node-killed")
                .run()
            )
            await asyncio.sleep(0.5)

    beating = asyncio.create_task(heartbeats())
    survivor = Engine(
        db,
        "node-a",
        platform_options={"time_scale": 1, "ports": 50, "mix": {"busy": 1}, "ring_s": [5, 5]},
        routing_options={"oscc": {"base_url": sim.url, **FAST_OSCC}},
        plugin_manager=PluginManager().load_all(),
        pace_s=0.05,
        dead_after_s=4.0,
    )
    await survivor.start()
    try:
        with Sampler(calls_up([survivor], cid)) as in_flight:

            async def refused_while_alive() -> bool:
                target: Any = survivor.routing_targets().get("oscc")
                if target is None:
                    return False
                status = target.status()["reservations"]["shared"]
                return status["claims_short"] >= 3  # it asked, the database said no

            await wait_for(refused_while_alive, what="node-a to be refused the held agents")
            assert in_flight.peak == 0
        beating.cancel()  # killed: within dead_after_s (4 s) it is declared dead

        async def survivor_uses_both_agents() -> bool:
            return calls_up([survivor], cid)() == 2

        await wait_for(survivor_uses_both_agents, what="node-a to ring for both agents")
    finally:
        beating.cancel()
        await survivor.stop()


async def test_two_engines_never_hold_more_ivr_channels_than_configured(db: Database) -> None:
    needs_postgres(db)
    channels = 2
    name = f"ivr-{uuid.uuid4().hex[:8]}"
    ivr = center(name)
    cid = await full_day_campaign(
        30, type="IVR", routing_target="ivr", queue="", pilot_number="7000", max_attempts=1
    )
    platform = {
        "mix": {"human": 1},
        "ring_s": [0.2, 0.5],
        "handle_s": [1.0, 2.0],  # the caller stays that long in the IVR
        "agents": None,  # only the channel count limits
        "center": name,
    }
    routing = {"ivr": {"channels": channels}}
    engines = [engine(db, node, platform, routing) for node in ("node-a", "node-b")]
    for e in engines:
        await e.start()
    try:

        def holds() -> int:
            total = 0
            for e in engines:
                target: Any = e.routing_targets().get("ivr")
                if target is not None:
                    status = target.status()
                    total += status["launched"] + status["transferred_up"]
            return total

        with Sampler(holds) as held, Sampler(lambda: ivr.busy) as busy:

            async def both_dialed_a_while() -> bool:
                return await nodes_that_dialed(cid) == {"node-a", "node-b"} and (
                    await finished_calls(cid) >= 10
                )

            await wait_for(both_dialed_a_while, what="both nodes to place ten calls")
        assert busy.peak <= channels and ivr.peak_busy == channels  # full, never over
        assert held.peak == channels, held.peak
    finally:
        for e in engines:
            await e.stop()


async def test_a_target_that_starts_afresh_drops_only_its_own_pools(db: Database) -> None:
    await add_node("node-a", NOW)
    assert len(await claim("node-a", 2, capacity=2, pool="oscc:sales")) == 2
    assert len(await claim("node-a", 1, capacity=1, pool="ivr")) == 1
    await shared.forget_node("node-a", "ivr")  # the IVR target (re)starts on node-a
    assert await claim("node-b", 1, capacity=2, pool="oscc:sales") == []  # still held
    assert len(await claim("node-b", 1, capacity=1, pool="ivr")) == 1
