"""Dialing engine throughput on the simulator — prints figures, asserts nothing.

    .venv/bin/python bench/engine.py            # 3,000 leads (quick)
    .venv/bin/python bench/engine.py --full     # 100,000 leads
    .venv/bin/python bench/engine.py --leads 20000 --only pg2

Runs a campaign of N leads (max attempts 1, so N calls) on the simulator with
300 agents (handle time 5-15 s and ring time 1-3 s, both scaled by
--time-scale so a run takes seconds, not hours), and reports for each setup:

- sqlite1: one engine in this process on SQLite;
- pg1:     one engine in this process on PostgreSQL;
- pg2:     two engine processes (`opendialer serve --role engine`) on PostgreSQL;
- claims:  the claim alone on a campaign spread over 4 time zones (200,000 leads;
           1,000,000 with --full; `--claim-leads`), PostgreSQL: p50/p99 of a 20-lead claim with no
           compliance policy (the baseline, same run) and with local hours leaving
           3, 2 or 1 zone open — interleaved zones, and the worst order for a filter
           (the one open zone's leads all due last).

Figures: calls launched per second, p50/p99 agent-free → originate latency,
CPU seconds per 1,000 calls (engine processes; the database server is not
counted), peak RSS. PostgreSQL comes from $OPENDIALER_TEST_POSTGRES_URL
(default postgresql://postgres@127.0.0.1:5432/test); a scratch database is
created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import figures
from scratch_db import finished_calls, seed_started_campaign

from opendialer.core.engine.engine import Engine
from opendialer.core.engine.metrics import percentile
from opendialer.core.storage import connect
from opendialer.core.storage.migrate import migrate
from opendialer.core.storage.tables import CallRecord, Lead

AGENTS = 300


def sim_options(time_scale: float) -> dict[str, object]:
    return {
        "ports": 400,
        "agents": AGENTS,
        "handle_s": [5, 15],
        "ring_s": [1, 3],
        "no_answer_s": 20,
        "time_scale": time_scale,
        "seed": 7,
    }


async def wait_done(campaign_id: int, n: int) -> float:
    start = time.perf_counter()
    last_print = start
    while (done := await finished_calls(campaign_id)) < n:
        if time.perf_counter() - last_print > 10:
            last_print = time.perf_counter()
            print(f"    {done}/{n} calls after {last_print - start:.0f} s", flush=True)
        await asyncio.sleep(0.5)
    return time.perf_counter() - start


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def report(
    name: str,
    n: int,
    wall: float,
    cpu: float,
    lat_ms: list[float],
    steady_ms: list[float],
    rss_mb: float,
) -> None:
    """``steady_ms``: the latencies without the opening burst (every agent free at once)."""
    p50, p99 = percentile(lat_ms, 50), percentile(lat_ms, 99)
    s50, s99 = percentile(steady_ms, 50), percentile(steady_ms, 99)
    print(
        f"{name:8s} leads={n:>7,}  launched/s={n / wall:8.1f}  "
        f"agent-free→originate p50={p50 or 0:7.1f} ms p99={p99 or 0:7.1f} ms "
        f"(after the opening burst: p50={s50 or 0:7.1f} ms p99={s99 or 0:7.1f} ms)  "
        f"CPU s/1000 calls={cpu / n * 1000:6.2f}  peak RSS={rss_mb:6.0f} MB  wall={wall:6.1f} s",
        flush=True,
    )
    figures.report(f"engine {name}: calls launched", n / wall, "calls/s", note=f"{n:,} leads")
    figures.report(
        f"engine {name}: agent-free → originate p99 after the opening burst",
        s99,
        "ms",
        note=f"p50 {s50 or 0:.1f} ms",
    )
    figures.report(f"engine {name}: CPU per 1,000 calls", cpu / n * 1000, "s")


async def in_process(name: str, url: str, n: int, time_scale: float) -> None:
    db = await connect(url, pool_size=20)
    await migrate(db)
    cid = await seed_started_campaign(n, routing_target="sim", prefix="bench")
    engine = Engine(
        db,
        f"bench-{name}",
        platform="sim",
        platform_options=sim_options(time_scale),
        max_calls=400,
    )
    cpu0 = cpu_self()
    await engine.start()
    wall = await wait_done(cid, n)
    cpu = cpu_self() - cpu0
    lat = [x * 1000 for x in engine.metrics.latencies]
    await engine.stop()
    await db.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report(name, n, wall, cpu, lat, lat[AGENTS:], rss)


def spawn_engine(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "opendialer.cli", "serve", "--role", "engine"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def two_processes(url: str, n: int, time_scale: float, workdir: Path) -> None:
    db = await connect(url, pool_size=5)
    await migrate(db)
    cid = await seed_started_campaign(n, routing_target="sim", prefix="bench")
    env = dict(os.environ)
    env.update(
        OPENDIALER_DATABASE_URL=url,
        OPENDIALER_DATA_DIR=str(workdir),
        OPENDIALER_PLATFORM="sim",
        OPENDIALER_MAX_CALLS="400",
    )
    procs, logs = [], []
    cpu0 = cpu_children()
    for node in ("bench-a", "bench-b"):
        options = dict(sim_options(time_scale), agents=AGENTS // 2, center=node)
        log = workdir / f"{node}.log"
        logs.append(log)
        procs.append(
            spawn_engine(
                {
                    **env,
                    "OPENDIALER_NODE_ID": node,
                    "OPENDIALER_PLATFORM_OPTIONS": json.dumps(options),
                },
                log,
            )
        )
    wall = await wait_done(cid, n)
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=120)
    cpu = cpu_children() - cpu0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    pattern = re.compile(r"originate_latency_ms=([0-9.]+)")
    per_log = [[float(m) for m in pattern.findall(log.read_text())] for log in logs]
    lat = [x for samples in per_log for x in samples]
    steady = [x for samples in per_log for x in samples[AGENTS // 2 :]]
    per_node = {
        r["node"]: r["count"]
        for r in await CallRecord.raw(
            "SELECT node, count(*) AS count FROM call_record WHERE campaign = {} GROUP BY node",
            cid,
        ).run()
    }
    await db.close()
    report("pg2", n, wall, cpu, lat, steady, rss)
    print(f"         calls per node: {per_node}  (peak RSS is the larger of the two)")


ZONES = ("America/Sao_Paulo", "America/Manaus", "America/Rio_Branco", "America/Noronha")
CLAIMS = 400
CLAIM_SIZE = 20


async def _seed_zoned_leads(campaign_id: int, n: int, *, open_zone_last: bool) -> None:
    """``n`` due leads over the 4 zones: interleaved (lead i in zone i % 4), or in four
    blocks in due order (zone i * 4 // n) so the last zone's leads are all due last."""
    zone_of = "(i * 4 / $2)" if open_zone_last else "(i % 4)"
    case = " ".join(f"WHEN {k} THEN '{z}'" for k, z in enumerate(ZONES))
    await Lead.raw(
        "INSERT INTO lead (campaign, name, description, phone, attempts, status, "
        "next_attempt_at, timezone, timezone_source, deferred_reason, updated_at) "
        "SELECT {}, 'lead ' || i, '', '55' || (1100000000 + i)::text, 0, 'NOT_CALLED', "
        "now() - interval '1 day' + i * interval '1 millisecond', "
        f"CASE {zone_of} {case} END, 'number', '', now() "
        "FROM generate_series(0, {} - 1) AS i",
        campaign_id,
        n,
    ).run()


async def claims_by_zone(url: str, n: int) -> None:
    """Claim latency with local hours on ``n`` leads in 4 zones, against no policy."""
    from opendialer.core.engine.claims import claim_due_leads
    from opendialer.core.engine.local_hours import zone_keys

    db = await connect(url)
    await migrate(db)
    try:
        results: dict[str, list[float]] = {}
        for order in ("interleaved", "open-zone-last"):
            campaign_id = await seed_started_campaign(0, routing_target="static", prefix=order)
            started = time.perf_counter()
            await _seed_zoned_leads(campaign_id, n, open_zone_last=order == "open-zone-last")
            await Lead.raw("ANALYZE lead").run()
            print(f"  claims {order}: {n:,} leads seeded in {time.perf_counter() - started:.0f} s")
            keys_started = time.perf_counter()
            keys = await zone_keys(campaign_id)
            keys_ms = (time.perf_counter() - keys_started) * 1000
            figures.report(f"engine claims {order}: read the zone keys", keys_ms, "ms")
            print(f"    zone keys {keys} read in {keys_ms:.1f} ms")
            setups: list[tuple[str, list[str | None] | None]] = [
                ("no policy", None),
                ("3 zones open", [z for z in ZONES if z != ZONES[0]]),
                ("2 zones open", list(ZONES[2:])),
                ("1 zone open", [ZONES[3]]),
            ]
            for label, zones in setups:
                latencies = []
                for _ in range(CLAIMS):
                    t0 = time.perf_counter()
                    got = await claim_due_leads(
                        db,
                        campaign_id=campaign_id,
                        node="bench",
                        now=datetime.now(UTC),
                        limit=CLAIM_SIZE,
                        zones=zones,
                    )
                    latencies.append((time.perf_counter() - t0) * 1000)
                    assert len(got) == CLAIM_SIZE, (label, len(got))
                    # As the engine does at once: the attempt starts, the lead is not due.
                    await (
                        Lead.update({Lead.next_attempt_at: None})
                        .where(Lead.id.is_in([lead.id for lead in got]))
                        .run()
                    )
                results[f"{order} {label}"] = latencies
            base = results[f"{order} no policy"]
            for label, _ in setups:
                lat = results[f"{order} {label}"]
                p50, p99 = percentile(lat, 50), percentile(lat, 99)
                ratio = p99 / percentile(base, 99)
                print(
                    f"    {label:>12}: claim of {CLAIM_SIZE} p50 {p50:.2f} ms, p99 {p99:.2f} ms "
                    f"({ratio:.2f}x the p99 without a policy)",
                    flush=True,
                )
                figures.report(
                    f"engine claims {order}: p99 of a {CLAIM_SIZE}-lead claim, {label}",
                    p99,
                    "ms",
                    baseline=percentile(base, 99),
                    baseline_name="no policy, same run",
                    note=f"{n:,} leads in 4 zones, PostgreSQL",
                )
    finally:
        await db.close()


async def pg_scratch(admin_url: str) -> tuple[str, str]:
    name = f"opendialer_bench_{os.getpid()}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


async def pg_drop(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="100,000 leads")
    parser.add_argument("--leads", type=int, default=3000)
    parser.add_argument("--time-scale", type=float, default=0.05, help="simulated time factor")
    parser.add_argument("--only", choices=["sqlite1", "pg1", "pg2", "claims"], action="append")
    parser.add_argument(
        "--claim-leads", type=int, help="leads of the claims run (default 200,000; --full 1M)"
    )
    args = parser.parse_args()
    n = 100_000 if args.full else args.leads
    runs = args.only or ["sqlite1", "pg1", "pg2", "claims"]
    admin = os.environ.get(
        "OPENDIALER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    print(
        f"engine bench: {n:,} leads, {AGENTS} simulated agents, time scale {args.time_scale} "
        f"(ring 1-3 s, handle 5-15 s simulated), {os.cpu_count()} CPUs, "
        # Latencies are wall-clock: on a shared machine they follow its load.
        f"load average {os.getloadavg()[0]:.1f}, {date.today().isoformat()}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if "sqlite1" in runs:
            await in_process("sqlite1", f"sqlite:///{workdir / 'bench.sqlite'}", n, args.time_scale)
        for run in ("pg1", "pg2", "claims"):
            if run not in runs:
                continue
            name, url = await pg_scratch(admin)
            try:
                if run == "pg1":
                    await in_process("pg1", url, n, args.time_scale)
                elif run == "pg2":
                    await two_processes(url, n, args.time_scale, workdir)
                else:
                    claim_leads = args.claim_leads or (1_000_000 if args.full else 200_000)
                    await claims_by_zone(url, claim_leads)
            finally:
                await pg_drop(admin, name)


if __name__ == "__main__":
    asyncio.run(main())
