"""The PostgreSQL path of Do-Not-Call bulk writes and reads: binary COPY both ways
for rows (no Python object per row), snapshot parts as ``bytea``, and
``NOTIFY opendialer_dnc`` sent at the commit of a write."""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from piccolo.engine.postgres import PostgresEngine

from opendialer.core.services.dnc_bulk import layout
from opendialer.core.services.dnc_bulk.layout import ListRead, Numbers, WriteProgress

#: PostgreSQL channel of list changes; the payload is ``"<service id>:<list version>"``.
CHANGE_CHANNEL = "opendialer_dnc"

PG_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
PG_COPY_TRAILER = struct.pack(">h", -1)
#: One binary COPY row of a single BIGINT: field count, field length, value.
PG_ROW = np.dtype([("fields", ">i2"), ("length", ">i4"), ("value", ">i8")])


@asynccontextmanager
async def connection(engine: PostgresEngine) -> AsyncIterator[Any]:
    """A connection of the engine's pool, or a new one where it has none."""
    if engine.pool is not None:
        async with engine.pool.acquire() as conn:
            yield conn
        return
    conn = await engine.get_new_connection()
    try:
        yield conn
    finally:
        await conn.close()


# -- writing -----------------------------------------------------------------


def _binary_copy_rows(numbers: Numbers) -> bytes:
    rows = np.empty(numbers.size, dtype=PG_ROW)
    rows["fields"] = 1
    rows["length"] = 8
    rows["value"] = numbers
    return rows.tobytes()


async def write(
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

    async with connection(engine) as conn, conn.transaction():
        # Locks the service row first: imports into one list run one after another.
        bumped = await conn.fetchrow(
            layout.bump_sql(replace, "$1", backend="postgres")
            + " RETURNING list_version, replaced_in",
            service_id,
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
        chunk = layout.WRITE_CHUNK
        for start in range(0, total, chunk):
            part = numbers[start : start + chunk]
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
            await _write_snapshot(conn, service_id, version, numbers)
            on_list = added
        else:
            snapshot_version, in_snapshot = await _snapshot_head(
                conn, service_id, replaced_in, version
            )
            since = await conn.fetchval(
                "SELECT count(*) FROM dnc_number WHERE service = $1 AND added_in > $2",
                service_id,
                snapshot_version,
            )
            on_list = in_snapshot + int(since)
            if since >= layout.SNAPSHOT_DELTA_LIMIT:
                whole = await _read_whole(conn, service_id, replaced_in, version)
                merged = await asyncio.to_thread(layout.sorted_whole, whole)
                del whole
                await conn.execute("DELETE FROM dnc_snapshot WHERE service = $1", service_id)
                await _write_snapshot(conn, service_id, version, merged)
        await conn.execute("SELECT pg_notify($1, $2)", CHANGE_CHANNEL, f"{service_id}:{version}")
    return added, on_list, version


async def _write_snapshot(conn: Any, service_id: int, version: int, numbers: Numbers) -> None:
    for part, count, data in layout.snapshot_parts(numbers):
        await conn.execute(
            "INSERT INTO dnc_snapshot (service, part, version, numbers, data) "
            "VALUES ($1, $2, $3, $4, $5)",
            service_id,
            part,
            version,
            count,
            data,
        )


# -- reading -----------------------------------------------------------------


async def read(engine: PostgresEngine, service_id: int, since: int | None) -> ListRead | None:
    """The list in one repeatable-read snapshot (see :func:`..read_list`)."""
    async with (
        connection(engine) as conn,
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
            raw = await _copy_numbers(conn, service_id, after=since)
            read_s = time.perf_counter() - started
            started = time.perf_counter()
            added = await asyncio.to_thread(_parse_binary_copy, raw)
            return ListRead(
                version, True, layout.empty(), added, read_s, time.perf_counter() - started
            )
        return await _read_whole(conn, service_id, replaced_in, version)


async def _snapshot_head(
    conn: Any, service_id: int, replaced_in: int, version: int
) -> tuple[int, int]:
    """(version, numbers) of the service's snapshot; (-1, 0) when none is usable
    (every row then counts as added after it)."""
    row = await conn.fetchrow(
        "SELECT max(version) AS version, sum(numbers) AS numbers FROM dnc_snapshot "
        "WHERE service = $1",
        service_id,
    )
    if not layout.usable(row["version"], replaced_in, version):
        return -1, 0
    return int(row["version"]), int(row["numbers"])


async def _read_whole(conn: Any, service_id: int, replaced_in: int, version: int) -> ListRead:
    """The list at ``version``: snapshot parts + rows added after them, on ``conn``
    (inside its transaction)."""
    started = time.perf_counter()
    snapshot_version, count = await _snapshot_head(conn, service_id, replaced_in, version)
    raw = await _copy_numbers(conn, service_id, after=snapshot_version)
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


def _whole_from_copy(in_snapshot: int, raw: bytearray) -> layout.WholeList:
    return layout.WholeList(in_snapshot, _parse_binary_copy(raw))


async def _copy_numbers(conn: Any, service_id: int, *, after: int) -> bytearray:
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
