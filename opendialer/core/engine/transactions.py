"""Write transactions of the engine, on either backend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from piccolo.engine.sqlite import TransactionType

from opendialer.core.storage import Database

#: One lock per SQLite engine object and event loop.
_sqlite_writers: dict[tuple[int, int], asyncio.Lock] = {}


@asynccontextmanager
async def write_transaction(db: Database) -> AsyncIterator[None]:
    """A transaction that writes.

    SQLite has one writer at a time: the engine's writers queue on an asyncio lock
    (fair, no busy-waiting), then take the write lock up front with BEGIN IMMEDIATE
    (a deferred transaction that read first fails at once with "database is locked"
    when another connection wrote in between). PostgreSQL: a plain transaction.
    """
    if db.is_postgres:
        async with db.engine.transaction():
            yield
        return
    key = (id(db.engine), id(asyncio.get_running_loop()))
    lock = _sqlite_writers.setdefault(key, asyncio.Lock())
    async with lock, db.engine.transaction(transaction_type=TransactionType.immediate):
        yield


__all__ = ["write_transaction"]
