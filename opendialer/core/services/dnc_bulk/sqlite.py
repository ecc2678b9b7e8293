"""The SQLite path of Do-Not-Call bulk writes and reads: a connection of its own,
one ``BEGIN IMMEDIATE`` transaction for a write, one read transaction for a load.

A connection and every statement on it stay on one thread. A write runs its
steps on a single-thread executor of its own and its steps return plain values,
never a cursor: a cursor dropped on another thread resets its statement there,
and the statement cache hands that same statement to the next ``executemany`` —
resetting it under a running chunk is ``sqlite3.InterfaceError: bad parameter or
other API misuse``. The one thread also orders a ROLLBACK after a statement still
running when the write was cancelled, instead of beside it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TypeVar

import numpy as np
from piccolo.engine.sqlite import SQLiteEngine

from opendialer.core.services.dnc_bulk import layout
from opendialer.core.services.dnc_bulk.layout import ListRead, Numbers, WriteProgress

T = TypeVar("T")


def connect(engine: SQLiteEngine) -> sqlite3.Connection:
    conn = sqlite3.connect(engine.path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


class _ConnectionThread:
    """A connection and the one thread that runs everything on it, in order."""

    def __init__(self, engine: SQLiteEngine) -> None:
        self._engine = engine
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opendialer-dnc")
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        self._conn = await self._submit(lambda: connect(self._engine))

    async def run(self, step: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        assert conn is not None, "open() first"
        return await self._submit(lambda: step(conn))

    async def close(self) -> None:
        try:
            if self._conn is not None:
                await self._submit(self._conn.close)
        finally:
            self._executor.shutdown(wait=False)

    def _submit(self, call: Callable[[], T]) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._executor, call)


@asynccontextmanager
async def _connection_thread(engine: SQLiteEngine) -> AsyncIterator[_ConnectionThread]:
    thread = _ConnectionThread(engine)
    try:
        await thread.open()
        yield thread
    finally:
        await thread.close()


# -- writing -----------------------------------------------------------------


def _execute(sql: str, *params: object) -> Callable[[sqlite3.Connection], None]:
    def step(conn: sqlite3.Connection) -> None:
        conn.execute(sql, params).close()

    return step


def _begin(service_id: int, replace: bool) -> Callable[[sqlite3.Connection], tuple[int, int]]:
    """Bump the list version (and clear the list on a replace): (version, replaced_in)."""

    def step(conn: sqlite3.Connection) -> tuple[int, int]:
        conn.execute(layout.bump_sql(replace, "?", backend="sqlite"), (service_id,)).close()
        if replace:
            for table in ("dnc_number", "dnc_snapshot"):
                conn.execute(f"DELETE FROM {table} WHERE service = ?", (service_id,)).close()
        cursor = conn.execute(
            "SELECT list_version, replaced_in FROM dnc_service WHERE id = ?", (service_id,)
        )
        version, replaced_in = cursor.fetchone()
        cursor.close()
        return int(version), int(replaced_in)

    return step


def _insert(service_id: int, part: list[int], version: int) -> Callable[[sqlite3.Connection], int]:
    """Insert one chunk: the rows it added (the others were on the list already)."""

    def step(conn: sqlite3.Connection) -> int:
        before = conn.total_changes
        conn.executemany(
            "INSERT OR IGNORE INTO dnc_number (service, number, added_in) VALUES (?, ?, ?)",
            [(service_id, n, version) for n in part],
        ).close()
        return conn.total_changes - before

    return step


async def write(
    engine: SQLiteEngine,
    service_id: int,
    numbers: Numbers,
    replace: bool,
    progress: WriteProgress | None,
) -> tuple[int, int, int]:
    total = int(numbers.size)
    async with _connection_thread(engine) as thread:
        await thread.run(_execute("BEGIN IMMEDIATE"))
        try:
            version, replaced_in = await thread.run(_begin(service_id, replace))
            added = 0
            written = 0
            chunk = layout.WRITE_CHUNK
            for start in range(0, total, chunk):
                part = numbers[start : start + chunk].tolist()
                added += await thread.run(_insert(service_id, part, version))
                written += len(part)
                if progress is not None:
                    progress(written, total)
            if replace:
                await thread.run(lambda conn: _write_snapshot(conn, service_id, version, numbers))
                on_list = added
            else:
                on_list = await thread.run(
                    lambda conn: _after_append(conn, service_id, version, replaced_in)
                )
            await thread.run(_execute("COMMIT"))
        except BaseException:
            await thread.run(_execute("ROLLBACK"))
            raise
    return added, on_list, version


def _write_snapshot(
    conn: sqlite3.Connection, service_id: int, version: int, numbers: Numbers
) -> None:
    conn.executemany(
        "INSERT INTO dnc_snapshot (service, part, version, numbers, data) VALUES (?, ?, ?, ?, ?)",
        [
            (service_id, part, version, count, data)
            for part, count, data in layout.snapshot_parts(numbers)
        ],
    ).close()


def _after_append(conn: sqlite3.Connection, service_id: int, version: int, replaced_in: int) -> int:
    """Numbers on the list after an append; rewrites the snapshot when it lags too far."""
    snapshot_version, in_snapshot = _snapshot_head(conn, service_id, replaced_in, version)
    (since,) = conn.execute(
        "SELECT count(*) FROM dnc_number WHERE service = ? AND added_in > ?",
        (service_id, snapshot_version),
    ).fetchone()
    if since >= layout.SNAPSHOT_DELTA_LIMIT:
        whole = _read_whole(conn, service_id, replaced_in, version)
        merged = layout.sorted_whole(whole)
        del whole
        conn.execute("DELETE FROM dnc_snapshot WHERE service = ?", (service_id,)).close()
        _write_snapshot(conn, service_id, version, merged)
    return in_snapshot + int(since)


# -- reading -----------------------------------------------------------------


async def read(engine: SQLiteEngine, service_id: int, since: int | None) -> ListRead | None:
    """The list in one read transaction, on a connection used by one worker thread
    from open to close (see :func:`..read_list`)."""
    return await asyncio.to_thread(_read, engine, service_id, since)


def _read(engine: SQLiteEngine, service_id: int, since: int | None) -> ListRead | None:
    conn = connect(engine)
    try:
        conn.execute("BEGIN")  # one snapshot for the version, the parts and the rows
        row = conn.execute(
            "SELECT list_version, replaced_in FROM dnc_service WHERE id = ?", (service_id,)
        ).fetchone()
        if row is None:
            conn.execute("COMMIT")
            return None
        version, replaced_in = int(row[0]), int(row[1])
        if since is not None and replaced_in <= since <= version:
            added, read_s, parse_s = _rows(conn, service_id, after=since)
            result = ListRead(version, True, layout.empty(), added, read_s, parse_s)
        else:
            result = _read_whole(conn, service_id, replaced_in, version)
        conn.execute("COMMIT")
        return result
    finally:
        conn.close()


def _snapshot_head(
    conn: sqlite3.Connection, service_id: int, replaced_in: int, version: int
) -> tuple[int, int]:
    snapshot_version, count = conn.execute(
        "SELECT max(version), sum(numbers) FROM dnc_snapshot WHERE service = ?", (service_id,)
    ).fetchone()
    if not layout.usable(snapshot_version, replaced_in, version):
        return -1, 0
    return int(snapshot_version), int(count)


def _read_whole(
    conn: sqlite3.Connection, service_id: int, replaced_in: int, version: int
) -> ListRead:
    snapshot_version, count = _snapshot_head(conn, service_id, replaced_in, version)
    added, read_s, parse_s = _rows(conn, service_id, after=snapshot_version)
    started = time.perf_counter()
    whole = layout.WholeList(count, added)
    del added
    parse_s += time.perf_counter() - started
    if count:
        started = time.perf_counter()
        cursor = conn.execute(
            "SELECT data FROM dnc_snapshot WHERE service = ? ORDER BY part", (service_id,)
        )
        while (row := cursor.fetchone()) is not None:
            read_s += time.perf_counter() - started
            started = time.perf_counter()
            whole.add_part(row[0])
            parse_s += time.perf_counter() - started
            started = time.perf_counter()
    return whole.read(service_id, version, read_s, parse_s)


def _rows(conn: sqlite3.Connection, service_id: int, *, after: int) -> tuple[Numbers, float, float]:
    """(numbers added after version ``after``, seconds reading, seconds converting)."""
    read_s = parse_s = 0.0
    started = time.perf_counter()
    (count,) = conn.execute(
        "SELECT count(*) FROM dnc_number WHERE service = ? AND added_in > ?", (service_id, after)
    ).fetchone()
    numbers: Numbers = np.empty(int(count), dtype=np.int64)
    cursor = conn.execute(
        "SELECT number FROM dnc_number WHERE service = ? AND added_in > ?", (service_id, after)
    )
    filled = 0
    while rows := cursor.fetchmany(layout.READ_CHUNK):
        read_s += time.perf_counter() - started
        started = time.perf_counter()
        numbers[filled : filled + len(rows)] = np.fromiter(
            (row[0] for row in rows), dtype=np.int64, count=len(rows)
        )
        filled += len(rows)
        parse_s += time.perf_counter() - started
        started = time.perf_counter()
    read_s += time.perf_counter() - started
    return numbers[:filled], read_s, parse_s
