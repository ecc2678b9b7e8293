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

The transaction itself (:func:`finish_attempt`): the call record's closing
columns, the lead's new status and the call's audit-trail rows (answered, ended,
abandoned and its safe-harbour message: :func:`outcome_entries`) in one go — the
trail's rows of a whole batch in one INSERT; nothing when crash reconciliation
closed the record first.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import datetime
from typing import Any

from opendialer.core.domain import LeadStatus
from opendialer.core.engine.audit import AuditEntry, AuditKind, write_audit
from opendialer.core.engine.records import Attempt, Finished, Outcome, params_json
from opendialer.core.engine.transactions import write_transaction
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, Lead
from opendialer.sdk.contracts import CallDisposition, CallOutcome

log = logging.getLogger("opendialer.engine.records")


async def finish_attempt(
    db: Database,
    attempt: Attempt,
    outcome: CallOutcome,
    *,
    status: LeadStatus,
    next_attempt_at: datetime | None,
) -> Finished | None:
    """Store the outcome; None when reconciliation already closed this record."""
    return (
        await finish_attempts(
            db, [Outcome(attempt, outcome, status=status, next_attempt_at=next_attempt_at)]
        )
    )[0]


async def finish_outcome(db: Database, outcome: Outcome) -> Finished | None:
    """:func:`finish_attempt` of one :class:`Outcome` (all it carries)."""
    return (await finish_attempts(db, [outcome]))[0]


async def finish_attempts(db: Database, outcomes: list[Outcome]) -> list[Finished | None]:
    """:func:`finish_attempt` for several calls in one transaction (group commit).

    All or nothing: if the transaction fails, none is stored and the caller
    retries them (one by one, so that one bad row cannot hold back the others).
    """
    async with write_transaction(db):
        results = [
            await _finish_in_transaction(
                o.attempt, o.outcome, status=o.status, next_attempt_at=o.next_attempt_at
            )
            for o in outcomes
        ]
        await write_audit(
            [
                entry
                for o, result in zip(outcomes, results, strict=True)
                if result is not None  # reconciliation closed it: its own rows say so
                for entry in outcome_entries(o)
            ]
        )
        return results


def outcome_entries(o: Outcome) -> list[AuditEntry]:
    """The trail's rows of a finished call: answered (if it was), ended, and for an
    abandoned call the abandon and the safe-harbour message it carried."""
    attempt, outcome = o.attempt, o.outcome
    lead = attempt.lead

    def entry(kind: AuditKind, at: datetime, detail: dict[str, Any]) -> AuditEntry:
        return AuditEntry(
            kind=kind,
            at=at,
            campaign=lead.campaign_id,
            number=lead.phone,
            lead=lead.id,
            attempt=attempt.number,
            call_id=attempt.call_id,
            node=attempt.node,
            detail=detail,
        )

    amd = outcome.amd
    verdict = amd.label.value if amd else None
    entries = []
    if outcome.answered_at is not None:
        entries.append(
            entry(AuditKind.ATTEMPT_ANSWERED, outcome.answered_at, {"port": outcome.port})
        )
    entries.append(
        entry(
            AuditKind.ATTEMPT_ENDED,
            outcome.ended_at,
            {
                "started_at": attempt.created_at,
                "answered_at": outcome.answered_at,
                "disposition": outcome.disposition.value,
                "status": o.status.value,
                "sip_code": outcome.sip_code,
                "amd_verdict": verdict,
                "amd_decision_ms": amd.decision_ms if amd else None,
                "transfer_result": outcome.transfer_code,
                "detail_code": outcome.detail_code,
                "next_attempt_at": o.next_attempt_at,
            },
        )
    )
    if outcome.disposition is CallDisposition.MESSAGE_LEFT:
        entries.append(
            entry(
                AuditKind.MESSAGE_LEFT,
                outcome.ended_at,
                {
                    "answered_at": outcome.answered_at,
                    "amd_verdict": verdict,
                    "message_ms": o.voicemail_ms,
                    "detail_code": outcome.detail_code,
                    "detail_params": dict(outcome.detail_params),  # the message point…
                },
            )
        )
    if outcome.disposition is CallDisposition.ABANDONED:
        entries.append(
            entry(
                AuditKind.ABANDONED,
                outcome.ended_at,
                {
                    "answered_at": outcome.answered_at,
                    "amd_verdict": verdict,
                    "detail_code": outcome.detail_code,
                    "detail_params": dict(outcome.detail_params),  # the platform's: waited_ms…
                },
            )
        )
        if o.safe_harbour_ms is not None:
            entries.append(
                entry(
                    AuditKind.SAFE_HARBOUR_PLAYED,
                    outcome.ended_at,
                    # The platform's code and values say whether it was heard to the
                    # end (SIP: the seconds ``played`` when the person hung up during it).
                    {
                        "message_ms": o.safe_harbour_ms,
                        "detail_code": outcome.detail_code,
                        "detail_params": dict(outcome.detail_params),
                    },
                )
            )
    return entries


def closing_columns(outcome: CallOutcome, status: LeadStatus) -> dict[str, Any]:
    """The call record's columns an outcome sets, by name (stored and logged alike)."""
    amd = outcome.amd
    return {
        "port": outcome.port,
        "answered_at": outcome.answered_at,
        "ended_at": outcome.ended_at,
        "sip_code": outcome.sip_code,
        "disposition": outcome.disposition.value,
        "amd_verdict": amd.label.value if amd else None,
        "amd_decision_ms": amd.decision_ms if amd else None,
        "amd_reasons": amd.reasons if amd else "",
        "transfer_result": None if outcome.transfer_code is None else f"{outcome.transfer_code}",
        "status": status.value,
        "detail": outcome.detail or outcome.sip_reason,
        "detail_code": outcome.detail_code,
        "detail_params": params_json(outcome.detail_params) if outcome.detail_code else None,
    }


async def _finish_in_transaction(
    attempt: Attempt,
    outcome: CallOutcome,
    *,
    status: LeadStatus,
    next_attempt_at: datetime | None,
) -> Finished | None:
    columns = closing_columns(outcome, status)
    closed = (
        await CallRecord.update({getattr(CallRecord, name): v for name, v in columns.items()})
        .where((CallRecord.id == attempt.record_id) & CallRecord.status.is_null())
        .returning(*CallRecord.all_columns())
        .run()
    )
    if not closed:
        return None
    lead_rows = await (
        Lead.update(
            {
                Lead.status: status.value,
                Lead.next_attempt_at: next_attempt_at,
                Lead.lease_owner: None,
                Lead.lease_until: None,
                Lead.updated_at: outcome.ended_at,
            }
        )
        .where(Lead.id == attempt.lead.id)
        .returning(*Lead.all_columns())
        .run()
    )
    return Finished(
        record_id=attempt.record_id,
        lead_id=attempt.lead.id,
        old_status=attempt.lead.status,
        new_status=status.value,
        next_attempt_at=next_attempt_at,
        call_row=closed[0],
        lead_row=lead_rows[0] if lead_rows else None,
    )


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
            # A writer cancelled before it ran never reaches its own ``finally``.
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _write_all(self) -> None:
        try:
            while self._queue:
                batch = [
                    self._queue.popleft() for _ in range(min(len(self._queue), self.max_batch))
                ]
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
        finally:
            # Uncounted in the same step as the empty queue was seen, not by a done
            # callback a loop iteration later: an outcome queued in between (by a call
            # its commit just resumed) would find every writer "running" and wait forever.
            current = asyncio.current_task()
            if current is not None:
                self._tasks.discard(current)

    async def _one_by_one(
        self, batch: list[tuple[Outcome, asyncio.Future[Finished | None]]]
    ) -> None:
        for o, future in batch:
            try:
                result = await finish_outcome(self.db, o)
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
                continue
            if not future.done():
                future.set_result(result)


__all__ = [
    "OutcomeWriter",
    "closing_columns",
    "finish_attempt",
    "finish_attempts",
    "finish_outcome",
    "outcome_entries",
]
