"""Routing-target figures, printed (never asserted): ``python bench/routing.py [--full]``.

* cost of ``free_slots()`` (the pacer calls it every tick for every campaign);
* "agent became free in the contact center" → "free_slots() shows it", p50/p99,
  against the simulator over real HTTP with the given poll interval;
* "contact center back after a restart" → "counts trusted again".
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

import httpx

from opendialer.plugins.route_oscc import OsccRoutingTarget
from opendialer.plugins.route_oscc.simulator import ContactCenter, SimulatorServer
from opendialer.sdk import RoutingRequest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import figures

SALES = RoutingRequest(campaign_id=1, campaign_type="OSCC", queue="sales", pilot_number="4000")


async def wait_for(check: object, within: float = 30.0) -> float:
    start = time.perf_counter()
    while not check():  # type: ignore[operator]
        if time.perf_counter() - start > within:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.001)
    return time.perf_counter() - start


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(full: bool, poll_ms: int, events: bool) -> None:
    sim = SimulatorServer(ContactCenter())
    await sim.start()
    target = OsccRoutingTarget(
        {"base_url": sim.url, "poll_interval_ms": poll_ms, "stale_after_ms": max(15_000, poll_ms * 3),
         "backoff_initial_ms": 50, "backoff_max_ms": 500, "queues": ["sales"], "events": events}
    )  # fmt: skip
    await target.start()
    async with httpx.AsyncClient(base_url=sim.control_url) as control:
        await control.put("/queues/sales", json={"agents": 10, "free": 0})
        await wait_for(lambda: target.health(SALES).ok)

        calls = 1_000_000 if full else 200_000
        start = time.perf_counter()
        for _ in range(calls):
            target.free_slots(SALES)
        per_call_us = (time.perf_counter() - start) / calls * 1e6
        print(f"free_slots(): {per_call_us:.2f} µs per call ({calls} calls)")
        figures.report("oscc free_slots() per call", per_call_us, "µs")

        rounds = 100 if full else 20
        latencies = []
        for _ in range(rounds):
            await control.put("/queues/sales", json={"free": 0})
            await wait_for(lambda: target.free_slots(SALES) == 0)
            await asyncio.sleep(random.uniform(0, poll_ms / 1000))  # not in phase with the polls
            t0 = time.perf_counter()
            await control.put("/queues/sales", json={"free": 1})
            await wait_for(lambda: target.free_slots(SALES) == 1)
            latencies.append((time.perf_counter() - t0) * 1000)
        print(
            f"agent free -> free_slots() shows it (poll {poll_ms} ms, events {'on' if events else 'off'}, "
            f"{rounds} rounds): "
            f"p50 {statistics.median(latencies):.0f} ms, p99 {pct(latencies, 0.99):.0f} ms, "
            f"max {max(latencies):.0f} ms"
        )
        figures.report(
            "agent free → free_slots() shows it, p99",
            pct(latencies, 0.99),
            "ms",
            baseline=float(poll_ms),
            baseline_name="the poll interval",
            note=f"p50 {statistics.median(latencies):.0f} ms",
        )

    restarts = []
    for _ in range(5 if full else 2):
        await sim.stop()
        await wait_for(lambda: not target.health(SALES).ok)
        t0 = time.perf_counter()
        await sim.start()
        await wait_for(lambda: target.health(SALES).ok)
        restarts.append((time.perf_counter() - t0) * 1000)
    print(
        "contact center restarted -> counts trusted again (back-off 50-500 ms): "
        + ", ".join(f"{r:.0f} ms" for r in restarts)
    )
    figures.report("contact center restart → counts trusted again, worst", max(restarts), "ms")
    await target.close()
    await sim.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="more rounds")
    parser.add_argument("--poll-ms", type=int, default=1000, help="poll_interval_ms of the target")
    parser.add_argument("--events", action="store_true", help="long-poll events too")
    args = parser.parse_args()
    asyncio.run(main(args.full, args.poll_ms, args.events))
