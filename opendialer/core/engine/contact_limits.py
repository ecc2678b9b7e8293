"""Contact limits per number, over every campaign and every engine node (issue 18 §2).

A campaign's compliance policy may limit how often one *number* is called, whichever
campaign calls it:

- ``max_attempts_per_day`` — attempts in the lead's local calendar day (the first
  zone of its zone key, else the campaign's zone);
- ``max_attempts_per_30_days`` — attempts in the last 30 days (rolling);
- ``hours_after_abandon`` — no call within H hours of an ABANDONED one, unless
  ``abandon_retry_with_agent`` and the campaign is progressive (an agent is held
  for every call it places, so it cannot abandon);
- ``minutes_after_machine`` — no call within M minutes of an AMD hang-up.

An attempt is a call record (``call_record.phone = lead.phone``, a DNC block is
none): in-flight attempts of every node are call records too, so they count.

**Where.** Between a lead's claim and the start of its attempt, inside the write
transaction that starts it — :func:`screen` reads the batch's numbers' recent calls
with one query (``phone IN (…)``, served by ``call_record_phone_time``); a blocked
lead is put off by :func:`defer_leads` to the first instant its limit allows. A
campaign with a DNC service is screened twice: when claimed (a blocked number is not
sent to the DNC service) and again in the transaction that starts its attempt
(another campaign may have called the number while the DNC answered).

**Across nodes.** On PostgreSQL the transaction first takes an advisory lock per
number (``pg_advisory_xact_lock(LOCK_SPACE, hashtext(phone))``, in hash order so two
claims never deadlock): two nodes claiming the same number in two campaigns at the
same instant count one after the other, and the second sees the first's call record.
SQLite has one writer at a time (``BEGIN IMMEDIATE``): nothing to lock.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from opendialer.core.domain import LeadStatus
from opendialer.core.engine.audit import AuditEntry, deferred, write_audit
from opendialer.core.engine.window import TimeZoneError, zone
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, Lead
from opendialer.sdk.pacing import PROGRESSIVE

if TYPE_CHECKING:
    from opendialer.core.engine.campaign_view import CampaignView

log = logging.getLogger("opendialer.engine.calls")

#: The deferral codes (``lead.deferred_reason``'s ``code``; docs/compliance.md).
PER_DAY = "contact_limit_day"
PER_30_DAYS = "contact_limit_30d"
AFTER_ABANDON = "after_abandon"
AFTER_MACHINE = "after_machine"
CODES = (PER_DAY, PER_30_DAYS, AFTER_ABANDON, AFTER_MACHINE)

THIRTY_DAYS = timedelta(days=30)
#: The first key of the two-key advisory locks taken per number (PostgreSQL): the
#: second is ``hashtext(phone)``. Two-key locks never meet the engine's one-key ones.
LOCK_SPACE = 0x0D1A


class ScreenedLead(Protocol):
    """What the screen reads of a claimed lead (``claims.ClaimedLead``)."""

    @property
    def id(self) -> int: ...
    @property
    def campaign_id(self) -> int: ...
    @property
    def phone(self) -> str: ...
    @property
    def timezone(self) -> str | None: ...


L = TypeVar("L", bound=ScreenedLead)


@dataclass(frozen=True, slots=True)
class ContactLimits:
    """A campaign's contact limits, from its compliance policy."""

    per_day: int | None = None
    per_30_days: int | None = None
    after_abandon: timedelta | None = None
    after_machine: timedelta | None = None
    #: The zone of a lead without one (its local day).
    campaign_zone: str = "UTC"

    @classmethod
    def of(cls, campaign: CampaignView) -> ContactLimits | None:
        """The campaign's limits; None when its policy sets none."""
        policy = campaign.compliance
        abandon = policy.hours_after_abandon
        if abandon is not None and policy.abandon_retry_with_agent:
            if campaign.pacing.mode == PROGRESSIVE:
                abandon = None  # an agent is held for each call: it cannot abandon
        machine = policy.minutes_after_machine
        limits = cls(
            per_day=policy.max_attempts_per_day,
            per_30_days=policy.max_attempts_per_30_days,
            after_abandon=timedelta(hours=abandon) if abandon else None,
            after_machine=timedelta(minutes=machine) if machine else None,
            campaign_zone=campaign.timezone,
        )
        return limits if limits.lookback else None

    @property
    def lookback(self) -> timedelta:
        """How far back a number's calls matter (zero: no limit)."""
        spans = [timedelta(0)]
        if self.per_day:
            spans.append(timedelta(days=2))  # today in any zone began less than 2 days ago
        if self.per_30_days:
            spans.append(THIRTY_DAYS)
        spans += [s for s in (self.after_abandon, self.after_machine) if s is not None]
        return max(spans)


@dataclass(frozen=True, slots=True)
class PastCall:
    """One of a number's recent attempts (any campaign)."""

    created_at: datetime
    ended_at: datetime | None = None
    #: The lead status it ended with; None: still in flight.
    status: str | None = None

    @property
    def last_instant(self) -> datetime:
        return self.ended_at or self.created_at


@dataclass(frozen=True, slots=True)
class Deferral:
    """A lead a limit puts off: until when, and why (``lead.deferred_reason``)."""

    lead_id: int
    campaign_id: int
    code: str
    until: datetime
    values: Mapping[str, Any] = field(default_factory=dict)

    def reason_json(self) -> str:
        body = {"code": self.code, "until": self.until.astimezone(UTC).isoformat()}
        return json.dumps({**body, **self.values}, sort_keys=True)


def _lead_zone(lead: ScreenedLead, limits: ContactLimits) -> str:
    """The zone of the lead's local day: its key's first zone, else the campaign's."""
    for name in ((lead.timezone or "").split()[:1] or [limits.campaign_zone]) + ["UTC"]:
        try:
            zone(name)
        except TimeZoneError:
            continue
        return name
    return "UTC"


def deferral_for(
    limits: ContactLimits, lead: ScreenedLead, calls: Sequence[PastCall], now: datetime
) -> Deferral | None:
    """Whether a limit forbids calling ``lead`` now, given its number's recent calls:
    None, or until when (the latest of the limits it breaks, so all allow it then)."""
    blocks: list[tuple[datetime, str, dict[str, Any]]] = []
    if limits.per_day:
        name = _lead_zone(lead, limits)
        tz = zone(name)
        today = now.astimezone(tz).date()
        starts = datetime.combine(today, time(0), tzinfo=tz).astimezone(UTC)
        count = sum(1 for c in calls if c.created_at >= starts)
        if count >= limits.per_day:
            tomorrow = datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)
            values = {"count": count, "limit": limits.per_day, "timezone": name}
            blocks.append((tomorrow.astimezone(UTC), PER_DAY, values))
    if limits.per_30_days:
        times = sorted(c.created_at for c in calls if c.created_at > now - THIRTY_DAYS)
        if len(times) >= limits.per_30_days:
            # Allowed again once enough of them are 30 days old.
            until = times[len(times) - limits.per_30_days] + THIRTY_DAYS
            values = {"count": len(times), "limit": limits.per_30_days}
            blocks.append((until, PER_30_DAYS, values))
    for code, gap, status in (
        (AFTER_ABANDON, limits.after_abandon, LeadStatus.ABANDONED.value),
        (AFTER_MACHINE, limits.after_machine, LeadStatus.AMD.value),
    ):
        if gap is None:
            continue
        last = max((c.last_instant for c in calls if c.status == status), default=None)
        if last is not None and last + gap > now:
            values = {"last_call": last.astimezone(UTC).isoformat(), "gap_minutes": gap // _MINUTE}
            blocks.append((last + gap, code, values))
    if not blocks:
        return None
    until, code, values = max(blocks, key=lambda b: b[0])
    return Deferral(lead.id, lead.campaign_id, code, until.astimezone(UTC), values)


_MINUTE = timedelta(minutes=1)


async def lock_numbers(db: Database, phones: Sequence[str]) -> None:
    """PostgreSQL: hold each number's advisory lock to the end of the transaction."""
    if not db.is_postgres or not phones:
        return
    await CallRecord.raw(
        "SELECT pg_advisory_xact_lock({}, h) FROM"
        " (SELECT DISTINCT hashtext(p) AS h FROM unnest({}::text[]) AS p) AS numbers"
        " ORDER BY h",
        LOCK_SPACE,
        sorted(set(phones)),
    ).run()


async def recent_calls(phones: Sequence[str], since: datetime) -> dict[str, list[PastCall]]:
    """The numbers' attempts since ``since``, every campaign's (one indexed query)."""
    rows = (
        await CallRecord.select(
            CallRecord.phone, CallRecord.created_at, CallRecord.ended_at, CallRecord.status
        )
        .where(
            CallRecord.phone.is_in(sorted(set(phones)))
            & (CallRecord.created_at > since)
            & (
                CallRecord.status.is_null()
                | (CallRecord.status != LeadStatus.DO_NOT_CALL.value)  # blocked: no call
            )
        )
        .run()
    )
    found: dict[str, list[PastCall]] = {}
    for row in rows:
        found.setdefault(row["phone"], []).append(
            PastCall(row["created_at"], row["ended_at"], row["status"])
        )
    return found


async def screen(
    db: Database, limits: ContactLimits, leads: Sequence[L], now: datetime
) -> tuple[list[L], list[Deferral]]:
    """Inside the caller's write transaction: the leads that may be called now (in
    order) and the deferrals of the others. Each lead allowed counts as an attempt of
    its number for the leads after it (two leads of one number in one batch)."""
    if not leads:
        return [], []
    phones = [lead.phone for lead in leads]
    await lock_numbers(db, phones)
    history = await recent_calls(phones, now - limits.lookback)
    allowed: list[L] = []
    deferred: list[Deferral] = []
    for lead in leads:
        calls = history.setdefault(lead.phone, [])
        deferral = deferral_for(limits, lead, calls, now)
        if deferral is None:
            allowed.append(lead)
            calls.append(PastCall(now))
        else:
            deferred.append(deferral)
    return allowed, deferred


async def defer_leads(
    deferrals: Sequence[Deferral], *, now: datetime, leased_to: str | None = None
) -> list[int]:
    """Put each lead off until its limit allows: due again at ``until``, its lease
    released, its attempts and status untouched, the reason in ``deferred_reason``.
    Inside the caller's write transaction. ``leased_to``: only if that node still
    holds the lead. Every deferral of the engine goes through here: one log line and
    one ``deferred`` row of the compliance audit trail each, in that transaction.
    The ids deferred."""
    done: list[int] = []
    entries: list[AuditEntry] = []
    for deferral in deferrals:
        condition = (Lead.id == deferral.lead_id) & Lead.next_attempt_at.is_not_null()
        if leased_to is not None:
            condition &= Lead.lease_owner == leased_to
        rows = (
            await Lead.update(
                {
                    Lead.next_attempt_at: deferral.until,
                    Lead.lease_owner: None,
                    Lead.lease_until: None,
                    Lead.deferred_reason: deferral.reason_json(),
                    Lead.updated_at: now,
                }
            )
            .where(condition)
            .returning(Lead.id, Lead.phone)
            .run()
        )
        if not rows:
            continue
        done.append(deferral.lead_id)
        entries.append(
            deferred(
                campaign_id=deferral.campaign_id,
                lead_id=deferral.lead_id,
                number=rows[0]["phone"],
                rule=deferral.code,
                until=deferral.until,
                at=now,
                node=leased_to or "",
                **deferral.values,
            )
        )
        log.info(
            "lead_deferred campaign=%s lead=%s code=%s until=%s %s",
            deferral.campaign_id,
            deferral.lead_id,
            deferral.code,
            deferral.until.astimezone(UTC).isoformat(),
            " ".join(f"{k}={v}" for k, v in sorted(deferral.values.items())),
        )
    await write_audit(entries)
    return done


__all__ = [
    "AFTER_ABANDON",
    "AFTER_MACHINE",
    "CODES",
    "LOCK_SPACE",
    "PER_30_DAYS",
    "PER_DAY",
    "ContactLimits",
    "Deferral",
    "PastCall",
    "ScreenedLead",
    "defer_leads",
    "deferral_for",
    "lock_numbers",
    "recent_calls",
    "screen",
]
