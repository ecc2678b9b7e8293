"""Routing reservations shared by several engine nodes, printed (never asserted):
``python bench/routing_shared.py [--rounds N]`` (needs PostgreSQL, see bench/scratch_db.py).

* ``free_slots()`` of an ``oscc`` target whose holds are shared (another node
  holds agents of the queue): still an in-memory computation;
* the claim the engine makes before each launch (``claim_slots``: releases
  written, pool locked, holds counted, rows inserted — one transaction), p50/p99;
* the same for two nodes claiming the same queue at once.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import figures
from scratch_db import scratch_database

from opendialer.core.engine.coordinator import Coordinator
from opendialer.plugins.route_oscc import OsccRoutingTarget
from opendialer.plugins.route_oscc.simulator import ContactCenter, SimulatorServer
from opendialer.sdk import RoutingRequest

SALES = RoutingRequest(campaign_id=1, campaign_type="OSCC", queue="sales", pilot_number="4000")


class NodeContext:
    """What the engine hands a routing target: the node's name, its clock."""

    def __init__(self, node: str) -> None:
        self.settings: dict[str, Any] = {"node_id": node, "dead_after_s": 15.0}

    def now(self) -> datetime:
        return datetime.now(UTC)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def wait_for(check: Any, within: float = 30.0) -> None:
    deadline = time.perf_counter() + within
    while not check():
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.01)


async def claim_round_trips(target: OsccRoutingTarget, rounds: int, tag: str) -> list[float]:
    """Claim one agent, give it back (written with the next claim): ms per claim."""
    times = []
    for i in range(rounds):
        t0 = time.perf_counter()
        granted = await target.claim_slots(SALES, [f"{tag}-{i}"])
        times.append((time.perf_counter() - t0) * 1000)
        for call_id in granted:
            target.release(call_id, transferred=False)
    return times


async def main(rounds: int) -> None:
    sim = SimulatorServer(ContactCenter())
    await sim.start()
    async with scratch_database() as (_url, db):
        now = datetime.now(UTC)
        for node in ("bench-a", "bench-b"):
            await Coordinator(db, node).join(now)
        options = {"base_url": sim.url, "poll_interval_ms": 100, "queues": ["sales"]}
        a = OsccRoutingTarget(options, NodeContext("bench-a"))
        b = OsccRoutingTarget(options, NodeContext("bench-b"))
        await a.start()
        await b.start()
        try:
            async with httpx.AsyncClient(base_url=sim.control_url) as control:
                await control.put("/queues/sales", json={"agents": 20, "free": 10})
            await wait_for(lambda: a.free_slots(SALES) == 10 and b.free_slots(SALES) == 10)
            held = await b.claim_slots(SALES, [f"held-{i}" for i in range(3)])
            assert len(held) == 3
            await wait_for(lambda: a.status()["queues"]["sales"]["held_by_other_nodes"] == 3)

            calls = 200_000
            start = time.perf_counter()
            for _ in range(calls):
                a.free_slots(SALES)
            per_call_us = (time.perf_counter() - start) / calls * 1e6
            print(
                f"free_slots() with shared holds (3 held by another node): "
                f"{per_call_us:.2f} µs per call ({calls} calls)"
            )
            figures.report("oscc free_slots() per call, shared holds", per_call_us, "µs")

            alone = await claim_round_trips(a, rounds, "alone")
            p50, p99 = statistics.median(alone), pct(alone, 0.99)
            print(f"claim_slots() before a launch, one node: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
            figures.report("oscc claim_slots() p50, one node", p50, "ms")
            figures.report("oscc claim_slots() p99, one node", p99, "ms")

            both = await asyncio.gather(
                claim_round_trips(a, rounds, "a"), claim_round_trips(b, rounds, "b")
            )
            together = [t for times in both for t in times]
            p50, p99 = statistics.median(together), pct(together, 0.99)
            print(
                f"claim_slots() with two nodes claiming the same queue at once: "
                f"p50 {p50:.2f} ms, p99 {p99:.2f} ms ({rounds} claims each)"
            )
            figures.report("oscc claim_slots() p50, two nodes at once", p50, "ms")
            figures.report("oscc claim_slots() p99, two nodes at once", p99, "ms")
        finally:
            await a.close()
            await b.close()
    await sim.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300, help="claims per node (300)")
    asyncio.run(main(parser.parse_args().rounds))
