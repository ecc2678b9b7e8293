"""Latency of ``GET /api/v1/campaigns/{id}/leads`` on a campaign with many leads, over
HTTP against a uvicorn server in another process, on PostgreSQL (goal: p95 < 50 ms
for the list with 1,000,000 leads).

    python bench/leads_list.py                  # 200,000 leads (quick)
    python bench/leads_list.py --full           # 1,000,000 leads
    python bench/leads_list.py --leads 50000 --requests 400

A throw-away database is created and dropped at the end; the leads go in through
the lead import (COPY). 20 % of them get another status, so ``?status=`` has work to
do. Requests go one at a time with a bearer token, ``per_page=50``: the first 100
pages, pages by status, and (reported apart) ``?q=`` searches (pg_trgm GIN indexes on PostgreSQL, migration m0004).
Prints p50/p95/max per kind; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import report
from scratch_db import DEFAULT_ADMIN_URL, bench_campaign, first_group_id, scratch_database

from opendialer.core.services import auth, lead_import, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database

SERVER = (
    "import sys, uvicorn\n"
    "from opendialer.admin_ui.app import create_app\n"
    "uvicorn.run(create_app(sys.argv[1]), host='127.0.0.1', port=int(sys.argv[2]),"
    " log_level='warning')\n"
)


FIGURE_KEYS = {
    "page 1..100": "page",
    "status=BUSY|FAILURE|NOT_CALLED": "status",
    "q=<name or digits>": "q",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_csv(rows: int, path: Path) -> None:
    with path.open("w") as f:
        for n in range(rows):
            f.write(f"Lead {n},55419{80_000_000 + n}\n")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed(client: httpx.AsyncClient, url: str, params: dict) -> float:
    started = time.perf_counter()
    r = await client.get(url, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    assert r.status_code == 200, r.text
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--full", action="store_true", help="1,000,000 leads")
    parser.add_argument("--requests", type=int, default=300, help="per list kind")
    parser.add_argument("--searches", type=int, default=20, help="?q= requests")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args()
    count = 1_000_000 if args.full else args.leads

    figures: dict[str, list[float]] = {}
    async with scratch_database(args.admin_url) as (url, db):
        await measure(args, count, url, db, figures)
    print("goal: p95 < 50 ms for the list (page and status kinds)")
    me = percentile(figures["me"], 0.95)
    for key, label, goal in (
        ("page", "leads list p95, pages 1..100", True),
        ("status", "leads list p95, by status", True),
        ("q", "leads list p95, ?q= search", False),
    ):
        p95 = percentile(figures[key], 0.95)
        report(
            f"{label}, {count:,} leads",
            p95,
            "ms",
            baseline=me,
            baseline_name="GET /api/v1/auth/me p95",
            goal="< 50 ms at 1,000,000 leads" if goal else None,
            met=(p95 < 50) if goal and count >= 1_000_000 else None,
        )


async def measure(
    args: argparse.Namespace, count: int, url: str, db: Database, figures: dict[str, list[float]]
) -> None:
    """Import the leads, serve the app, time the requests into ``figures`` (ms by kind)."""
    group = await first_group_id()
    cid = await bench_campaign()
    server = None
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "leads.csv"
            await asyncio.to_thread(write_csv, count, path)
            started = time.perf_counter()
            await lead_import.import_file(SYSTEM, cid, path)
            print(f"imported {count:,} leads in {time.perf_counter() - started:.1f} s")
        await db.engine.run_ddl(
            "UPDATE lead SET status = CASE WHEN id % 10 = 0 THEN 'BUSY' ELSE 'FAILURE' END "
            "WHERE id % 5 = 0"
        )
        await db.engine.run_ddl("VACUUM ANALYZE lead")
        user = await users.create_user(
            SYSTEM,
            {
                "username": "bench-admin",
                "password": "bench-password-123",
                "role": "campaign_admin",
                "group_ids": [group],
            },
        )
        token = (await auth.issue(await users.actor_for(user["id"]), auth.BEARER)).token
        port = free_port()
        server = await asyncio.create_subprocess_exec(sys.executable, "-c", SERVER, url, str(port))
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            for _ in range(100):
                try:
                    await client.get("/healthz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
            leads_url = f"/api/v1/campaigns/{cid}/leads"
            rnd = random.Random(5)
            for _ in range(20):  # warm-up: connections, plans, caches
                await timed(client, leads_url, {"per_page": 50})
            # Baseline: an authenticated request that reads nothing else (token,
            # user, groups) — what every API call costs on this machine right now.
            me = figures["me"] = [
                await timed(client, "/api/v1/auth/me", {}) for _ in range(args.requests)
            ]
            print(f"leads in the campaign: {count:,}; per_page=50, one request at a time")
            print(
                f"  {'baseline GET /api/v1/auth/me':<32} n={len(me):<4} "
                f"p50 {statistics.median(me):7.1f} ms   p95 {percentile(me, 0.95):7.1f} ms   "
                f"max {max(me):7.1f} ms"
            )
            kinds = {
                "page 1..100": lambda: {"page": rnd.randint(1, 100), "per_page": 50},
                "status=BUSY|FAILURE|NOT_CALLED": lambda: {
                    "status": rnd.choice(["BUSY", "FAILURE", "NOT_CALLED"]),
                    "page": rnd.randint(1, 20),
                    "per_page": 50,
                },
                "q=<name or digits>": lambda: {
                    "q": rnd.choice([f"Lead {rnd.randint(0, count - 1)}", "98000"]),
                    "per_page": 50,
                },
            }
            for kind, params in kinds.items():
                n = args.searches if kind.startswith("q=") else args.requests
                values = [await timed(client, leads_url, params()) for _ in range(n)]
                figures[FIGURE_KEYS[kind]] = values
                print(
                    f"  {kind:<32} n={n:<4} p50 {statistics.median(values):7.1f} ms   "
                    f"p95 {percentile(values, 0.95):7.1f} ms   max {max(values):7.1f} ms",
                    flush=True,
                )
    finally:
        if server is not None:
            server.terminate()
            await asyncio.wait_for(server.wait(), 10)


if __name__ == "__main__":
    asyncio.run(main())
