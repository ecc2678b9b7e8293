"""Two engine processes on one PostgreSQL: no lead dialed twice, both share the work,
one runs the scheduler (advisory lock), the other takes over when it dies."""

from __future__ import annotations

import os
import signal

import asyncpg
import pytest
from engine_support import (
    assert_every_lead_accounted_for,
    engine_process_env,
    full_day_campaign,
    start_engine_process,
    wait_for,
)

from opendialer.core.engine.coordinator import SCHEDULER_LOCK_KEY
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, EngineNode, Lead, Schedule

pytestmark = [pytest.mark.pg, pytest.mark.slow]


async def scheduler_lock_holders(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(
            # Advisory locks are per database: engines of other databases on the same
            # server (another test run, a bench) hold the same key in theirs.
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = $1 AND objid = $2 AND objsubid = 1 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            SCHEDULER_LOCK_KEY >> 32,
            SCHEDULER_LOCK_KEY & 0xFFFFFFFF,
        )
    finally:
        await conn.close()


async def leaders() -> set[str]:
    rows = await EngineNode.select(EngineNode.node_id).where(EngineNode.is_leader == True).run()  # noqa: E712
    return {r["node_id"] for r in rows}


async def test_two_engines_share_the_work_and_one_takes_over(
    db: Database, db_url: str, cli_env: dict[str, str], tmp_path
) -> None:
    if not db.is_postgres:
        pytest.skip("several engine nodes need PostgreSQL (SQLite is the single-node backend)")
    cid = await full_day_campaign(160, retry_after_minutes=0, max_attempts=3)
    procs = {
        name: start_engine_process(
            engine_process_env(cli_env, name, slots=4, ring_s=[0.3, 1.0]),
            tmp_path / f"{name}.log",
        )
        for name in ("node-a", "node-b")
    }
    try:

        async def both_dialed() -> bool:
            rows = (
                await CallRecord.select(CallRecord.node)
                .where(CallRecord.status.is_not_null())
                .distinct()
                .run()
            )
            return {r["node"] for r in rows} == {"node-a", "node-b"}

        await wait_for(both_dialed, what="both nodes to place calls")

        async def one_leader() -> bool:
            return len(await leaders()) == 1

        await wait_for(one_leader, what="a leader")
        assert await scheduler_lock_holders(db_url) == 1
        [leader] = await leaders()
        [survivor] = {"node-a", "node-b"} - {leader}

        os.kill(procs[leader].pid, signal.SIGKILL)
        procs[leader].wait(timeout=30)
        # Yesterday's entry is put back: only a scheduler (the new leader) finishes it again.
        await (
            Schedule.update({Schedule.state: "NOT_RUNNING"})
            .where((Schedule.campaign == cid) & (Schedule.state == "FINISHED"))
            .run()
        )

        async def taken_over() -> bool:
            finished = (
                await Schedule.count()
                .where((Schedule.campaign == cid) & (Schedule.state == "FINISHED"))
                .run()
            )
            return await leaders() == {survivor} and finished == 1

        await wait_for(taken_over, what=f"{survivor} to take over the scheduler")
        assert await scheduler_lock_holders(db_url) == 1

        async def all_done() -> bool:
            left = (
                await Lead.count().where((Lead.campaign == cid) & (Lead.status != "SUCCESS")).run()
            )
            still_open = await CallRecord.count().where(CallRecord.status.is_null()).run()
            return left == 0 and still_open == 0

        await wait_for(all_done, deadline_s=240, what="every lead to be called")
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            proc.wait(timeout=60)
    calls = await assert_every_lead_accounted_for(cid)
    by_node = {node: sum(1 for c in calls if c["node"] == node) for node in ("node-a", "node-b")}
    assert all(count > 0 for count in by_node.values()), by_node
    # Whatever the dead leader had in flight was closed by the survivor as UNKNOWN.
    unknown = [c for c in calls if c["status"] == "UNKNOWN"]
    assert all(c["node"] == leader and "stopped answering" in c["detail"] for c in unknown)
