"""Import a lead CSV into a campaign: streamed, all-or-nothing, COPY on PostgreSQL.

How a file goes in (one database transaction):

1. A worker thread reads the file (:class:`~.leads_csv.LeadCsvReader`): rows are
   checked and their numbers normalised off the event loop, in batches of 5,000,
   handed over through a small bounded queue — memory stays flat whatever the size.
2. Valid rows go to a temporary staging table: ``COPY`` (asyncpg
   ``copy_records_to_table``) on PostgreSQL, ``executemany`` on SQLite.
3. ``INSERT INTO lead … SELECT … FROM staging`` inside a savepoint: the unique
   index on (campaign, phone) makes it fail if any number repeats in the file or
   is already a lead of the campaign. Only then are duplicates looked for, in SQL
   (a window function for repeats within the file, a join for existing leads),
   to report each with its line.

Numbers are checked for their shape only (:mod:`.phones`); those phonenumbers'
metadata calls unassigned are imported and counted in the report (``unassigned``,
``unassigned_lines``), a warning.
4. Any invalid row and no ``skip_invalid``: roll back, report every problem
   (the first 1,000, and the total). With ``skip_invalid``: insert the rest.

The campaign row is locked (updated) first, so it cannot start mid-import.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from opendialer.core.domain import CampaignState, LeadStatus
from opendialer.core.services import campaigns
from opendialer.core.services.campaign_regions import parse_region, region_of
from opendialer.core.services.common import Actor
from opendialer.core.services.errors import InvalidValue, ValidationFailed
from opendialer.core.services.leads_csv import (
    MAX_ERRORS,
    SNIFF_BYTES,
    LeadCsvReader,
    LeadRow,
    ReadReport,
    RowError,
    check_is_text,
    with_line_ends,
)

BATCH_ROWS = 5000
_DONE = object()
_COLUMNS = ("line", "name", "phone", "description", "timezone", "timezone_source")


class InvalidCsv(ValidationFailed):
    error = "invalid_csv"


class _Staging:
    """The staging table and the few statements the import runs, per dialect."""

    def __init__(self, connection: Any, postgres: bool) -> None:
        self.conn = connection
        self.postgres = postgres

    def sql(self, statement: str) -> str:
        """Statements are written with ``$1``; SQLite wants ``?``."""
        if self.postgres:
            return statement
        for n in range(9, 0, -1):
            statement = statement.replace(f"${n}", "?")
        return statement

    async def execute(self, statement: str, *args: Any) -> None:
        if self.postgres:
            await self.conn.execute(statement, *args)
        else:
            await self.conn.execute(self.sql(statement), args)

    async def fetch(self, statement: str, *args: Any) -> list[tuple[Any, ...]]:
        if self.postgres:
            return [tuple(r) for r in await self.conn.fetch(statement, *args)]
        cursor = await self.conn.execute(self.sql(statement), args)
        rows = await cursor.fetchall()
        await cursor.close()
        # Piccolo's SQLite connections make dict rows.
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in rows]

    async def create(self) -> None:
        temp = "ON COMMIT DROP" if self.postgres else ""
        if not self.postgres:
            await self.execute("DROP TABLE IF EXISTS temp.lead_import")
            await self.execute("DROP TABLE IF EXISTS temp.lead_import_bad")
        await self.execute(
            "CREATE TEMP TABLE lead_import (line INTEGER NOT NULL, name TEXT NOT NULL, "
            "phone TEXT NOT NULL, description TEXT NOT NULL, timezone TEXT, "
            f"timezone_source TEXT NOT NULL) {temp}"
        )
        await self.execute(
            "CREATE TEMP TABLE lead_import_bad (line INTEGER NOT NULL, first_line INTEGER, "
            f"lead_id INTEGER, phone TEXT NOT NULL) {temp}"
        )

    async def add(self, rows: list[LeadRow]) -> None:
        if self.postgres:
            await self.conn.copy_records_to_table("lead_import", records=rows, columns=_COLUMNS)
        else:
            await self.conn.executemany("INSERT INTO lead_import VALUES (?, ?, ?, ?, ?, ?)", rows)

    async def drop(self) -> None:
        if not self.postgres:
            await self.execute("DROP TABLE IF EXISTS temp.lead_import")
            await self.execute("DROP TABLE IF EXISTS temp.lead_import_bad")

    def _insert_sql(self, skip_bad: bool) -> str:
        where = (
            " WHERE NOT EXISTS (SELECT 1 FROM lead_import_bad b WHERE b.line = s.line)"
            if skip_bad
            else ""
        )
        return (
            "INSERT INTO lead (campaign, name, description, phone, attempts, status, "
            "next_attempt_at, lease_owner, lease_until, timezone, timezone_source, "
            "deferred_reason, updated_at) "
            f"SELECT $1, s.name, s.description, s.phone, 0, '{LeadStatus.NOT_CALLED.value}', "
            "NULL, NULL, NULL, s.timezone, s.timezone_source, '', $2 "
            f"FROM lead_import s{where} ORDER BY s.line"
        )

    async def try_insert(self, campaign_id: int, now: datetime) -> bool:
        """Insert every staged row; False (and nothing inserted) if a number repeats."""
        if self.postgres:
            try:
                async with self.conn.transaction():  # a savepoint
                    await self.execute(self._insert_sql(False), campaign_id, now)
                return True
            except asyncpg.UniqueViolationError:
                return False
        await self.execute("SAVEPOINT lead_import_try")
        try:
            await self.execute(self._insert_sql(False), campaign_id, now)
        except sqlite3.IntegrityError:
            await self.execute("ROLLBACK TO lead_import_try")
            await self.execute("RELEASE lead_import_try")
            return False
        await self.execute("RELEASE lead_import_try")
        return True

    async def find_duplicates(self, campaign_id: int) -> tuple[list[RowError], int]:
        """Rows repeating an earlier line's number, or an existing lead's: (first ones, count)."""
        await self.execute(
            "INSERT INTO lead_import_bad (line, first_line, lead_id, phone) "
            "SELECT line, first_line, NULL, phone FROM (SELECT line, phone, "
            "min(line) OVER (PARTITION BY phone) AS first_line FROM lead_import) d "
            "WHERE line <> first_line"
        )
        await self.execute(
            "INSERT INTO lead_import_bad (line, first_line, lead_id, phone) "
            "SELECT s.line, NULL, l.id, s.phone FROM lead_import s "
            "JOIN lead l ON l.campaign = $1 AND l.phone = s.phone",
            campaign_id,
        )
        await self.execute("CREATE INDEX lead_import_bad_line ON lead_import_bad (line)")
        total = (await self.fetch("SELECT count(DISTINCT line) FROM lead_import_bad"))[0][0]
        rows = await self.fetch(
            "SELECT line, first_line, lead_id, phone FROM lead_import_bad "
            "ORDER BY line, CASE WHEN lead_id IS NULL THEN 1 ELSE 0 END LIMIT $1",
            MAX_ERRORS * 2,
        )
        errors: dict[int, RowError] = {}
        for line, first_line, lead_id, phone in rows:
            if line in errors:
                continue
            if lead_id is not None:
                reason = InvalidValue("lead_row.duplicate_lead", phone=phone, id=lead_id)
            else:
                reason = InvalidValue("lead_row.duplicate_line", phone=phone, line=first_line)
            errors[line] = RowError(line, "phone", reason)
        return list(errors.values())[:MAX_ERRORS], int(total)

    async def insert_valid(self, campaign_id: int, now: datetime) -> None:
        await self.execute(self._insert_sql(True), campaign_id, now)

    async def count(self, table: str) -> int:
        return int((await self.fetch(f"SELECT count(*) FROM {table}"))[0][0])


async def _read_in_thread(
    path: Path, region: str, on_bytes: Callable[[int], None] | None, report_out: list[ReadReport]
) -> AsyncIterator[list[LeadRow]]:
    """Batches of valid rows, read by a worker thread; at most 4 batches wait in memory."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=4)
    stop = threading.Event()

    def hand_over(item: Any) -> None:
        if not stop.is_set():
            asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()

    def produce() -> None:
        try:
            with path.open("rb") as raw:
                head = raw.read(SNIFF_BYTES)
                check_is_text(head)
                stream = with_line_ends(raw, head)
                reader = LeadCsvReader(stream, region, on_bytes=on_bytes)
                report_out.append(reader.report)
                for batch in reader.batches(BATCH_ROWS):
                    if stop.is_set():
                        return
                    hand_over(batch)
            hand_over(_DONE)
        except BaseException as exc:  # handed to the event loop, raised there
            hand_over(exc)

    worker = loop.run_in_executor(None, produce)
    try:
        while True:
            item = await queue.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while not worker.done():  # unblock a producer waiting on a full queue
            while not queue.empty():
                queue.get_nowait()
            await asyncio.sleep(0.005)


def _result(
    report: ReadReport, errors: list[RowError], total: int, imported: int, region: str
) -> dict:
    return {
        "imported": imported,
        "rejected": total,
        "lines": report.lines,
        "header": report.header,
        "errors": [e.as_dict() for e in errors],
        "errors_total": total,
        # a warning, never a refusal: see core/services/phones.py
        "region": region,
        "unassigned": report.unassigned,
        "unassigned_lines": report.unassigned_lines,
        # their countries: the region they were read in unless they carry another's code
        "unassigned_regions": report.unassigned_regions or ([region] if report.unassigned else []),
    }


def unassigned_warning(report: dict[str, Any]) -> str:
    """``2 numbers look unassigned in BR: lines 3, 7`` (the first lines only; the
    numbers' countries, which need not be the region they were read in)."""
    count, lines = report["unassigned"], report["unassigned_lines"]
    listed = ", ".join(str(n) for n in lines) + (", …" if count > len(lines) else "")
    noun = "number looks" if count == 1 else "numbers look"
    word = "line" if count == 1 else "lines"
    return (
        f"{count} {noun} unassigned in {', '.join(report['unassigned_regions'])}: "
        f"{word} {listed} "
        "(imported anyway; the dialer's list of phone number ranges in use does not "
        "include them, but that list is often out of date: check them if calls fail)"
    )


async def import_file(
    actor: Actor,
    campaign_id: int,
    path: Path,
    *,
    skip_invalid: bool = False,
    region: str | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Import the CSV at ``path`` into a STOPPED campaign; a report of what happened.

    Raises :class:`InvalidCsv` (nothing imported) when a row is invalid and
    ``skip_invalid`` is false; ``NotCsv`` for a binary file; ``ValidationFailed``
    for a file without rows. ``region`` overrides the campaign's ``default_region``
    for numbers written without a country code.
    """
    campaign = await campaigns.load_for_change(actor, campaign_id)
    region = parse_region(region) if region is not None else region_of(campaign)
    now = datetime.now(UTC)
    reports: list[ReadReport] = []
    engine = campaigns.Campaign._meta.db
    async with campaigns.write_transaction() as transaction:
        locked = (
            await campaigns.Campaign.update({campaigns.Campaign.updated_at: now})
            .where(
                (campaigns.Campaign.id == campaign_id)
                & (campaigns.Campaign.state == CampaignState.STOPPED.value)
            )
            .returning(campaigns.Campaign.id)
            .run()
        )
        if not locked:
            campaigns.require_stopped({**campaign, "state": CampaignState.STARTED.value})
        stage = _Staging(transaction.connection, postgres=engine.engine_type == "postgres")
        await stage.create()
        try:
            async for batch in _read_in_thread(path, region, on_bytes, reports):
                await stage.add(batch)
            report = reports[0]
            if report.valid_rows + report.invalid_rows == 0:
                raise ValidationFailed("lead_file.empty", error="empty_csv")
            inserted = False
            duplicates: list[RowError] = []
            duplicate_total = 0
            if not report.invalid_rows or skip_invalid:
                inserted = await stage.try_insert(campaign_id, now)
            if not inserted:
                duplicates, duplicate_total = await stage.find_duplicates(campaign_id)
            errors = sorted([*report.errors, *duplicates], key=lambda e: e.line)[:MAX_ERRORS]
            total = report.invalid_rows + duplicate_total
            if total and not skip_invalid:
                raise InvalidCsv(
                    "lead_file.invalid_rows",
                    n=total,
                    first_line=errors[0].line,
                    reason=errors[0].reason,
                    valid=report.valid_rows - duplicate_total,
                    line=errors[0].line,
                    extra=_result(report, errors, total, 0, region),
                )
            if not inserted:
                await stage.insert_valid(campaign_id, now)
            imported = report.valid_rows - duplicate_total
        finally:
            await stage.drop()
    return _result(report, errors, total, imported, region)
