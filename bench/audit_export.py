"""The audit export's memory and speed on PostgreSQL: a million rows streamed as CSV.

    python bench/audit_export.py                # 1,000,000 rows
    python bench/audit_export.py --rows 200000

A throw-away database gets a campaign and N audit rows (one ``INSERT … SELECT
generate_series``; the detail of a call's end, as the engine writes it). The export
(``core/services/audit_export.py``, what the API, the page and the CLI stream) is
read to its end twice in this process (counted, not kept): first a tenth of the rows, then all of
them. Figures: rows/s, MB/s of CSV, and the process's peak RSS before the exports
(baseline: imports, pool, a first batch read), after the tenth and after all — if the
export held its rows, the peak would grow with N (a million row objects are
gigabytes); streamed, it stays where the tenth left it. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import report
from scratch_db import DEFAULT_ADMIN_URL, bench_campaign, scratch_database

from opendialer.core.services.audit_export import open_export
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage.tables import AuditEvent

T0 = datetime(2030, 1, 7, 0, 0, tzinfo=UTC)
DETAIL = (
    '{"amd_decision_ms": 1830.5, "amd_verdict": "HUMAN", "answered_at": null,'
    ' "detail_code": null, "disposition": "transferred", "next_attempt_at": null,'
    ' "sip_code": 200, "started_at": "2030-01-07T09:00:00+00:00", "status": "SUCCESS",'
    ' "transfer_result": 202}'
)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def fill(campaign_id: int, rows: int) -> None:
    await AuditEvent.raw(
        "INSERT INTO audit_event (at, campaign, campaign_name, lead, attempt, call_id, number,"
        " kind, node, detail)"
        " SELECT {}::timestamptz + i * interval '100 milliseconds', {}, 'bench', i, 1,"
        " 'call-' || i, '5541' || lpad(i::text, 9, '0'), 'attempt_ended', 'node-a', {}"
        f" FROM generate_series(1, {rows}) AS i",
        T0,
        campaign_id,
        DETAIL,
    ).run()


async def export(campaign_id: int, end: datetime) -> tuple[int, int, float]:
    """Stream the rows before ``end``, counting them: (rows, bytes, seconds)."""
    job = await open_export(SYSTEM, campaign_id, T0, end)
    started = time.perf_counter()
    lines = size = 0
    async for chunk in job.csv_chunks():
        lines += chunk.count("\r\n")
        size += len(chunk)
    return lines - 1, size, time.perf_counter() - started


async def main(rows: int) -> None:
    async with scratch_database(DEFAULT_ADMIN_URL):
        campaign_id = await bench_campaign()
        started = time.perf_counter()
        await fill(campaign_id, rows)
        print(f"audit export bench: {rows:,} rows made in {time.perf_counter() - started:.1f} s")
        await export(campaign_id, T0 + timedelta(milliseconds=100))  # one row: pool, imports
        baseline = peak_rss_mb()
        tenth_end = T0 + timedelta(milliseconds=100 * (rows // 10 + 1))
        n, _, _ = await export(campaign_id, tenth_end)
        after_tenth = peak_rss_mb()
        total, size, seconds = await export(campaign_id, T0 + timedelta(days=365))
        after_all = peak_rss_mb()
        assert total == rows, (total, rows)
        print(
            f"  export of {total:,} rows: {seconds:.1f} s, {total / seconds:,.0f} rows/s, "
            f"{size / 1e6 / seconds:.1f} MB/s of CSV ({size / 1e6:.0f} MB)"
        )
        print(
            f"  peak RSS: {baseline:.0f} MB before (baseline), {after_tenth:.0f} MB after "
            f"{n:,} rows, {after_all:.0f} MB after {total:,} rows "
            f"(+{after_all - baseline:.0f} MB over the baseline for {size / 1e6:.0f} MB of CSV)"
        )
        report("audit export rows/s", total / seconds, "rows/s", note=f"{total:,} rows")
        report(
            "audit export peak RSS",
            after_all,
            "MB",
            baseline=baseline,
            baseline_name="the process before the export",
            note=f"{total:,} rows, {size / 1e6:.0f} MB of CSV",
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    asyncio.run(main(parser.parse_args().rows))
