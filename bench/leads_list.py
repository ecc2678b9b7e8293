"""Latency of ``GET /api/v1/campaigns/{id}/leads`` on a campaign with many leads, over
HTTP against a uvicorn server in another process, on PostgreSQL (goal: p95 < 50 ms
for the list with 1,000,000 leads).

    python bench/leads_list.py                  # 200,000 leads (quick)
    python bench/leads_list.py --full           # 1,000,000 leads
    python bench/leads_list.py --leads 50000 --requests 400

A throw-away database is created and dropped at the end; the leads go in through
the lead import (COPY). 20 % of them get another status, so ``?status=`` has work to
do. Requests go one at a time with a bearer token, ``per_page=50``: the first 100
pages, pages by status, and (reported apart) ``?q=`` searches, which scan.
Prints p50/p95/max per kind; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opendialer.core.services import auth, campaigns, lead_import, users  # noqa: E402
from opendialer.core.services.common import SYSTEM  # noqa: E402
from opendialer.core.storage import connect  # noqa: E402
from opendialer.core.storage.migrate import migrate  # noqa: E402
from opendialer.core.storage.tables import DialerGroup  # noqa: E402

SERVER = (
    "import sys, uvicorn\n"
    "from opendialer.admin_ui.app import create_app\n"
    "uvicorn.run(create_app(sys.argv[1]), host='127.0.0.1', port=int(sys.argv[2]),"
    " log_level='warning')\n"
)


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
    parser.add_argument("--searches", type=int, default=20, help="?q= requests (they scan)")
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "OPENDIALER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    count = 1_000_000 if args.full else args.leads

    name = f"opendialer_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(args.admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(args.admin_url)._replace(path=f"/{name}"))
    server = None
    db = await connect(url)
    try:
        await migrate(db)
        group = (await DialerGroup.select(DialerGroup.id).first().run())["id"]
        campaign = await campaigns.create_campaign(
            SYSTEM,
            {
                "name": "bench",
                "group_id": group,
                "start_date": "2030-01-07",
                "end_date": "2030-01-11",
                "start_time": "09:00",
                "end_time": "18:00",
                "pilot_number": "1",
                "default_region": "BR",
            },
        )
        cid = campaign["id"]
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
            me = [await timed(client, "/api/v1/auth/me", {}) for _ in range(args.requests)]
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
                "q=<name or digits> (scan)": lambda: {
                    "q": rnd.choice([f"Lead {rnd.randint(0, count - 1)}", "98000"]),
                    "per_page": 50,
                },
            }
            for kind, params in kinds.items():
                n = args.searches if kind.startswith("q=") else args.requests
                values = [await timed(client, leads_url, params()) for _ in range(n)]
                print(
                    f"  {kind:<32} n={n:<4} p50 {statistics.median(values):7.1f} ms   "
                    f"p95 {percentile(values, 0.95):7.1f} ms   max {max(values):7.1f} ms",
                    flush=True,
                )
    finally:
        if server is not None:
            server.terminate()
            await asyncio.wait_for(server.wait(), 10)
        await db.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    print("goal: p95 < 50 ms for the list (page and status kinds)")


if __name__ == "__main__":
    asyncio.run(main())
