"""Lead and call record, written together: one transaction per step of an attempt.

1. The attempt starts before anything is sent: the lead's attempt is counted
   and it stops being due; the call record is inserted with status NULL (in
   flight). A crash after this leaves evidence for reconciliation.
   :func:`claim_and_start_attempts` claims a batch of due leads and starts them
   in one transaction (nothing to check between the two);
   :func:`start_attempt` starts one lead claimed earlier (after its DNC check).
   Both screen the leads by the campaign's contact limits in that transaction
   (``contact_limits.py``): a lead a limit forbids is put off, not started.
2. :func:`record_dnc_block` — the number is on a Do-Not-Call list: a call record
   with status DO_NOT_CALL, the lead DO_NOT_CALL for good, no call placed.
3. :func:`cancel_attempt` — the platform refused (nothing was sent): undone.

Every call record is inserted by :func:`insert_call_records` (one multi-row
INSERT). Each step also writes its rows of the audit trail in its transaction
(:mod:`~opendialer.core.engine.audit`): the DNC check (also one that could not be
made: :func:`release_unchecked`), the start, the cancellation.
The outcome is stored by :mod:`~opendialer.core.engine.outcome_writer`; its log
line and hooks are in :mod:`~opendialer.core.engine.call_events`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opendialer.core.domain import LeadStatus
from opendialer.core.engine.audit import (
    AuditEntry,
    AuditKind,
    started_detail,
    write_audit,
    write_started,
)
from opendialer.core.engine.claims import (
    SCREENED_COLUMNS,
    ClaimedLead,
    ZoneKeys,
    select_due,
)
from opendialer.core.engine.contact_limits import ContactLimits, Deferral, defer_leads, screen
from opendialer.core.engine.transactions import write_transaction
from opendialer.core.engine.window import Window
from opendialer.core.services.error_messages import MESSAGES
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, Lead
from opendialer.sdk.contracts import CallOutcome

#: The detail of a call record the DNC check blocked (its code's English sentence).
DNC_BLOCKED = "call.dnc_blocked"


@dataclass(frozen=True, slots=True)
class DncCheck:
    """Which DNC service answered, when, and what it said (stored on the call record)."""

    service: str
    checked_at: datetime
    blocked: bool
    #: How long the check took (wall time, ms), for the log line; not stored.
    elapsed_ms: float | None = None
    #: The list's version and load time, when the provider tells (the audit trail).
    list_version: int | str | None = None
    list_loaded_at: datetime | None = None
    #: When the list that answered was last updated, if its provider says; not stored.
    list_date: datetime | None = None

    @property
    def result(self) -> str:
        return "blocked" if self.blocked else "callable"

    def audit(self, lead: ClaimedLead, *, node: str, attempt: int, call_id: str) -> AuditEntry:
        """The trail's ``dnc_check`` row: service, answer, and the list's version and age."""
        loaded = self.list_loaded_at
        return AuditEntry(
            kind=AuditKind.DNC_CHECK,
            at=self.checked_at,
            campaign=lead.campaign_id,
            number=lead.phone,
            lead=lead.id,
            attempt=attempt,
            call_id=call_id,
            node=node,
            detail={
                "service": self.service,
                "result": self.result,
                "list_version": self.list_version,
                "list_loaded_at": loaded,
                "list_age_s": (
                    None if loaded is None else round((self.checked_at - loaded).total_seconds())
                ),
            },
        )


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


@dataclass(frozen=True, slots=True)
class Outcome:
    """One finished attempt waiting to be stored (see ``outcome_writer.finish_attempts``)."""

    attempt: Attempt
    outcome: CallOutcome
    status: LeadStatus
    next_attempt_at: datetime | None
    #: The length of the safe-harbour message the call carried (over-dialed calls
    #: with one uploaded), for the audit trail of an abandoned call; None: none.
    safe_harbour_ms: int | None = None
    #: The length of the voicemail message the call carried (voicemail drop), for the
    #: audit trail of a message left; None: none.
    voicemail_ms: int | None = None


@dataclass(frozen=True, slots=True)
class NewCallRecord:
    """The columns of a call record as it is inserted: in flight (status None) or,
    for a number the DNC check blocked, already closed."""

    lead: ClaimedLead
    attempt: int
    call_id: str
    node: str
    created_at: datetime
    dnc: DncCheck | None = None
    ended_at: datetime | None = None
    disposition: str = ""
    status: str | None = None
    detail: str = ""
    detail_code: str | None = None
    detail_params: Mapping[str, str] | None = None


_COLUMNS = (
    "campaign, lead, attempt, call_id, node, port, phone, created_at, ended_at, disposition, "
    "status, dnc_service, dnc_checked_at, dnc_result, amd_reasons, detail, detail_code, "
    "detail_params"
)
_ROW = "({}, {}, {}, {}, {}, '', {}, {}, {}, {}, {}, {}, {}, {}, '', {}, {}, {})"


def params_json(params: Mapping[str, str] | None) -> str | None:
    """A detail's values as the ``detail_params`` column stores them (JSON text)."""
    return None if params is None else json.dumps(dict(params), ensure_ascii=False)


async def insert_call_records(records: Sequence[NewCallRecord]) -> dict[str, int]:
    """Insert call records (inside the caller's transaction): their ids by call id.

    One multi-row INSERT written out by hand: building a Piccolo ``CallRecord``
    object per row costs about a millisecond each, and this runs on the launch
    path while agents wait. Every column without a NULL default is given."""
    if not records:
        return {}
    values: list[Any] = []
    for r in records:
        dnc = r.dnc
        values += [
            r.lead.campaign_id,
            r.lead.id,
            r.attempt,
            r.call_id,
            r.node,
            r.lead.phone,
            r.created_at,
            r.ended_at,
            r.disposition,
            r.status,
            dnc.service if dnc else None,
            dnc.checked_at if dnc else None,
            dnc.result if dnc else None,
            r.detail,
            r.detail_code,
            params_json(r.detail_params) if r.detail_code else None,
        ]
    inserted = await CallRecord.raw(
        f"INSERT INTO call_record ({_COLUMNS}) VALUES "
        + ", ".join([_ROW] * len(records))
        + " RETURNING id, call_id",
        *values,
    ).run()
    return {row["call_id"]: row["id"] for row in inserted}


def _attempt_started(now: datetime) -> dict[Any, Any]:
    """The lead's columns when an attempt starts: counted, not due, lease spent."""
    return {
        Lead.attempts: Lead.attempts + 1,
        Lead.next_attempt_at: None,
        Lead.lease_until: None,
        Lead.deferred_reason: "",
        Lead.updated_at: now,
    }


def _leased_to(lead: ClaimedLead, node: str) -> Any:
    """The lead is still ours: leased to ``node`` and not started by anyone."""
    return (Lead.id == lead.id) & (Lead.lease_owner == node) & Lead.next_attempt_at.is_not_null()


async def start_attempt(
    db: Database,
    lead: ClaimedLead,
    *,
    node: str,
    call_id: str,
    now: datetime,
    dnc: DncCheck | None,
    limits: ContactLimits | None = None,
    window: Window | None = None,
) -> Attempt | Deferral | None:
    """Count the attempt and insert the in-flight record; None if the lease was lost,
    the lead's :class:`Deferral` if a contact limit forbids the call now (screened
    again here: another campaign may have called the number since the claim).
    ``window``: the schedule's hours the call is started in (the audit row keeps them)."""
    async with write_transaction(db, urgent=True):  # the launch path: before outcome writes
        if limits is not None:
            allowed, deferred = await screen(db, limits, [lead], now)
            if not allowed:
                if await defer_leads(deferred, now=now, leased_to=node):
                    return deferred[0]
                return None
        rows = (
            await Lead.update(_attempt_started(now))
            .where(_leased_to(lead, node))
            .returning(Lead.attempts)
            .run()
        )
        if not rows:
            return None
        number = rows[0]["attempts"]
        record = NewCallRecord(lead, number, call_id, node, created_at=now, dnc=dnc)
        ids = await insert_call_records([record])
        if dnc is None:
            await write_started(list(ids.values()), window)
        else:  # the check and the start in one statement
            started = AuditEntry(
                kind=AuditKind.ATTEMPT_STARTED,
                at=now,
                campaign=lead.campaign_id,
                number=lead.phone,
                lead=lead.id,
                attempt=number,
                call_id=call_id,
                node=node,
                detail=started_detail(window),
            )
            await write_audit(
                [dnc.audit(lead, node=node, attempt=number, call_id=call_id), started]
            )
    return Attempt(ids[call_id], call_id, lead, number, node, created_at=now, dnc=dnc)


_CLAIM_COLUMNS = (Lead.name, Lead.phone, Lead.attempts, Lead.status)


async def claim_and_start_attempts(
    db: Database,
    *,
    campaign_id: int,
    node: str,
    now: datetime,
    limit: int,
    new_call_id: Callable[[], str],
    zones: ZoneKeys = None,
    limits: ContactLimits | None = None,
    window: Window | None = None,
) -> list[Attempt]:
    """Claim up to ``limit`` due leads and start their attempts, in one transaction
    (those ``limits`` forbid now are put off instead, in it too).

    For a campaign with no DNC check there is nothing to do between the claim and
    the start, so one transaction does both: the leads are counted and not due,
    and their in-flight records are committed, before the caller sends anything.
    PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` keeps concurrent nodes apart;
    SQLite: the transaction is ``BEGIN IMMEDIATE`` (one writer). ``window``: the
    schedule's hours the calls are started in (their audit rows keep them).
    """
    if limit <= 0 or (zones is not None and not zones):
        return []
    columns = SCREENED_COLUMNS if limits is not None else _CLAIM_COLUMNS
    async with write_transaction(db, urgent=True):
        due = await select_due(
            db, columns, campaign_id=campaign_id, now=now, limit=limit, zones=zones
        )
        if not due:
            return []
        leads = {r["id"]: ClaimedLead.from_row(r, campaign_id) for r in due}
        if limits is not None:
            allowed, deferred = await screen(db, limits, list(leads.values()), now)
            await defer_leads(deferred, now=now)
            leads = {lead.id: lead for lead in allowed}
            if not leads:
                return []
        rows = (
            await Lead.update({**_attempt_started(now), Lead.lease_owner: node})
            .where(Lead.id.is_in(list(leads)))
            .returning(Lead.id, Lead.attempts)
            .run()
        )
        started = [
            NewCallRecord(leads[r["id"]], r["attempts"], new_call_id(), node, created_at=now)
            for r in rows
        ]
        ids = await insert_call_records(started)
        await write_started(sorted(ids.values()), window)
    attempts = [
        Attempt(ids[s.call_id], s.call_id, s.lead, s.attempt, node, created_at=now) for s in started
    ]
    return sorted(attempts, key=lambda a: (a.lead.due_at, a.lead.id))


async def record_dnc_block(
    db: Database, lead: ClaimedLead, *, node: str, call_id: str, dnc: DncCheck
) -> Finished | None:
    """The number may not be called: record it, close the lead, place no call."""
    params = {"service": dnc.service}
    detail = MESSAGES[DNC_BLOCKED].detail % params
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
            .where(_leased_to(lead, node))
            .returning(Lead.attempts)
            .run()
        )
        if not rows:
            return None
        number = rows[0]["attempts"]
        ids = await insert_call_records(
            [
                NewCallRecord(
                    lead,
                    number,
                    call_id,
                    node,
                    created_at=dnc.checked_at,
                    dnc=dnc,
                    ended_at=dnc.checked_at,
                    disposition="dnc_blocked",
                    status=LeadStatus.DO_NOT_CALL.value,
                    detail=detail,
                    detail_code=DNC_BLOCKED,
                    detail_params=params,
                )
            ]
        )
        await write_audit([dnc.audit(lead, node=node, attempt=number, call_id=call_id)])
    return Finished(
        record_id=ids[call_id],
        lead_id=lead.id,
        old_status=lead.status,
        new_status=LeadStatus.DO_NOT_CALL.value,
        next_attempt_at=None,
        extra={"attempt": number, "detail": detail},
    )


async def release_unchecked(
    db: Database, lead: ClaimedLead, *, node: str, service_id: int, reason: str, at: datetime
) -> None:
    """The DNC service gave no trustworthy answer: the lead is given back, due as before
    and not dialed (fail closed), and the trail says why."""
    async with write_transaction(db):
        released = (
            await Lead.update({Lead.lease_owner: None, Lead.lease_until: None})
            .where((Lead.id == lead.id) & (Lead.lease_owner == node))
            .returning(Lead.id)
            .run()
        )
        if released:
            await write_audit(
                [
                    AuditEntry(
                        kind=AuditKind.DNC_CHECK,
                        at=at,
                        campaign=lead.campaign_id,
                        number=lead.phone,
                        lead=lead.id,
                        node=node,
                        detail={
                            "service_id": service_id,
                            "result": "unavailable",
                            "reason": reason,
                        },
                    )
                ]
            )


async def release_leases(db: Database, leads: Sequence[ClaimedLead], *, node: str) -> None:
    """Leads claimed and not dialed after all (nothing started): their lease is given
    up, due as before."""
    async with write_transaction(db):
        await (
            Lead.update({Lead.lease_owner: None, Lead.lease_until: None})
            .where(Lead.id.is_in([lead.id for lead in leads]) & (Lead.lease_owner == node))
            .run()
        )


async def cancel_attempt(
    db: Database, attempt: Attempt, *, due_at: datetime, at: datetime, reason: str
) -> None:
    """Nothing was sent after all (the platform had no port): undo the attempt, due again."""
    lead = attempt.lead
    async with write_transaction(db):
        deleted = (
            await CallRecord.delete()
            .where((CallRecord.id == attempt.record_id) & CallRecord.status.is_null())
            .returning(CallRecord.id)
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
        if deleted:
            await write_audit(
                [
                    AuditEntry(
                        kind=AuditKind.ATTEMPT_CANCELLED,
                        at=at,
                        campaign=lead.campaign_id,
                        number=lead.phone,
                        lead=lead.id,
                        attempt=attempt.number,
                        call_id=attempt.call_id,
                        node=attempt.node,
                        detail={"reason": reason, "due_at": due_at},
                    )
                ]
            )


__all__ = [
    "DNC_BLOCKED",
    "Attempt",
    "DncCheck",
    "Finished",
    "NewCallRecord",
    "Outcome",
    "cancel_attempt",
    "claim_and_start_attempts",
    "insert_call_records",
    "params_json",
    "record_dnc_block",
    "release_leases",
    "release_unchecked",
    "start_attempt",
]
