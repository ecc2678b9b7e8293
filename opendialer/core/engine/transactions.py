"""Write transactions of the engine, on either backend."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from piccolo.engine.sqlite import TransactionType

from opendialer.core.storage import Database


class WriterGate:
    """SQLite's one writer at a time, in asyncio: FIFO, except that an *urgent*
    writer (the pacer starting calls) goes before the queued ordinary ones, so an
    agent that became free does not wait behind a queue of outcome writes."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    async def acquire(self, *, urgent: bool) -> None:
        if not self._held and not self._urgent and not self._normal:
            self._held = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._normal).append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over just as we were cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):  # release() may have dropped it
                    (self._urgent if urgent else self._normal).remove(waiter)
            raise

    def release(self) -> None:
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # ownership passes straight to it
                    return
        self._held = False


#: One gate per SQLite engine object and event loop.
_sqlite_writers: dict[tuple[int, int], WriterGate] = {}


@asynccontextmanager
async def write_transaction(db: Database, *, urgent: bool = False) -> AsyncIterator[None]:
    """A transaction that writes.

    SQLite has one writer at a time: the engine's writers queue on a
    :class:`WriterGate` (no busy-waiting; ``urgent`` ones first), then take the
    write lock up front with BEGIN IMMEDIATE (a deferred transaction that read
    first fails at once with "database is locked" when another connection wrote
    in between). PostgreSQL: a plain transaction.
    """
    if db.is_postgres:
        async with db.engine.transaction():
            yield
        return
    key = (id(db.engine), id(asyncio.get_running_loop()))
    gate = _sqlite_writers.setdefault(key, WriterGate())
    await gate.acquire(urgent=urgent)
    try:
        async with db.engine.transaction(transaction_type=TransactionType.immediate):
            yield
    finally:
        gate.release()


__all__ = ["WriterGate", "write_transaction"]
