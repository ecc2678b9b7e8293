"""What authentication costs: argon2id at the production settings, a log-in over HTTP,
and an authenticated API request (bearer token resolution) — printed, not asserted.

    .venv/bin/python bench/auth.py [--requests 200] [--full]

Runs the app in-process (httpx.ASGITransport) on a temporary SQLite database, or on
``$OPENDIALER_DATABASE_URL`` if set (e.g. a scratch PostgreSQL database — it is
migrated, and a user ``bench-master`` is created in it). ``--full`` uses 2,000 requests.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import figures

PASSWORD = "correct-horse-battery"


def _p95(samples: list[float]) -> float:
    samples = sorted(samples)
    return samples[max(0, int(len(samples) * 0.95) - 1)]


def _ms(samples: list[float]) -> str:
    return (
        f"median {statistics.median(samples) * 1000:7.2f} ms   p95 {_p95(samples) * 1000:7.2f} ms"
    )


def bench_argon2(rounds: int) -> None:
    from opendialer.core.services import passwords

    hashes, verifies = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        stored = passwords.hash_password_sync(PASSWORD)
        hashes.append(time.perf_counter() - t)
        t = time.perf_counter()
        assert passwords.verify_password_sync(stored, PASSWORD)
        verifies.append(time.perf_counter() - t)
    print(f"argon2id hash   ({rounds} rounds): {_ms(hashes)}")
    print(f"argon2id verify ({rounds} rounds): {_ms(verifies)}")
    figures.report("argon2id hash, median", statistics.median(hashes) * 1000, "ms")
    figures.report("argon2id verify, median", statistics.median(verifies) * 1000, "ms")


async def bench_http(database_url: str, requests: int) -> None:
    from opendialer.admin_ui.app import create_app
    from opendialer.core.services import users
    from opendialer.core.storage import connect
    from opendialer.core.storage.migrate import migrate

    db = await connect(database_url)
    await migrate(db)
    try:
        if (
            not await users.DialerUser.exists()
            .where(users.DialerUser.username == "bench-master")
            .run()
        ):
            await users.create_master("bench-master", PASSWORD)
        app = create_app(database=db)
        transport = httpx.ASGITransport(app=app, client=("192.0.2.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            creds = {"username": "bench-master", "password": PASSWORD}
            logins = []
            for _ in range(10):
                t = time.perf_counter()
                r = await client.post("/api/v1/auth/token", json=creds)
                logins.append(time.perf_counter() - t)
                assert r.status_code == 201, r.text
            token = r.json()["token"]
            print(f"POST /api/v1/auth/token (10 log-ins):  {_ms(logins)}")
            figures.report(
                "POST /api/v1/auth/token (log-in), median",
                statistics.median(logins) * 1000,
                "ms",
                note="argon2id verify inside",
            )
            headers = {"Authorization": f"Bearer {token}"}
            reads = []
            start = time.perf_counter()
            for _ in range(requests):
                t = time.perf_counter()
                r = await client.get("/api/v1/auth/me", headers=headers)
                reads.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text
            wall = time.perf_counter() - start
            print(
                f"GET /api/v1/auth/me with a bearer token ({requests} sequential): "
                f"{_ms(reads)}   {requests / wall:6.0f} req/s"
            )
            figures.report(
                "GET /api/v1/auth/me with a bearer token, p95",
                _p95(reads) * 1000,
                "ms",
                note=f"{requests / wall:.0f} req/s sequential, in-process ASGI",
            )
    finally:
        await db.close()


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--full", action="store_true", help="2,000 requests, 20 argon2 rounds")
    args = parser.parse_args()
    requests = 2000 if args.full else args.requests
    for name in ("OPENDIALER_ARGON2_TIME_COST", "OPENDIALER_ARGON2_MEMORY_KIB"):
        if name in os.environ:
            print(f"note: {name}={os.environ[name]} (not the production default)")
    bench_argon2(20 if args.full else 5)
    url = os.environ.get("OPENDIALER_DATABASE_URL")
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        print(f"database: {url.split('@')[-1]}")
        asyncio.run(bench_http(url, requests))


if __name__ == "__main__":
    main()
