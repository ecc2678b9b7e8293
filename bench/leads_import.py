"""Lead CSV import into PostgreSQL, as a ratio to ``psql \\copy`` of the same rows
into the same table, both measured in this run (goal: ratio ≤ 2.0).

    python bench/leads_import.py                 # 200,000 rows (quick)
    python bench/leads_import.py --full          # 1,000,000 rows
    python bench/leads_import.py --rows 50000 --admin-url postgresql://postgres@127.0.0.1:5432/postgres

A throw-away database is created on the server and dropped at the end. The CSV is
what people upload: ``name,phone`` with national Brazilian mobile numbers written
``41 98xxx-xxxx`` (half) or as plain E.164 digits (half), campaign region BR.
``\\copy`` gets the already-normalised rows (what it cannot do: check, normalise,
detect duplicates) in COPY CSV form for the ``lead`` table's columns. Between runs
the ``lead`` table is truncated, so both write into the same empty table with the
same indexes. The import is the service the CLI and the API call
(``core/services/lead_import.py``): read + check in a worker thread, COPY into a
staging table, one INSERT … SELECT. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import report
from scratch_db import DEFAULT_ADMIN_URL, bench_campaign, scratch_database

from opendialer.core.services import lead_import
from opendialer.core.services.common import SYSTEM
from opendialer.core.services.phones import PhoneNormaliser, normalise_slow


def write_files(rows: int, folder: Path, campaign_id: int) -> tuple[Path, Path]:
    upload, copy = folder / "leads.csv", folder / "leads.copy.csv"
    with upload.open("w") as up, copy.open("w") as cp:
        up.write("name,phone\n")
        for n in range(rows):
            subscriber = 80_000_000 + n
            raw = (
                f"41 9{subscriber // 10000:04d}-{subscriber % 10000:04d}"
                if n % 2
                else f"55419{subscriber}"
            )
            up.write(f"Lead {n},{raw}\n")
            cp.write(
                f'{campaign_id},Lead {n},"",55419{subscriber},0,NOT_CALLED,2026-11-27 00:00:00+00\n'
            )
    return upload, copy


def phone_costs(count: int = 50_000) -> tuple[float, float]:
    """µs per number: the fast path, and phonenumbers itself, on the same inputs."""
    numbers = [
        f"41 9{8000 + n % 2000:04d}-{n % 10000:04d}" if n % 2 else f"55419{80_000_000 + n}"
        for n in range(count)
    ]
    normalise = PhoneNormaliser("BR")
    started = time.perf_counter()
    for raw in numbers:
        normalise(raw)
    fast = (time.perf_counter() - started) / count * 1e6
    started = time.perf_counter()
    for raw in numbers[: count // 5]:
        normalise_slow(raw, "BR")
    slow = (time.perf_counter() - started) / (count // 5) * 1e6
    return fast, slow


def psql_copy(url: str, path: Path) -> float:
    command = (
        f"\\copy lead (campaign, name, description, phone, attempts, status, updated_at) "
        f"FROM '{path}' WITH (FORMAT csv)"
    )
    started = time.perf_counter()
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", command], check=True)
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--full", action="store_true", help="1,000,000 rows")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the best is kept")
    args = parser.parse_args()
    rows = 1_000_000 if args.full else args.rows

    async with scratch_database(args.admin_url) as (url, db):
        campaign_id = await bench_campaign()
        with tempfile.TemporaryDirectory() as folder:
            upload, copy = await asyncio.to_thread(write_files, rows, Path(folder), campaign_id)
            size_mb = upload.stat().st_size / 1e6
            copy_times, import_times = [], []
            summary: dict = {}
            for _ in range(args.repeat):
                await db.engine.run_ddl("TRUNCATE lead CASCADE")
                copy_times.append(await asyncio.to_thread(psql_copy, url, copy))
                await db.engine.run_ddl("TRUNCATE lead CASCADE")
                started = time.perf_counter()
                summary = await lead_import.import_file(SYSTEM, campaign_id, upload)
                import_times.append(time.perf_counter() - started)
            assert summary["imported"] == rows, summary

    best_copy, best_import = min(copy_times), min(import_times)
    fast_us, slow_us = phone_costs()
    print(f"rows                      {rows:,} ({size_mb:.1f} MB CSV, half formatted, half E.164)")
    print(f"psql \\copy (clean rows)   {best_copy:.2f} s")
    print(f"lead import (service)     {best_import:.2f} s  ({rows / best_import:,.0f} rows/s)")
    print(f"ratio import / \\copy      {best_import / best_copy:.2f}   (goal <= 2.0)")
    print(f"phone check, fast path    {fast_us:.1f} µs/number (phonenumbers: {slow_us:.1f} µs)")
    ratio = best_import / best_copy
    report(
        f"lead import, {rows:,} rows",
        best_import,
        "s",
        baseline=best_copy,
        baseline_name="psql \\copy of the clean rows",
        goal="ratio <= 2.0",
        met=ratio <= 2.0,
    )
    report(
        "phone check, fast path",
        fast_us,
        "µs/number",
        baseline=slow_us,
        baseline_name="phonenumbers",
    )


if __name__ == "__main__":
    asyncio.run(main())
