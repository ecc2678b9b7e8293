"""Claiming due leads so that no two engine nodes dial the same one.

A lead is *due* when ``next_attempt_at <= now`` and nobody holds a live lease
on it. Claiming stamps a short lease (owner, until) on up to N due leads,
oldest-due first, in one transaction:

- PostgreSQL: ``SELECT … ORDER BY next_attempt_at, id LIMIT N FOR UPDATE SKIP
  LOCKED`` then ``UPDATE … SET lease_owner, lease_until`` — concurrent nodes skip
  each other's rows instead of waiting on them;
- SQLite: the same inside a ``BEGIN IMMEDIATE`` transaction (one writer at a
  time; SQLite is the single-node backend).

A campaign whose compliance policy limits contacts per number (``contact_limits.py``)
screens the leads it selects in the same transaction: a blocked lead is put off, not
leased.

A campaign whose compliance policy closes some of its leads' zones now (local
hours, holidays: ``local_hours.py``) claims from the open zones only, one indexed
read per zone key (``lead_zone_due``), merged oldest-due first: the leads of a
closed zone stay due and untouched.

The lease only has to cover the DNC check: once the attempt starts
(:func:`opendialer.core.engine.records.start_attempt`) ``next_attempt_at`` is
NULL and the lead cannot be claimed whatever its lease says; a crashed node's
in-flight attempts are found through their open call records instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from opendialer.core.domain import LeadStatus
from opendialer.core.engine.contact_limits import ContactLimits, defer_leads, screen
from opendialer.core.engine.transactions import write_transaction
from opendialer.core.storage import Database
from opendialer.core.storage.tables import Lead


@dataclass(frozen=True, slots=True)
class ClaimedLead:
    id: int
    campaign_id: int
    name: str
    phone: str
    attempts: int  # before this attempt
    status: str
    due_at: datetime
    #: Its zone key (None: the campaign's zone); read only when contact limits apply.
    timezone: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any], campaign_id: int) -> ClaimedLead:
        """From a lead row with id, name, phone, attempts, status and next_attempt_at."""
        return cls(
            id=row["id"],
            campaign_id=campaign_id,
            name=row["name"],
            phone=row["phone"],
            attempts=row["attempts"],
            status=row["status"],
            due_at=row["next_attempt_at"],
            timezone=row.get("timezone"),
        )


def due_condition(campaign_id: int, now: datetime):  # type: ignore[no-untyped-def]
    """Leads of the campaign due now: a due time passed and no live lease."""
    return (
        (Lead.campaign == campaign_id)
        & Lead.next_attempt_at.is_not_null()
        & (Lead.next_attempt_at <= now)
        & (Lead.lease_until.is_null() | (Lead.lease_until < now))
    )


#: The columns a claim reads when its leads are screened by contact limits.
SCREENED_COLUMNS = (Lead.name, Lead.phone, Lead.attempts, Lead.status, Lead.timezone)

#: The zone keys a claim may take leads of (None: the campaign's zone); None: any.
ZoneKeys = Sequence[str | None] | None


async def select_due(
    db: Database,
    columns: Sequence[Any],
    *,
    campaign_id: int,
    now: datetime,
    limit: int,
    zones: ZoneKeys = None,
) -> list[dict[str, Any]]:
    """Up to ``limit`` due leads (``columns`` plus id and due time), oldest-due first,
    of the open ``zones`` only; rows locked for update on PostgreSQL (others skipped)."""

    def query(condition: Any) -> Any:
        q = (
            Lead.select(Lead.id, Lead.next_attempt_at, *columns)
            .where(condition)
            .order_by(Lead.next_attempt_at, Lead.id)
            .limit(limit)
        )
        return q.lock_rows("UPDATE", skip_locked=True) if db.is_postgres else q

    due = due_condition(campaign_id, now)
    if zones is None:
        return list(await query(due).run())
    if len(zones) == 1:
        return list(await query(due & _in_zone(zones[0])).run())
    return await _select_due_in_zones(db, columns, campaign_id, now, limit, zones)


def _in_zone(key: str | None) -> Any:
    return Lead.timezone.is_null() if key is None else (Lead.timezone == key)


async def _select_due_in_zones(
    db: Database,
    columns: Sequence[Any],
    campaign_id: int,
    now: datetime,
    limit: int,
    zones: Sequence[str | None],
) -> list[dict[str, Any]]:
    """Several zone keys in one statement: each key's first ``limit`` due leads from
    the ``lead_zone_due`` index (UNION ALL), the oldest ``limit`` of them, locked on
    PostgreSQL (a row another node holds is skipped: the claim may come back short,
    the next round takes more)."""
    names = ["id", "next_attempt_at", *(c._meta.db_column_name for c in columns)]
    due = (
        "campaign = {} AND next_attempt_at IS NOT NULL AND next_attempt_at <= {} "
        "AND (lease_until IS NULL OR lease_until < {})"
    )
    parts: list[str] = []
    args: list[Any] = []
    for key in zones:
        zone_sql = "timezone IS NULL" if key is None else "timezone = {}"
        parts.append(
            f"SELECT * FROM (SELECT id, next_attempt_at FROM lead WHERE {due} AND {zone_sql} "
            "ORDER BY next_attempt_at, id LIMIT {}) AS z"
        )
        args += [campaign_id, now, now, *([] if key is None else [key]), limit]
    chosen = (
        "SELECT id FROM (" + " UNION ALL ".join(parts) + ") AS u "
        "ORDER BY next_attempt_at, id LIMIT {}"
    )
    args.append(limit)
    lock = " FOR UPDATE SKIP LOCKED" if db.is_postgres else ""
    sql = (
        f"SELECT {', '.join(names)} FROM lead WHERE id IN ({chosen}) "
        f"ORDER BY next_attempt_at, id{lock}"
    )
    return list(await Lead.raw(sql, *args).run())


async def claim_due_leads(
    db: Database,
    *,
    campaign_id: int,
    node: str,
    now: datetime,
    limit: int,
    lease_s: float = 120.0,
    zones: ZoneKeys = None,
    limits: ContactLimits | None = None,
) -> list[ClaimedLead]:
    """Lease up to ``limit`` due leads of the campaign to ``node``, oldest-due first
    (those ``limits`` forbid now are put off instead)."""
    if limit <= 0 or (zones is not None and not zones):
        return []
    async with write_transaction(db, urgent=True):
        return await claim_in_transaction(
            db,
            campaign_id=campaign_id,
            node=node,
            now=now,
            limit=limit,
            lease_s=lease_s,
            zones=zones,
            limits=limits,
        )


async def claim_in_transaction(
    db: Database,
    *,
    campaign_id: int,
    node: str,
    now: datetime,
    limit: int,
    lease_s: float,
    zones: ZoneKeys = None,
    limits: ContactLimits | None = None,
) -> list[ClaimedLead]:
    """The claim's two statements, inside the caller's write transaction (and the
    contact limits' screen between them when the campaign has limits)."""
    columns = SCREENED_COLUMNS if limits is not None else ()
    due = await select_due(db, columns, campaign_id=campaign_id, now=now, limit=limit, zones=zones)
    ids = [row["id"] for row in due]
    if limits is not None and ids:
        allowed, deferred = await screen(
            db, limits, [ClaimedLead.from_row(r, campaign_id) for r in due], now
        )
        await defer_leads(deferred, now=now)
        ids = [lead.id for lead in allowed]
    if not ids:
        return []
    rows = (
        await Lead.update(
            {
                Lead.lease_owner: node,
                Lead.lease_until: now + timedelta(seconds=lease_s),
                Lead.deferred_reason: "",
            }
        )
        .where(Lead.id.is_in(ids))
        .returning(Lead.id, Lead.name, Lead.phone, Lead.attempts, Lead.status, Lead.next_attempt_at)
        .run()
    )
    claimed = [ClaimedLead.from_row(r, campaign_id) for r in rows]
    claimed.sort(key=lambda c: (c.due_at, c.id))
    return claimed


async def release_leases(lead_ids: list[int], *, node: str) -> None:
    """Give back leads claimed but not dialed (DNC down, platform full): due as before."""
    if not lead_ids:
        return
    await (
        Lead.update({Lead.lease_owner: None, Lead.lease_until: None})
        .where(Lead.id.is_in(lead_ids) & (Lead.lease_owner == node))
        .run()
    )


async def arm_new_leads(campaign_id: int, now: datetime) -> int:
    """Make never-dialed leads due: NOT_CALLED, 0 attempts and no due time yet.

    The lead import may leave ``next_attempt_at`` empty; such a lead has never
    been touched by an engine (a claim sets a lease, an attempt counts), so it
    is due now. Called when a node first sees a campaign running, and then
    now and again as a safety net (leads change only while a campaign is stopped).
    """
    rows = (
        await Lead.update({Lead.next_attempt_at: now})
        .where(
            (Lead.campaign == campaign_id)
            & (Lead.status == LeadStatus.NOT_CALLED.value)
            & (Lead.attempts == 0)
            & Lead.next_attempt_at.is_null()
            & Lead.lease_owner.is_null()
        )
        .returning(Lead.id)
        .run()
    )
    return len(rows)


__all__ = [
    "SCREENED_COLUMNS",
    "ClaimedLead",
    "arm_new_leads",
    "claim_due_leads",
    "claim_in_transaction",
    "due_condition",
    "release_leases",
    "select_due",
]
