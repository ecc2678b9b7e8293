"""Group commit of call outcomes: whatever finished meanwhile goes in one transaction.

Three hundred agents finish calls every few hundred milliseconds; one
transaction per outcome means three hundred writers queuing for SQLite's
single write lock (or PostgreSQL's pool), and the pacer's claim waits behind
all of them while agents sit idle. The :class:`OutcomeWriter` keeps one writer
task (SQLite has one writer anyway) or a few on PostgreSQL, where writes of
different rows run side by side: the first outcome is written at once; those
that arrive while it is being written go together in the next transaction (up
to ``max_batch``).
Each caller still gets its own result only after the commit, so the event
hooks still never see what the database does not hold.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from opendialer.core.engine.records import Finished, Outcome, finish_attempt, finish_attempts
from opendialer.core.storage import Database

log = logging.getLogger("opendialer.engine.records")


class OutcomeWriter:
    def __init__(self, db: Database, *, max_batch: int = 32, writers: int | None = None) -> None:
        self.db = db
        self.max_batch = max_batch
        self.writers = writers if writers is not None else (4 if db.is_postgres else 1)
        self._queue: deque[tuple[Outcome, asyncio.Future[Finished | None]]] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0  # transactions written

    async def finish(self, outcome: Outcome) -> Finished | None:
        """Store one outcome (after the commit): None if reconciliation closed it first."""
        future: asyncio.Future[Finished | None] = asyncio.get_running_loop().create_future()
        self._queue.append((outcome, future))
        if len(self._tasks) < self.writers:
            task = asyncio.create_task(self._write_all(), name="outcome-writer")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _write_all(self) -> None:
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_batch))]
            try:
                results = await finish_attempts(self.db, [o for o, _ in batch])
            except Exception:
                log.exception("outcome_batch_failed size=%d (writing one by one)", len(batch))
                await self._one_by_one(batch)
                continue
            self.batches += 1
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _one_by_one(
        self, batch: list[tuple[Outcome, asyncio.Future[Finished | None]]]
    ) -> None:
        for o, future in batch:
            try:
                result = await finish_attempt(
                    self.db,
                    o.attempt,
                    o.outcome,
                    status=o.status,
                    next_attempt_at=o.next_attempt_at,
                )
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
                continue
            if not future.done():
                future.set_result(result)


__all__ = ["OutcomeWriter"]
