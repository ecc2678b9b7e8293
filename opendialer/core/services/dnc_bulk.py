"""Bulk database paths for Do-Not-Call numbers, per backend.

**Writing** (an import) is one transaction: bump ``dnc_service.list_version`` to
v first (the row lock makes imports of one list run one after another); on a
replace delete the old rows and set ``replaced_in = v``; insert the numbers with
``added_in = v``; write the *snapshot* — the whole list as sorted ``int64`` bytes
in ``dnc_snapshot`` parts — on a replace, or on an append once the numbers added
since the last snapshot reach :data:`SNAPSHOT_DELTA_LIMIT`. PostgreSQL also
sends ``NOTIFY opendialer_dnc, '<service>:<v>'``, delivered at commit.

**Reading** (a node loading its index) happens in one consistent snapshot of the
database: the whole list is the snapshot parts plus the rows added after it
(at most :data:`SNAPSHOT_DELTA_LIMIT` of them); a node at version ``since``
with no replace after it reads only the rows with ``added_in > since``.
10 million numbers measured 17 s as rows (binary COPY) and under 2 s as parts.

PostgreSQL: binary COPY both ways for rows (no Python object per row).
SQLite: a connection of its own in a worker thread; one ``BEGIN IMMEDIATE``
transaction for a write, one read transaction for a load.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import struct
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from opendialer.core.storage.tables import DncNumber

Numbers = npt.NDArray[np.int64]
WriteProgress = Callable[[int, int], None]  # (rows written, rows to write)

WRITE_CHUNK = 100_000
READ_CHUNK = 200_000
#: Numbers per snapshot part (8 MB): big enough for few round trips, small
#: enough that a load never holds more than one part's bytes besides the array.
SNAPSHOT_PART = 1_000_000
#: An append rewrites the snapshot once this many numbers were added since it,
#: so a full load never reads more rows than this.
SNAPSHOT_DELTA_LIMIT = 1_000_000
#: Snapshot bytes are little-endian whatever the machine.
SNAPSHOT_DTYPE = np.dtype("<i8")
#: PostgreSQL channel of list changes; the payload is ``"<service id>:<list version>"``.
CHANGE_CHANNEL = "opendialer_dnc"
LISTEN_CONNECT_TIMEOUT_S = 5.0

PG_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
PG_COPY_TRAILER = struct.pack(">h", -1)
#: One binary COPY row of a single BIGINT: field count, field length, value.
PG_ROW = np.dtype([("fields", ">i2"), ("length", ">i4"), ("value", ">i8")])


def _empty() -> Numbers:
    return np.empty(0, dtype=np.int64)


@dataclass
class ListRead:
    """What a node reads to build or update its index.

    ``delta``: ``added`` holds the numbers added since the version asked for.
    Otherwise ``base`` (sorted, distinct) plus ``added`` is the whole list, and
    ``combined`` is the one array both are views of (``base`` first): the caller
    may sort it in place into the index. ``added`` is distinct and disjoint from
    ``base``; sorted when a snapshot precedes it.
    """

    version: int
    delta: bool
    base: Numbers
    added: Numbers
    read_s: float  # waiting for the database
    parse_s: float  # turning its bytes into int64 arrays
    combined: Numbers | None = None


def _engine() -> Any:
    return DncNumber._meta.db


def is_postgres() -> bool:
    return isinstance(_engine(), PostgresEngine)


@asynccontextmanager
async def _pg_connection(engine: PostgresEngine) -> AsyncIterator[Any]:
    if engine.pool is not None:
        async with engine.pool.acquire() as conn:
            yield conn
        return
    conn = await engine.get_new_connection()
    try:
        yield conn
    finally:
        await conn.close()


def _sqlite_connect(engine: SQLiteEngine) -> sqlite3.Connection:
    conn = sqlite3.connect(engine.path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def _require_sorted_distinct(numbers: Numbers) -> None:
    if numbers.size > 1 and not bool(np.all(numbers[1:] > numbers[:-1])):
        raise ValueError(
            "write_numbers needs sorted, distinct numbers (a snapshot is built of them)"
        )


def _snapshot_parts(numbers: Numbers) -> Iterator[tuple[int, int, bytes]]:
    """(part, count, bytes) of a sorted list, in order; one part's bytes at a time."""
    for part, start in enumerate(range(0, numbers.size, SNAPSHOT_PART)):
        chunk = numbers[start : start + SNAPSHOT_PART]
        yield part, int(chunk.size), chunk.astype(SNAPSHOT_DTYPE, copy=False).tobytes()


def _sorted_whole(whole: ListRead) -> Numbers:
    """The whole list of a full read, sorted (in place when it came as one array)."""
    if whole.combined is None:
        merged = np.concatenate([whole.base, whole.added])
    else:
        merged = whole.combined
    # Snapshot then rows: two sorted runs, which the stable sort (timsort) merges in
    # linear time; rows alone are in no order, where quicksort is faster.
    merged.sort(kind="stable" if whole.base.size else None)
    return merged


# -- writing -----------------------------------------------------------------


async def write_numbers(
    service_id: int, numbers: Numbers, *, replace: bool, progress: WriteProgress | None = None
) -> tuple[int, int, int]:
    """Append (or replace with) ``numbers`` (sorted, distinct) atomically; bump the list version.

    :return: (rows added, rows on the list now, new list version)
    """
    _require_sorted_distinct(numbers)
    engine = _engine()
    if isinstance(engine, PostgresEngine):
        return await _write_postgres(engine, service_id, numbers, replace, progress)
    return await _write_sqlite(engine, service_id, numbers, replace, progress)


def _binary_copy_rows(numbers: Numbers) -> bytes:
    rows = np.empty(numbers.size, dtype=PG_ROW)
    rows["fields"] = 1
    rows["length"] = 8
    rows["value"] = numbers
    return rows.tobytes()


_BUMP_SQL = "UPDATE dnc_service SET list_version = list_version + 1{replaced} WHERE id = {param}"


def _bump_sql(replace: bool, param: str) -> str:
    replaced = ", replaced_in = list_version + 1" if replace else ""
    return _BUMP_SQL.format(replaced=replaced, param=param)


async def _write_postgres(
    engine: PostgresEngine,
    service_id: int,
    numbers: Numbers,
    replace: bool,
    progress: WriteProgress | None,
) -> tuple[int, int, int]:
    total = int(numbers.size)

    async def source(part: Numbers) -> AsyncIterator[bytes]:
        yield PG_COPY_HEADER
        yield _binary_copy_rows(part)  # vectorised; small enough to stay on the loop
        yield PG_COPY_TRAILER

    async with _pg_connection(engine) as conn, conn.transaction():
        # Locks the service row first: imports into one list run one after another.
        bumped = await conn.fetchrow(
            _bump_sql(replace, "$1") + " RETURNING list_version, replaced_in", service_id
        )
        version, replaced_in = int(bumped["list_version"]), int(bumped["replaced_in"])
        if replace:
            await conn.execute("DELETE FROM dnc_number WHERE service = $1", service_id)
            await conn.execute("DELETE FROM dnc_snapshot WHERE service = $1", service_id)
        await conn.execute(
            "CREATE TEMPORARY TABLE dnc_import (number BIGINT NOT NULL) ON COMMIT DROP"
        )
        # One COPY per chunk: between chunks the connection is idle, so a failure
        # (or a progress callback that raises) rolls back cleanly.
        for start in range(0, total, WRITE_CHUNK):
            part = numbers[start : start + WRITE_CHUNK]
            await conn.copy_to_table(
                "dnc_import", source=source(part), columns=["number"], format="binary"
            )
            if progress is not None:
                progress(start + int(part.size), total)
        # The numbers arrive distinct and sorted, so the unique index grows at its
        # right edge instead of taking random inserts (no DISTINCT/ORDER BY needed).
        status = await conn.execute(
            "INSERT INTO dnc_number (service, number, added_in) SELECT $1::integer, number, $2 "
            "FROM dnc_import ON CONFLICT (service, number) DO NOTHING",
            service_id,
            version,
        )
        added = int(status.rsplit(" ", 1)[-1])
        if replace:
            await _pg_write_snapshot(conn, service_id, version, numbers)
            on_list = added
        else:
            snapshot_version, in_snapshot = await _pg_snapshot_head(
                conn, service_id, replaced_in, version
            )
            since = await conn.fetchval(
                "SELECT count(*) FROM dnc_number WHERE service = $1 AND added_in > $2",
                service_id,
                snapshot_version,
            )
            on_list = in_snapshot + int(since)
            if since >= SNAPSHOT_DELTA_LIMIT:
                whole = await _pg_read_whole(conn, service_id, replaced_in, version)
                merged = await asyncio.to_thread(_sorted_whole, whole)
                del whole
                await conn.execute("DELETE FROM dnc_snapshot WHERE service = $1", service_id)
                await _pg_write_snapshot(conn, service_id, version, merged)
        await conn.execute("SELECT pg_notify($1, $2)", CHANGE_CHANNEL, f"{service_id}:{version}")
    return added, on_list, version


async def _pg_write_snapshot(conn: Any, service_id: int, version: int, numbers: Numbers) -> None:
    for part, count, data in _snapshot_parts(numbers):
        await conn.execute(
            "INSERT INTO dnc_snapshot (service, part, version, numbers, data) "
            "VALUES ($1, $2, $3, $4, $5)",
            service_id,
            part,
            version,
            count,
            data,
        )


async def _write_sqlite(
    engine: SQLiteEngine,
    service_id: int,
    numbers: Numbers,
    replace: bool,
    progress: WriteProgress | None,
) -> tuple[int, int, int]:
    total = int(numbers.size)
    conn = await asyncio.to_thread(_sqlite_connect, engine)
    try:
        await asyncio.to_thread(conn.execute, "BEGIN IMMEDIATE")
        try:
            await asyncio.to_thread(conn.execute, _bump_sql(replace, "?"), (service_id,))
            if replace:
                for table in ("dnc_number", "dnc_snapshot"):
                    await asyncio.to_thread(
                        conn.execute, f"DELETE FROM {table} WHERE service = ?", (service_id,)
                    )
            version, replaced_in = await asyncio.to_thread(
                lambda: conn.execute(
                    "SELECT list_version, replaced_in FROM dnc_service WHERE id = ?", (service_id,)
                ).fetchone()
            )
            added = 0
            written = 0
            for start in range(0, total, WRITE_CHUNK):
                part = numbers[start : start + WRITE_CHUNK].tolist()
                before = conn.total_changes
                await asyncio.to_thread(
                    conn.executemany,
                    "INSERT OR IGNORE INTO dnc_number (service, number, added_in) VALUES (?, ?, ?)",
                    [(service_id, n, version) for n in part],
                )
                added += conn.total_changes - before
                written += len(part)
                if progress is not None:
                    progress(written, total)
            if replace:
                await asyncio.to_thread(_sqlite_write_snapshot, conn, service_id, version, numbers)
                on_list = added
            else:
                on_list = await asyncio.to_thread(
                    _sqlite_after_append, conn, service_id, version, replaced_in
                )
            await asyncio.to_thread(conn.execute, "COMMIT")
        except BaseException:
            await asyncio.to_thread(conn.execute, "ROLLBACK")
            raise
    finally:
        await asyncio.to_thread(conn.close)
    return added, on_list, int(version)


def _sqlite_write_snapshot(
    conn: sqlite3.Connection, service_id: int, version: int, numbers: Numbers
) -> None:
    conn.executemany(
        "INSERT INTO dnc_snapshot (service, part, version, numbers, data) VALUES (?, ?, ?, ?, ?)",
        [
            (service_id, part, version, count, data)
            for part, count, data in _snapshot_parts(numbers)
        ],
    )


def _sqlite_after_append(
    conn: sqlite3.Connection, service_id: int, version: int, replaced_in: int
) -> int:
    """Numbers on the list after an append; rewrites the snapshot when it lags too far."""
    snapshot_version, in_snapshot = _sqlite_snapshot_head(conn, service_id, replaced_in, version)
    (since,) = conn.execute(
        "SELECT count(*) FROM dnc_number WHERE service = ? AND added_in > ?",
        (service_id, snapshot_version),
    ).fetchone()
    if since >= SNAPSHOT_DELTA_LIMIT:
        whole = _sqlite_read_whole(conn, service_id, replaced_in, version)
        merged = _sorted_whole(whole)
        del whole
        conn.execute("DELETE FROM dnc_snapshot WHERE service = ?", (service_id,))
        _sqlite_write_snapshot(conn, service_id, version, merged)
    return in_snapshot + int(since)


# -- reading -----------------------------------------------------------------


async def read_list(service_id: int, *, since: int | None = None) -> ListRead | None:
    """The list of one service as of now, or only what was added after version ``since``
    (when no replace happened after it). None when the service no longer exists."""
    engine = _engine()
    if isinstance(engine, PostgresEngine):
        async with (
            _pg_connection(engine) as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            row = await conn.fetchrow(
                "SELECT list_version, replaced_in FROM dnc_service WHERE id = $1", service_id
            )
            if row is None:
                return None
            version, replaced_in = int(row["list_version"]), int(row["replaced_in"])
            if since is not None and replaced_in <= since <= version:
                started = time.perf_counter()
                raw = await _pg_copy_numbers(conn, service_id, after=since)
                read_s = time.perf_counter() - started
                started = time.perf_counter()
                added = await asyncio.to_thread(_parse_binary_copy, raw)
                return ListRead(
                    version, True, _empty(), added, read_s, time.perf_counter() - started
                )
            return await _pg_read_whole(conn, service_id, replaced_in, version)
    return await asyncio.to_thread(_read_sqlite, engine, service_id, since)


async def read_numbers(service_id: int) -> Numbers:
    """Every number of one list, as a sorted ``int64`` array (empty for no such service)."""
    whole = await read_list(service_id)
    if whole is None:
        return _empty()
    return await asyncio.to_thread(_sorted_whole, whole)


def _usable(snapshot_version: Any, replaced_in: int, version: int) -> bool:
    """A snapshot older than the last replace holds numbers the replace removed; one
    newer than the list is left over from a deleted service whose id was reused."""
    return snapshot_version is not None and replaced_in <= int(snapshot_version) <= version


async def _pg_snapshot_head(
    conn: Any, service_id: int, replaced_in: int, version: int
) -> tuple[int, int]:
    """(version, numbers) of the service's snapshot; (-1, 0) when none is usable
    (every row then counts as added after it)."""
    row = await conn.fetchrow(
        "SELECT max(version) AS version, sum(numbers) AS numbers FROM dnc_snapshot "
        "WHERE service = $1",
        service_id,
    )
    if not _usable(row["version"], replaced_in, version):
        return -1, 0
    return int(row["version"]), int(row["numbers"])


async def _pg_read_whole(conn: Any, service_id: int, replaced_in: int, version: int) -> ListRead:
    """The list at ``version``: snapshot parts + rows added after them, on ``conn``
    (inside its transaction)."""
    started = time.perf_counter()
    snapshot_version, count = await _pg_snapshot_head(conn, service_id, replaced_in, version)
    raw = await _pg_copy_numbers(conn, service_id, after=snapshot_version)
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    whole = await asyncio.to_thread(_whole_from_copy, count, raw)
    del raw
    parse_s = time.perf_counter() - started
    if count:
        # A cursor holds one part (8 MB) at a time, not the whole list twice.
        cursor = conn.cursor(
            "SELECT data FROM dnc_snapshot WHERE service = $1 ORDER BY part",
            service_id,
            prefetch=1,
        )
        started = time.perf_counter()
        async for row in cursor:
            read_s += time.perf_counter() - started
            started = time.perf_counter()
            whole.add_part(row["data"])  # one 8 MB copy: ~ms, fine on the loop
            parse_s += time.perf_counter() - started
            started = time.perf_counter()
    return whole.read(service_id, version, read_s, parse_s)


def _whole_from_copy(in_snapshot: int, raw: bytearray) -> _WholeList:
    return _WholeList(in_snapshot, _parse_binary_copy(raw))


class _WholeList:
    """One array for the whole list: the snapshot parts first, the rows added after
    it at the end — two sorted runs that the index merges in place (no second copy)."""

    def __init__(self, in_snapshot: int, added: Numbers) -> None:
        self.in_snapshot = in_snapshot
        if in_snapshot == 0:
            self.combined = added
        else:
            self.combined = np.empty(in_snapshot + added.size, dtype=np.int64)
            self.combined[in_snapshot:] = np.sort(added)
        self.filled = 0

    def add_part(self, data: bytes) -> None:
        part = np.frombuffer(data, dtype=SNAPSHOT_DTYPE)
        if self.filled + part.size > self.in_snapshot:
            raise RuntimeError("DNC snapshot parts hold more numbers than they declare")
        self.combined[self.filled : self.filled + part.size] = part
        self.filled += part.size

    def read(self, service_id: int, version: int, read_s: float, parse_s: float) -> ListRead:
        if self.filled != self.in_snapshot:
            raise RuntimeError(
                f"DNC snapshot of service {service_id}: {self.filled} numbers, "
                f"not {self.in_snapshot}"
            )
        split = self.in_snapshot
        return ListRead(
            version,
            False,
            self.combined[:split],
            self.combined[split:],
            read_s,
            parse_s,
            combined=self.combined,
        )


async def _pg_copy_numbers(conn: Any, service_id: int, *, after: int) -> bytearray:
    """The numbers added after version ``after``, as binary COPY bytes."""
    buffer = bytearray()

    async def collect(data: bytes) -> None:
        buffer.extend(data)

    await conn.copy_from_query(
        "SELECT number FROM dnc_number WHERE service = $1 AND added_in > $2",
        service_id,
        after,
        output=collect,
        format="binary",
    )
    return buffer


def _parse_binary_copy(buffer: bytearray) -> Numbers:
    """A binary COPY of one BIGINT column → ``int64``, in one vectorised step."""
    if not buffer.startswith(PG_COPY_HEADER) or not buffer.endswith(PG_COPY_TRAILER):
        raise ValueError("unexpected binary COPY framing from PostgreSQL")
    body = len(buffer) - len(PG_COPY_HEADER) - len(PG_COPY_TRAILER)
    if body % PG_ROW.itemsize:
        raise ValueError("binary COPY rows are not 14 bytes each (not a single BIGINT column?)")
    rows = np.frombuffer(
        buffer, dtype=PG_ROW, count=body // PG_ROW.itemsize, offset=len(PG_COPY_HEADER)
    )
    numbers = rows["value"].astype(np.int64)
    del rows
    return numbers


def _read_sqlite(engine: SQLiteEngine, service_id: int, since: int | None) -> ListRead | None:
    conn = _sqlite_connect(engine)
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
            added, read_s, parse_s = _sqlite_rows(conn, service_id, after=since)
            result = ListRead(version, True, _empty(), added, read_s, parse_s)
        else:
            result = _sqlite_read_whole(conn, service_id, replaced_in, version)
        conn.execute("COMMIT")
        return result
    finally:
        conn.close()


def _sqlite_snapshot_head(
    conn: sqlite3.Connection, service_id: int, replaced_in: int, version: int
) -> tuple[int, int]:
    snapshot_version, count = conn.execute(
        "SELECT max(version), sum(numbers) FROM dnc_snapshot WHERE service = ?", (service_id,)
    ).fetchone()
    if not _usable(snapshot_version, replaced_in, version):
        return -1, 0
    return int(snapshot_version), int(count)


def _sqlite_read_whole(
    conn: sqlite3.Connection, service_id: int, replaced_in: int, version: int
) -> ListRead:
    snapshot_version, count = _sqlite_snapshot_head(conn, service_id, replaced_in, version)
    added, read_s, parse_s = _sqlite_rows(conn, service_id, after=snapshot_version)
    started = time.perf_counter()
    whole = _WholeList(count, added)
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


def _sqlite_rows(
    conn: sqlite3.Connection, service_id: int, *, after: int
) -> tuple[Numbers, float, float]:
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
    while rows := cursor.fetchmany(READ_CHUNK):
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


# -- change notifications (PostgreSQL) ---------------------------------------


class ChangeListener:
    """``LISTEN opendialer_dnc`` on a connection of its own; calls
    ``on_change(service_id, version)`` for every list change committed anywhere."""

    def __init__(self, conn: Any, on_change: Callable[[int, int], None]) -> None:
        self._conn = conn
        self._on_change = on_change
        self._lost = asyncio.Event()

    async def start(self) -> None:
        self._conn.add_termination_listener(lambda _conn: self._lost.set())
        await self._conn.add_listener(CHANGE_CHANNEL, self._notified)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        service, _, version = payload.partition(":")
        with contextlib.suppress(ValueError):  # a payload not of ours: ignore it
            self._on_change(int(service), int(version))

    @property
    def backend_pid(self) -> int:
        return int(self._conn.get_server_pid())

    async def wait_lost(self, check_every_s: float = 1.0) -> None:
        """Return once the connection is gone (notifications from then on are lost)."""
        while not self._conn.is_closed():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(check_every_s):  # not wait_for: see provider
                    await self._lost.wait()

    async def close(self) -> None:
        if not self._conn.is_closed():
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=2)


async def listen_for_changes(on_change: Callable[[int, int], None]) -> ChangeListener | None:
    """A started :class:`ChangeListener`, or None where the backend has no notifications
    (SQLite: nodes rely on polling)."""
    engine = _engine()
    if not isinstance(engine, PostgresEngine):
        return None
    async with asyncio.timeout(LISTEN_CONNECT_TIMEOUT_S):
        conn = await engine.get_new_connection()
    listener = ChangeListener(conn, on_change)
    try:
        await listener.start()
    except BaseException:
        await listener.close()
        raise
    return listener
