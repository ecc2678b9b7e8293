"""Lead and call record, written together: one transaction per step of an attempt.

1. :func:`start_attempt` — before anything is sent: the lead's attempt is
   counted and it stops being due; the call record is inserted with status
   NULL (in flight). A crash after this leaves evidence for reconciliation.
2. :func:`finish_attempt` — the outcome: call record and lead in one go.
3. :func:`record_dnc_block` — the number is on a Do-Not-Call list: a call record
   with status DO_NOT_CALL, the lead DO_NOT_CALL for good, no call placed.

Event hooks run after the commit (:func:`announce`), so an observer never sees
something the database does not hold. :func:`log_call_outcome` writes the one
``call_outcome`` log line of each attempt from the same column values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opendialer.core.contracts import CallOutcome
from opendialer.core.domain import LeadStatus
from opendialer.core.engine.claims import ClaimedLead, due_condition
from opendialer.core.engine.transactions import write_transaction
from opendialer.core.plugins import PluginManager
from opendialer.core.services.calls import call_json
from opendialer.core.services.leads import lead_json
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, Lead
from opendialer.sdk import events

log = logging.getLogger(__name__)
#: The logger of per-call lines (``call_outcome``), whoever closes the call.
calls_log = logging.getLogger("opendialer.engine.calls")


@dataclass(frozen=True, slots=True)
class DncCheck:
    """Which DNC service answered, when, and what it said (stored on the call record)."""

    service: str
    checked_at: datetime
    blocked: bool
    #: How long the check took (wall time, ms), for the log line; not stored.
    elapsed_ms: float | None = None

    @property
    def result(self) -> str:
        return "blocked" if self.blocked else "callable"


@dataclass(slots=True)
class Attempt:
    record_id: int
    call_id: str
    lead: ClaimedLead
    number: int  # the lead's attempt number (1-based)
    node: str
    created_at: datetime
    dnc: DncCheck | None = None  # the check that let it through (None: not checked)


@dataclass(slots=True)
class Finished:
    """What happened, for the event hooks and the log line."""

    record_id: int
    lead_id: int
    old_status: str
    new_status: str
    next_attempt_at: datetime | None
    extra: dict[str, Any] = field(default_factory=dict)
    #: The rows as committed (RETURNING), so the hooks need no second read; None: read them.
    call_row: dict[str, Any] | None = None
    lead_row: dict[str, Any] | None = None


def _attempt_started(now: datetime) -> dict[Any, Any]:
    """The lead's columns when an attempt starts: counted, not due, lease spent."""
    return {
        Lead.attempts: Lead.attempts + 1,
        Lead.next_attempt_at: None,
        Lead.lease_until: None,
        Lead.updated_at: now,
    }


async def start_attempt(
    db: Database,
    lead: ClaimedLead,
    *,
    node: str,
    call_id: str,
    now: datetime,
    dnc: DncCheck | None,
) -> Attempt | None:
    """Count the attempt and insert the in-flight record; None if the lease was lost."""
    async with write_transaction(db, urgent=True):  # the launch path: before outcome writes
        rows = (
            await Lead.update(_attempt_started(now))
            .where(
                (Lead.id == lead.id)
                & (Lead.lease_owner == node)
                & Lead.next_attempt_at.is_not_null()
            )
            .returning(Lead.attempts)
            .run()
        )
        if not rows:
            return None
        number = rows[0]["attempts"]
        inserted = (
            await CallRecord.insert(
                CallRecord(
                    campaign=lead.campaign_id,
                    lead=lead.id,
                    attempt=number,
                    call_id=call_id,
                    node=node,
                    phone=lead.phone,
                    created_at=now,
                    status=None,
                    dnc_service=dnc.service if dnc else None,
                    dnc_checked_at=dnc.checked_at if dnc else None,
                    dnc_result=dnc.result if dnc else None,
                )
            )
            .returning(CallRecord.id)
            .run()
        )
    return Attempt(
        record_id=inserted[0]["id"],
        call_id=call_id,
        lead=lead,
        number=number,
        node=node,
        created_at=now,
        dnc=dnc,
    )


async def finish_attempt(
    db: Database,
    attempt: Attempt,
    outcome: CallOutcome,
    *,
    status: LeadStatus,
    next_attempt_at: datetime | None,
) -> Finished | None:
    """Store the outcome; None when reconciliation already closed this record."""
    async with write_transaction(db):
        return await _finish_in_transaction(
            attempt, outcome, status=status, next_attempt_at=next_attempt_at
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """One finished attempt waiting to be stored (see :func:`finish_attempts`)."""

    attempt: Attempt
    outcome: CallOutcome
    status: LeadStatus
    next_attempt_at: datetime | None


async def finish_attempts(db: Database, outcomes: list[Outcome]) -> list[Finished | None]:
    """:func:`finish_attempt` for several calls in one transaction (group commit).

    All or nothing: if the transaction fails, none is stored and the caller
    retries them (one by one, so that one bad row cannot hold back the others).
    """
    async with write_transaction(db):
        return [
            await _finish_in_transaction(
                o.attempt, o.outcome, status=o.status, next_attempt_at=o.next_attempt_at
            )
            for o in outcomes
        ]


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


async def record_dnc_block(
    db: Database, lead: ClaimedLead, *, node: str, call_id: str, dnc: DncCheck
) -> Finished | None:
    """The number may not be called: record it, close the lead, place no call."""
    detail = f"on the Do-Not-Call list of {dnc.service}; no call placed"
    async with write_transaction(db):
        rows = (
            await Lead.update(
                {
                    Lead.attempts: Lead.attempts + 1,
                    Lead.status: LeadStatus.DO_NOT_CALL.value,
                    Lead.next_attempt_at: None,
                    Lead.lease_owner: None,
                    Lead.lease_until: None,
                    Lead.updated_at: dnc.checked_at,
                }
            )
            .where(
                (Lead.id == lead.id)
                & (Lead.lease_owner == node)
                & Lead.next_attempt_at.is_not_null()
            )
            .returning(Lead.attempts)
            .run()
        )
        if not rows:
            return None
        inserted = (
            await CallRecord.insert(
                CallRecord(
                    campaign=lead.campaign_id,
                    lead=lead.id,
                    attempt=rows[0]["attempts"],
                    call_id=call_id,
                    node=node,
                    phone=lead.phone,
                    created_at=dnc.checked_at,
                    ended_at=dnc.checked_at,
                    disposition="dnc_blocked",
                    status=LeadStatus.DO_NOT_CALL.value,
                    dnc_service=dnc.service,
                    dnc_checked_at=dnc.checked_at,
                    dnc_result=dnc.result,
                    detail=detail,
                )
            )
            .returning(CallRecord.id)
            .run()
        )
    return Finished(
        record_id=inserted[0]["id"],
        lead_id=lead.id,
        old_status=lead.status,
        new_status=LeadStatus.DO_NOT_CALL.value,
        next_attempt_at=None,
        extra={"attempt": rows[0]["attempts"], "detail": detail},
    )


def _ms(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() * 1000)


def _rounded(value: float | None, digits: int = 0) -> float | int | None:
    if value is None:
        return None
    return round(value, digits) if digits else round(value)


def log_call_outcome(
    row: Mapping[str, Any],
    *,
    dnc_ms: float | None = None,
    originate_latency_ms: float | None = None,
    next_attempt_at: datetime | None = None,
) -> None:
    """The ``call_outcome`` line: one per attempt — placed, blocked by the DNC check,
    or closed by crash reconciliation — its fields named after the call record's
    columns (``row``: the record as stored, or the same names). A fact that does
    not apply is None (``null`` in JSON, ``-`` on the console).

    ``ring_ms``: from the attempt's start to the answer (to the end if unanswered);
    ``talk_ms``: answer to end; ``duration_ms``: start to end."""
    start, answered, ended = row.get("created_at"), row.get("answered_at"), row.get("ended_at")
    calls_log.info(
        "call_outcome",
        extra={
            "campaign": row["campaign"],
            "lead": row["lead"],
            "attempt": row["attempt"],
            "call_id": row["call_id"],
            "node": row["node"],
            "status": row["status"],
            "disposition": row.get("disposition") or None,
            "port": row.get("port") or None,
            "sip_code": row.get("sip_code"),
            "amd_verdict": row.get("amd_verdict"),
            "amd_decision_ms": _rounded(row.get("amd_decision_ms")),
            "dnc_service": row.get("dnc_service"),
            # Stored NULL when the campaign has no DNC service: nothing was checked.
            "dnc_result": row.get("dnc_result") or "skipped",
            "dnc_ms": _rounded(dnc_ms, 2),
            "originate_latency_ms": _rounded(originate_latency_ms, 1),
            "ring_ms": _ms(start, answered or ended),
            "talk_ms": _ms(answered, ended),
            "duration_ms": _ms(start, ended),
            "next_attempt_at": next_attempt_at.isoformat() if next_attempt_at else None,
            "detail": row.get("detail") or None,
        },
    )


async def announce(pm: PluginManager, finished: Finished) -> None:
    """Fire ``call_finished`` and (if it changed) ``lead_status_changed`` — after the commit."""
    hook = pm.hook
    wants_call = bool(hook.call_finished.get_hookimpls())
    changed = finished.old_status != finished.new_status
    wants_lead = changed and bool(hook.lead_status_changed.get_hookimpls())
    if wants_call:
        row = finished.call_row
        if row is None:
            row = await CallRecord.select().where(CallRecord.id == finished.record_id).first().run()
        if row is not None:
            # The API's serialiser, so plugins see what GET .../calls shows.
            call = events.CallRecord.from_api(call_json(row), campaign_id=row["campaign"])
            await pm.notify("call_finished", call=call)
    if wants_lead:
        lead = finished.lead_row
        if lead is None:
            lead = await Lead.select().where(Lead.id == finished.lead_id).first().run()
        if lead is not None:
            # The API's serialiser: no lease_owner/lease_until (storage internals).
            data = events.LeadRecord.from_api(lead_json(lead), campaign_id=lead["campaign"])
            await pm.notify(
                "lead_status_changed",
                lead=data,
                old_status=finished.old_status,
                new_status=finished.new_status,
            )


__all__ = [
    "Attempt",
    "DncCheck",
    "Finished",
    "announce",
    "cancel_attempt",
    "claim_and_start_attempts",
    "closing_columns",
    "finish_attempt",
    "log_call_outcome",
    "record_dnc_block",
    "start_attempt",
]


async def cancel_attempt(db: Database, attempt: Attempt, *, due_at: datetime) -> None:
    """Nothing was sent after all (the platform had no port): undo the attempt, due again."""
    async with write_transaction(db):
        await (
            CallRecord.delete()
            .where((CallRecord.id == attempt.record_id) & CallRecord.status.is_null())
            .run()
        )
        await (
            Lead.update(
                {
                    Lead.attempts: Lead.attempts - 1,
                    Lead.next_attempt_at: due_at,
                    Lead.lease_owner: None,
                    Lead.lease_until: None,
                }
            )
            .where(Lead.id == attempt.lead.id)
            .run()
        )


async def claim_and_start_attempts(
    db: Database,
    *,
    campaign_id: int,
    node: str,
    now: datetime,
    limit: int,
    new_call_id: Callable[[], str],
) -> list[Attempt]:
    """Claim up to ``limit`` due leads and start their attempts, in one transaction.

    For a campaign with no DNC check there is nothing to do between the claim and
    the start, so one transaction does both: the leads are counted and not due,
    and their in-flight records are committed, before the caller sends anything.
    PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` keeps concurrent nodes apart;
    SQLite: the transaction is ``BEGIN IMMEDIATE`` (one writer).
    """
    if limit <= 0:
        return []
    query = (
        Lead.select(
            Lead.id, Lead.name, Lead.phone, Lead.attempts, Lead.status, Lead.next_attempt_at
        )
        .where(due_condition(campaign_id, now))
        .order_by(Lead.next_attempt_at, Lead.id)
        .limit(limit)
    )
    if db.is_postgres:
        query = query.lock_rows("UPDATE", skip_locked=True)
    async with write_transaction(db, urgent=True):
        due = await query.run()
        if not due:
            return []
        by_id = {
            r["id"]: (
                ClaimedLead.from_row(r, campaign_id),
                new_call_id(),
            )
            for r in due
        }
        rows = (
            await Lead.update({**_attempt_started(now), Lead.lease_owner: node})
            .where(Lead.id.is_in(list(by_id)))
            .returning(Lead.id, Lead.attempts)
            .run()
        )
        started = await _insert_started(
            by_id, {r["id"]: r["attempts"] for r in rows}, node=node, now=now
        )
    return sorted(started.values(), key=lambda a: (a.lead.due_at, a.lead.id))


async def _insert_started(
    by_id: dict[int, tuple[ClaimedLead, str]],
    numbers: dict[int, int],
    *,
    node: str,
    now: datetime,
) -> dict[int, Attempt]:
    """Insert the in-flight records of started attempts (inside the caller's transaction).

    One multi-row INSERT written out by hand: building a Piccolo ``CallRecord``
    object per row costs about a millisecond each, and this runs on the launch
    path while agents wait. Every column without a NULL default is given."""
    values: list[Any] = []
    for lead_id, number in numbers.items():
        lead, call_id = by_id[lead_id]
        values += [lead.campaign_id, lead_id, number, call_id, node, lead.phone, now]
    row = "({}, {}, {}, {}, {}, '', {}, {}, '', '', '')"
    inserted = await CallRecord.raw(
        "INSERT INTO call_record (campaign, lead, attempt, call_id, node, port, phone, "
        "created_at, disposition, amd_reasons, detail) VALUES "
        + ", ".join([row] * len(numbers))
        + " RETURNING id, lead",
        *values,
    ).run()
    return {
        r["lead"]: Attempt(
            record_id=r["id"],
            call_id=by_id[r["lead"]][1],
            lead=by_id[r["lead"]][0],
            number=numbers[r["lead"]],
            node=node,
            created_at=now,
        )
        for r in inserted
    }
