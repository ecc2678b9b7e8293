"""Piccolo's SQLite engine with long-lived connections.

Piccolo's :class:`~piccolo.engine.sqlite.SQLiteEngine` opens a new aiosqlite
connection — a new thread, ``connect()``, a PRAGMA — for every query outside a
transaction and for every transaction, then closes it. Under a burst of a few
hundred calls that is most of the engine's CPU and it stretches every write.
:class:`PooledSQLiteEngine` keeps up to ``max_idle`` connections open and hands
them out instead. A transaction that finds none idle opens another (it never
waits: a transaction awaiting a query of another task cannot deadlock the pool)
and closes it afterwards if the pool is full; a plain query waits for one once
``max_open`` are in use (it holds nothing while it waits, and a burst of a few
hundred reads then costs no threads). ``PRAGMA foreign_keys`` is set once per
connection, not before every statement as Piccolo's engine does.

A connection goes back to the pool only in a clean state: not inside a
transaction and not abandoned mid-query by a cancelled task (that one is closed).
Each worker thread is a daemon thread so an idle pooled connection never keeps
the process alive at exit; :meth:`PooledSQLiteEngine.close_pool` closes them
properly (``Database.close()`` calls it).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections import deque
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory


class PooledSQLiteTransaction(SQLiteTransaction):
    """A transaction on a pooled connection, given back instead of closed."""

    async def __aenter__(self) -> PooledSQLiteTransaction:
        if self._parent is not None:
            return self._parent  # type: ignore[return-value]
        engine: PooledSQLiteEngine = self.engine  # type: ignore[assignment]
        self.connection = await engine.get_connection()
        try:
            await self.begin()
        except BaseException:
            await engine.release(self.connection, clean=False)
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        engine: PooledSQLiteEngine = self.engine  # type: ignore[assignment]
        clean = False
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
            clean = True
        finally:
            self.engine.current_transaction.reset(self.context)
            await engine.release(self.connection, clean=clean)
        return exception is None


class PooledSQLiteEngine(SQLiteEngine):
    __slots__ = ("_idle", "_open_count", "_waiters", "max_idle", "max_open")

    def __init__(
        self,
        path: str = "piccolo.sqlite",
        *,
        max_idle: int = 4,
        max_open: int = 8,
        **kwargs: Any,
    ) -> None:
        super().__init__(path=path, **kwargs)
        self.max_idle = max_idle
        self.max_open = max(max_open, max_idle)
        self._idle: list[aiosqlite.Connection] = []
        self._open_count = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def _open(self) -> aiosqlite.Connection:
        connection = aiosqlite.connect(**self.connection_kwargs)
        # A pooled connection outlives the queries that use it; its worker thread must
        # not hold the interpreter open at exit when nobody closed the pool.
        thread = getattr(connection, "_thread", None)
        if thread is not None:
            thread.daemon = True
        self._open_count += 1
        try:
            await connection
            connection.row_factory = dict_factory  # type: ignore[assignment]
            await connection.execute("PRAGMA foreign_keys = 1")
        except BaseException:
            self._open_count -= 1
            raise
        return connection

    async def get_connection(self) -> aiosqlite.Connection:
        while self._idle:
            connection = self._idle.pop()
            if connection._connection is not None:  # closed under us (close_pool)
                return connection
            self._open_count -= 1
        return await self._open()

    async def _get_for_query(self) -> aiosqlite.Connection:
        """A connection for one plain query: waits (FIFO) once ``max_open`` are in use."""
        while not self._idle and self._open_count >= self.max_open:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
                self._wake_one()  # a release meant for us goes to the next one
                raise
        return await self.get_connection()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def release(self, connection: aiosqlite.Connection, *, clean: bool = True) -> None:
        """Back to the pool if it is reusable and there is room; else closed."""
        usable = clean and connection._connection is not None
        if usable:
            try:
                usable = not connection.in_transaction
            except (ValueError, sqlite3.ProgrammingError):
                usable = False
        if usable and (len(self._idle) < self.max_idle or self._waiters):
            self._idle.append(connection)
            self._wake_one()
            return
        self._open_count -= 1
        self._wake_one()
        try:
            await connection.close()
        except (ValueError, sqlite3.Error):
            pass

    async def close_pool(self) -> None:
        idle, self._idle = self._idle, []
        self._open_count -= len(idle)
        for connection in idle:
            try:
                await connection.close()
            except (ValueError, sqlite3.Error):
                pass

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        connection = await self._get_for_query()
        clean = False
        try:
            async with connection.execute(query, args or []) as cursor:
                rows = await cursor.fetchall()
            clean = True
            return rows
        except asyncio.CancelledError:
            # The worker thread may still be running the query: never reuse it.
            self._open_count -= 1
            self._wake_one()
            asyncio.get_running_loop().create_task(connection.close())
            connection = None  # type: ignore[assignment]
            raise
        finally:
            if connection is not None:
                await self.release(connection, clean=clean)

    async def _run_in_existing_connection(
        self,
        connection: aiosqlite.Connection,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        # Piccolo's version repeats PRAGMA foreign_keys before every statement of a
        # transaction; ours set it when the connection was opened.
        async with connection.execute(query, args or []) as cursor:
            return await cursor.fetchall()

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> PooledSQLiteTransaction:
        return PooledSQLiteTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )


__all__ = ["PooledSQLiteEngine", "PooledSQLiteTransaction"]
