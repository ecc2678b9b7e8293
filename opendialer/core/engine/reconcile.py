"""Crash recovery: close the attempts a dead node left in flight.

A node that dies between :func:`~opendialer.core.engine.records.start_attempt`
and :func:`~opendialer.core.engine.records.finish_attempt` leaves call records
with status NULL. Nobody knows whether the far end answered, so each becomes
UNKNOWN: the attempt stays counted, the lead follows the retry policy like
any unsuccessful attempt (a *new* attempt, never the same one again), and the
leases the node held on leads it had not dialed yet are given back.

Who runs it: a node for its own id when it starts (a restart after kill -9),
and the scheduler's leader for every node whose heartbeat stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from opendialer.core.domain import LeadStatus
from opendialer.core.engine.audit import AuditEntry, AuditKind, write_audit
from opendialer.core.engine.call_events import announce, log_call_outcome
from opendialer.core.engine.records import Finished
from opendialer.core.engine.transactions import write_transaction
from opendialer.core.plugins import PluginManager
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, Lead
from opendialer.sdk.contracts import RetryPolicy

log = logging.getLogger(__name__)
#: The engine's logger: ``node_reconciled`` has always been its line.
engine_log = logging.getLogger("opendialer.engine")


@dataclass(frozen=True, slots=True)
class Reconciled:
    node: str
    closed: list[Finished]
    leases_released: int


async def reconcile_node(
    db: Database,
    node: str,
    *,
    now: datetime,
    retry_policy: Callable[[], RetryPolicy],
    reason: str,
) -> Reconciled:
    """Close every open attempt of ``node`` as UNKNOWN and free its leases."""
    open_rows = (
        await CallRecord.select(
            CallRecord.id,
            CallRecord.lead,
            CallRecord.campaign,
            CallRecord.attempt,
            CallRecord.call_id,
            CallRecord.phone,
            CallRecord.created_at,
            CallRecord.lead.status.as_alias("lead_status"),
            CallRecord.lead.attempts.as_alias("lead_attempts"),
            CallRecord.campaign.max_attempts.as_alias("max_attempts"),
            CallRecord.campaign.retry_after_minutes.as_alias("retry_after"),
        )
        .where((CallRecord.node == node) & CallRecord.status.is_null())
        .run()
    )
    policy = retry_policy() if open_rows else None
    closed: list[Finished] = []
    for row in open_rows:
        status = LeadStatus.UNKNOWN
        assert policy is not None
        next_at = policy.next_attempt_at(
            status=status,
            attempts=row["lead_attempts"],
            max_attempts=row["max_attempts"],
            ended_at=now,
            retry_after_minutes=row["retry_after"],
        )
        async with write_transaction(db):
            done = (
                await CallRecord.update(
                    {
                        CallRecord.status: status.value,
                        CallRecord.ended_at: now,
                        CallRecord.disposition: "unknown",
                        CallRecord.detail: reason,
                    }
                )
                .where((CallRecord.id == row["id"]) & CallRecord.status.is_null())
                .returning(CallRecord.id)
                .run()
            )
            if not done:
                continue
            await (
                Lead.update(
                    {
                        Lead.status: status.value,
                        Lead.next_attempt_at: next_at,
                        Lead.lease_owner: None,
                        Lead.lease_until: None,
                        Lead.updated_at: now,
                    }
                )
                .where(Lead.id == row["lead"])
                .run()
            )
            await write_audit(
                [
                    AuditEntry(
                        kind=AuditKind.ATTEMPT_ENDED,
                        at=now,
                        campaign=row["campaign"],
                        number=row["phone"],
                        lead=row["lead"],
                        attempt=row["attempt"],
                        call_id=row["call_id"],
                        node=node,
                        detail={
                            "started_at": row["created_at"],
                            "disposition": "unknown",
                            "status": status.value,
                            "reconciled": reason,
                            "next_attempt_at": next_at,
                        },
                    )
                ]
            )
        closed.append(
            Finished(
                record_id=row["id"],
                lead_id=row["lead"],
                old_status=row["lead_status"],
                new_status=status.value,
                next_attempt_at=next_at,
            )
        )
        log.warning(
            "call_reconciled node=%s campaign=%s lead=%s attempt=%s status=UNKNOWN "
            "next_attempt_at=%s",
            node,
            row["campaign"],
            row["lead"],
            row["attempt"],
            next_at.isoformat() if next_at else "-",
        )
    released = (
        await Lead.update({Lead.lease_owner: None, Lead.lease_until: None})
        .where((Lead.lease_owner == node) & Lead.next_attempt_at.is_not_null())
        .returning(Lead.id)
        .run()
    )
    return Reconciled(node=node, closed=closed, leases_released=len(released))


async def report_reconciled(pm: PluginManager, result: Reconciled) -> None:
    """The hooks and ``call_outcome`` lines of the attempts closed, and one warning."""
    for finished in result.closed:
        await announce(pm, finished)
    if result.closed:  # their call_outcome lines, like every other attempt's
        due = {f.record_id: f.next_attempt_at for f in result.closed}
        ids = list(due)
        for start in range(0, len(ids), 500):  # bounded IN lists (SQLite's variable cap)
            chunk = ids[start : start + 500]
            for row in await CallRecord.select().where(CallRecord.id.is_in(chunk)).run():
                log_call_outcome(row, next_attempt_at=due[row["id"]])
    if result.closed or result.leases_released:
        engine_log.warning(
            "node_reconciled node=%s unknown_calls=%d leases_released=%d",
            result.node,
            len(result.closed),
            result.leases_released,
        )


__all__ = ["Reconciled", "reconcile_node", "report_reconciled"]
