"""Several engine nodes on one database: heartbeats, and one scheduler at a time.

Every node writes its heartbeat to ``engine_node``. The node that holds the
scheduler lock is the *leader*: it alone moves schedule states, stops finished
campaigns, probes failing DNC services and reconciles dead nodes. Every node
dials (claims keep them apart).

PostgreSQL: the lock is a session-level advisory lock held on a dedicated
connection — when the leader's process dies its connection drops, PostgreSQL
releases the lock, and the next node to try takes it over (within a tick).
SQLite is the single-node backend: the one node is always the leader.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta

import asyncpg

from opendialer.core.storage import Database
from opendialer.core.storage.tables import EngineNode

log = logging.getLogger(__name__)

#: pg_advisory_lock key of the scheduler (the migration lock is 0x0D1A1E0001).
SCHEDULER_LOCK_KEY = 0x0D1A1E0002


class Coordinator:
    def __init__(self, db: Database, node_id: str, *, dead_after_s: float = 15.0) -> None:
        self.db = db
        self.node_id = node_id
        self.dead_after = timedelta(seconds=dead_after_s)
        self.is_leader = False
        self._lock_conn: asyncpg.Connection | None = None

    async def join(self, now: datetime) -> None:
        """Announce this node (replacing a row a previous life of it left)."""
        await EngineNode.delete().where(EngineNode.node_id == self.node_id).run()
        await EngineNode.insert(
            EngineNode(
                node_id=self.node_id,
                host=socket.gethostname(),
                pid=os.getpid(),
                started_at=now,
                heartbeat_at=now,
                is_leader=False,
            )
        ).run()

    async def heartbeat(self, now: datetime) -> None:
        updated = (
            await EngineNode.update(
                {EngineNode.heartbeat_at: now, EngineNode.is_leader: self.is_leader}
            )
            .where(EngineNode.node_id == self.node_id)
            .returning(EngineNode.node_id)
            .run()
        )
        if not updated:  # someone reconciled us as dead: say we are back
            await self.join(now)

    async def try_lead(self) -> bool:
        """Hold (or try to take) the scheduler lock; True while this node is the leader."""
        if not self.db.is_postgres:
            self.is_leader = True
            return True
        try:
            if self._lock_conn is None or self._lock_conn.is_closed():
                if self.is_leader:
                    log.warning("scheduler_lock_lost node=%s", self.node_id)
                self.is_leader = False
                self._lock_conn = await asyncpg.connect(
                    self.db.url.replace("postgresql+asyncpg://", "postgresql://"), timeout=5
                )
            if self.is_leader:
                await self._lock_conn.fetchval("SELECT 1")  # still connected = still held
                return True
            got = await self._lock_conn.fetchval(
                "SELECT pg_try_advisory_lock($1)", SCHEDULER_LOCK_KEY
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("scheduler_lock_error node=%s error=%s", self.node_id, exc)
            await self._drop_lock_conn()
            self.is_leader = False
            return False
        if got and not self.is_leader:
            log.info("scheduler_leader node=%s", self.node_id)
        self.is_leader = bool(got)
        return self.is_leader

    async def dead_nodes(self, now: datetime) -> list[str]:
        rows = (
            await EngineNode.select(EngineNode.node_id)
            .where(
                (EngineNode.heartbeat_at < now - self.dead_after)
                & (EngineNode.node_id != self.node_id)
            )
            .run()
        )
        return [r["node_id"] for r in rows]

    async def alive_nodes(self, now: datetime) -> set[str]:
        rows = (
            await EngineNode.select(EngineNode.node_id)
            .where(EngineNode.heartbeat_at >= now - self.dead_after)
            .run()
        )
        return {r["node_id"] for r in rows}

    async def forget(self, node_id: str) -> None:
        await EngineNode.delete().where(EngineNode.node_id == node_id).run()

    async def leave(self) -> None:
        """Clean shutdown: give up the lock and the node row."""
        if self._lock_conn is not None and not self._lock_conn.is_closed():
            try:
                await self._lock_conn.execute("SELECT pg_advisory_unlock($1)", SCHEDULER_LOCK_KEY)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                pass
        await self._drop_lock_conn()
        self.is_leader = False
        await self.forget(self.node_id)

    async def _drop_lock_conn(self) -> None:
        if self._lock_conn is not None:
            try:
                await self._lock_conn.close(timeout=2)
            except Exception:
                self._lock_conn.terminate()
        self._lock_conn = None


__all__ = ["SCHEDULER_LOCK_KEY", "Coordinator"]
