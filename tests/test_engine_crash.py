"""kill -9 an engine process mid-campaign, restart it: every lead accounted for,
in-flight attempts reconciled as UNKNOWN (attempt counted), none dialed twice; the
audit trail holds exactly one start and one end for every call record, the crash
notwithstanding (each written in its record's transaction)."""

from __future__ import annotations

import json
import os
import signal
from collections import Counter

import pytest
from engine_support import (
    assert_every_lead_accounted_for,
    engine_process_env,
    full_day_campaign,
    start_engine_process,
    wait_for,
)

from opendialer.core.storage import Database
from opendialer.core.storage.tables import AuditEvent, CallRecord, Lead

pytestmark = [pytest.mark.pg, pytest.mark.slow]


async def test_kill_9_mid_campaign_then_restart(
    db: Database, cli_env: dict[str, str], tmp_path
) -> None:
    cid = await full_day_campaign(40, retry_after_minutes=0, max_attempts=3)
    env = engine_process_env(cli_env, "crash-node", slots=8, ring_s=[0.5, 1.5])

    async def open_calls() -> int:
        return await CallRecord.count().where(CallRecord.status.is_null()).run()

    async def finished_calls() -> int:
        return await CallRecord.count().where(CallRecord.status.is_not_null()).run()

    first = start_engine_process(env, tmp_path / "first.log")
    try:

        async def mid_campaign() -> bool:
            return await finished_calls() >= 8 and await open_calls() >= 3

        await wait_for(mid_campaign, what="calls in flight after some finished")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    evidence = await open_calls()
    assert evidence >= 3  # the records inserted before originate survived the crash

    second = start_engine_process(env, tmp_path / "second.log")
    try:

        async def all_done() -> bool:
            left = (
                await Lead.count().where((Lead.campaign == cid) & (Lead.status != "SUCCESS")).run()
            )
            return left == 0 and await open_calls() == 0

        await wait_for(all_done, deadline_s=180, what="every lead called after the restart")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
    calls = await assert_every_lead_accounted_for(cid)
    unknown = [c for c in calls if c["status"] == "UNKNOWN"]
    assert len(unknown) == evidence
    assert all("restarted" in c["detail"] for c in unknown)
    retried = {c["lead"] for c in unknown}
    for call in calls:
        if call["lead"] in retried and call["status"] == "SUCCESS":
            assert call["attempt"] >= 2  # a new attempt, never the reconciled one again

    trail = await AuditEvent.select().where(AuditEvent.campaign == cid).run()
    for kind in ("attempt_started", "attempt_ended"):
        per_call = Counter(r["call_id"] for r in trail if r["kind"] == kind)
        assert per_call == Counter(c["call_id"] for c in calls), kind
    reconciled = {
        r["call_id"]: json.loads(r["detail"])
        for r in trail
        if r["kind"] == "attempt_ended" and "reconciled" in r["detail"]
    }
    assert set(reconciled) == {c["call_id"] for c in unknown}
    assert all(
        d["status"] == "UNKNOWN" and "restarted" in d["reconciled"] for d in reconciled.values()
    )
