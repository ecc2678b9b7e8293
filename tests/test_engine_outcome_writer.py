"""The engine's group commit of call outcomes (``OutcomeWriter``): an outcome handed
to it is stored, whenever it arrives — including in the instant its last writer is
finishing. That instant once left a call's record open for good when the
campaign's last outcomes came in just then (``test_engine_crash`` saw a call stay
open minutes after it ended): the writer had left its loop but was still counted as
running, so no new writer was started for the outcome queued behind it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from engine_support import add_leads, add_schedule, make_campaign, records, utc

from opendialer.core.domain import LeadStatus
from opendialer.core.engine.claims import claim_due_leads
from opendialer.core.engine.outcome_writer import OutcomeWriter
from opendialer.core.engine.records import Attempt, Outcome, start_attempt
from opendialer.core.storage import Database
from opendialer.core.storage.tables import Lead
from opendialer.sdk.contracts import CallDisposition, CallOutcome

pytestmark = pytest.mark.pg

DAY = utc(2026, 3, 2, 10)


async def started_attempts(db: Database, count: int) -> list[Attempt]:
    cid = await make_campaign()
    await add_schedule(cid, DAY.date(), start=DAY.time().replace(hour=20))  # not dialing now
    await add_leads(cid, [f"1555094{n}" for n in range(count)])
    await Lead.update({Lead.next_attempt_at: DAY}).where(Lead.campaign == cid).run()
    leads = await claim_due_leads(db, campaign_id=cid, node="node-a", now=DAY, limit=count)
    attempts = []
    for n, lead in enumerate(leads):
        begun = await start_attempt(db, lead, node="node-a", call_id=f"call-{n}", now=DAY, dnc=None)
        assert isinstance(begun, Attempt)
        attempts.append(begun)
    return attempts


def busy(attempt: Attempt) -> Outcome:
    ended = DAY + timedelta(seconds=5)
    return Outcome(
        attempt,
        CallOutcome(CallDisposition.FINAL_RESPONSE, "sim-1", DAY, ended, sip_code=486),
        status=LeadStatus.BUSY,
        next_attempt_at=ended + timedelta(hours=1),
    )


async def test_an_outcome_arriving_as_the_writer_finishes_is_stored(db: Database) -> None:
    first, second = await started_attempts(db, 2)
    writer = OutcomeWriter(db, writers=1)
    stored = await writer.finish(busy(first))
    assert stored is not None and stored.new_status == "BUSY"
    # Resumed by the first outcome's commit, before the writer that stored it is gone:
    # the second outcome is queued in that very instant (no await in between).
    async with asyncio.timeout(20):
        again = await writer.finish(busy(second))
    assert again is not None and again.new_status == "BUSY"
    assert {c["call_id"]: c["status"] for c in await records(first.lead.campaign_id)} == {
        "call-0": "BUSY",
        "call-1": "BUSY",
    }


async def test_outcomes_from_many_calls_at_once_are_all_stored_once(db: Database) -> None:
    attempts = await started_attempts(db, 12)
    writer = OutcomeWriter(db, max_batch=4)

    async def call(attempt: Attempt, delay: float) -> object:
        await asyncio.sleep(delay)
        return await writer.finish(busy(attempt))

    async with asyncio.timeout(30):
        done = await asyncio.gather(*(call(a, (n % 3) * 0.01) for n, a in enumerate(attempts)))
    assert all(d is not None for d in done)
    stored = await records(attempts[0].lead.campaign_id)
    assert sorted(c["call_id"] for c in stored) == sorted(a.call_id for a in attempts)
    assert {c["status"] for c in stored} == {"BUSY"}
    # Stored again (a retry after an error that in fact committed): nothing changes.
    assert await writer.finish(busy(attempts[0])) is None
