"""SQLite keeps its connections: a burst of queries and write transactions neither
opens a thread per query nor deadlocks, and a failed transaction leaves nothing behind."""

from __future__ import annotations

import asyncio
import threading

import pytest
from engine_support import make_campaign
from eventually import eventually

from opendialer.core.engine.transactions import write_transaction
from opendialer.core.storage import Database, connect
from opendialer.core.storage.sqlite_pool import PooledSQLiteEngine
from opendialer.core.storage.tables import Campaign, Lead


def sqlite_only(db: Database) -> PooledSQLiteEngine:
    if db.is_postgres:
        pytest.skip("the connection pool of PostgreSQL is asyncpg's; this one is SQLite's")
    assert isinstance(db.engine, PooledSQLiteEngine)
    return db.engine


async def test_a_burst_of_queries_and_writes_reuses_a_few_connections(db: Database) -> None:
    engine = sqlite_only(db)
    cid = await make_campaign()
    started: set[int] = set()
    original = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        started.add(id(thread))
        original(thread)

    async def write(i: int) -> None:
        async with write_transaction(db, urgent=i % 3 == 0):
            await Lead.insert(Lead(campaign=cid, name=f"L{i}", phone=f"1999{i:05d}")).run()
            # A read inside the transaction sees its own write (same connection).
            assert await Lead.exists().where(Lead.phone == f"1999{i:05d}").run()

    async def read() -> int:
        return await Lead.count().where(Lead.campaign == cid).run()

    threading.Thread.start = counting_start  # type: ignore[method-assign,assignment]
    try:
        await asyncio.wait_for(
            asyncio.gather(*[write(i) for i in range(60)], *[read() for _ in range(300)]),
            timeout=120,
        )
    finally:
        threading.Thread.start = original  # type: ignore[method-assign]
    assert await read() == 60
    # Piccolo's own engine starts a thread per query and per transaction (360 here).
    assert len(started) <= engine.max_open + 60
    assert len(started) < 100


async def test_a_failed_transaction_is_rolled_back_and_its_connection_reusable(
    db: Database,
) -> None:
    sqlite_only(db)
    cid = await make_campaign()
    with pytest.raises(RuntimeError, match="boom"):
        async with write_transaction(db):
            await Campaign.update({Campaign.name: "changed"}).where(Campaign.id == cid).run()
            raise RuntimeError("boom")
    row = await Campaign.select(Campaign.name).where(Campaign.id == cid).first().run()
    assert row is not None and row["name"] == "Campaign"
    for _ in range(10):  # every pooled connection is out of any transaction
        async with write_transaction(db):
            await Campaign.update({Campaign.name: "again"}).where(Campaign.id == cid).run()
    row = await Campaign.select(Campaign.name).where(Campaign.id == cid).first().run()
    assert row is not None and row["name"] == "again"


async def test_closing_the_database_closes_the_pooled_connections(tmp_path) -> None:
    db = await connect(f"sqlite:///{tmp_path / 'pool.sqlite'}")
    engine = db.engine
    assert isinstance(engine, PooledSQLiteEngine)
    await asyncio.gather(*[engine.run_ddl("SELECT 1") for _ in range(20)])
    before = threading.active_count()
    await db.close()
    await eventually(
        lambda: threading.active_count() < before, what="the connection threads ending"
    )
    assert engine._idle == []
