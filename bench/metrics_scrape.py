"""What a ``/metrics`` scrape costs with many due leads — prints figures, asserts nothing.

    .venv/bin/python bench/metrics_scrape.py                  # 1,000,000 due leads, PostgreSQL
    .venv/bin/python bench/metrics_scrape.py --leads 200000 --campaigns 20

Fills a scratch PostgreSQL database ($OPENDIALER_TEST_POSTGRES_URL, dropped at the
end) with STARTED campaigns whose leads are all due, then times:

- the database view (``dialing_overview.overview``: campaigns, today's schedule
  entries, due leads per campaign) — what a scrape costs every ``db_refresh_s``;
- ``render()`` with that view cached — what every other scrape costs;
- the event loop's worst lag while scrapes run (the queries are awaited, never
  blocking the loop).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import figures

from bench.scratch_db import DEFAULT_ADMIN_URL, first_group_id, scratch_database
from opendialer.core.services.dialing_overview import overview
from opendialer.core.storage.tables import Campaign, Schedule
from opendialer.plugins.metrics_prometheus.exporter import PrometheusExporter
from opendialer.plugins.metrics_prometheus.loop_lag import LoopLagMonitor


async def fill(db_url: str, campaigns: int, leads: int) -> None:
    import asyncpg

    group = await first_group_id()
    today = datetime.now(UTC).date()
    ids = []
    for n in range(campaigns):
        row = Campaign(
            name=f"bench {n}",
            group=group,
            start_date=today,
            end_date=today,
            start_time=dtime(0),
            end_time=dtime(23, 59, 59),
            timezone="UTC",
            weekdays="mon,tue,wed,thu,fri,sat,sun",
            pilot_number="1",
            type="OSCC",
            queue="q",
            state="STARTED",
        )
        await row.save().run()
        ids.append(int(row.id))
        await (
            Schedule(campaign=row.id, date=today, start_time=dtime(0), end_time=dtime(23, 59, 59))
            .save()
            .run()
        )
    conn = await asyncpg.connect(db_url)
    try:
        per = leads // campaigns
        for cid in ids:
            await conn.execute(
                "INSERT INTO lead (campaign, name, description, phone, attempts, status, "
                "next_attempt_at, updated_at) SELECT $1, 'lead', '', "
                "(5541900000000 + g)::text, 0, 'NOT_CALLED', now() - interval '1 minute', now() "
                "FROM generate_series(1, $2) g",
                cid,
                per,
            )
        await conn.execute("VACUUM ANALYZE lead")  # as autovacuum leaves a settled table
    finally:
        await conn.close()


async def timed(coro_factory: object, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        await coro_factory()  # type: ignore[operator]
        out.append(time.perf_counter() - started)
    return out


def ms(values: list[float]) -> str:
    return f"p50={statistics.median(values) * 1000:8.2f} ms  max={max(values) * 1000:8.2f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--campaigns", type=int, default=10)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args()
    async with scratch_database(args.admin_url) as (url, _db):
        started = time.perf_counter()
        await fill(url, args.campaigns, args.leads)
        print(
            f"metrics scrape bench: {args.leads:,} due leads in {args.campaigns} STARTED "
            f"campaigns, PostgreSQL (filled in {time.perf_counter() - started:.1f} s)"
        )
        view = await overview(datetime.now(UTC))
        assert sum(c.leads_due for c in view.campaigns) == args.leads // args.campaigns * len(
            view.campaigns
        )
        lag = LoopLagMonitor(interval_s=0.01)
        lag.start()
        database = await timed(lambda: overview(datetime.now(UTC)), 10)
        exporter = PrometheusExporter(db_refresh_s=3600)
        await exporter.start()
        await exporter.render()
        cached = await timed(exporter.render, 200)
        body, _ = await exporter.render()
        await exporter.close()
        await lag.stop()
        print(f"  database view (every db_refresh_s)  {ms(database)}")
        print(f"  render, view cached (each scrape)   {ms(cached)}  body={len(body):,} bytes")
        print(f"  worst event-loop lag meanwhile      {lag.max_s * 1000:8.2f} ms")
        size = f"{args.leads:,} due leads"
        figures.report(
            f"/metrics database view p50, {size}", statistics.median(database) * 1e3, "ms"
        )
        figures.report("/metrics render p50, view cached", statistics.median(cached) * 1e3, "ms")
        figures.report("/metrics worst event-loop lag while scraping", lag.max_s * 1e3, "ms")


if __name__ == "__main__":
    asyncio.run(main())
