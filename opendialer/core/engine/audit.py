"""The audit trail's writer: rows of ``audit_event`` inside the caller's transaction.

Every decision that matters for compliance is written in the same transaction as
the state it explains, so the trail never says more or less than the database
holds: the DNC check with the claim's start (or the block), an attempt's start
with its call record, its answer, end and abandon with the outcome's group commit
(``outcome_writer.py``), a policy's deferral with the lead it moves. The table is
append-only (m0014); ``docs/audit.md`` lists the kinds and their ``detail``.

A caller builds :class:`AuditEntry` values (the helpers below say which facts each
kind carries) and passes them to :func:`write_audit` inside its transaction: one
multi-row INSERT, no round trip per row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from opendialer.core.engine.window import Window
from opendialer.core.storage.tables import AuditEvent


class AuditKind(StrEnum):
    DNC_CHECK = "dnc_check"
    ATTEMPT_STARTED = "attempt_started"
    #: Nothing was sent after all (the platform had no free port): the start is undone.
    ATTEMPT_CANCELLED = "attempt_cancelled"
    ATTEMPT_ANSWERED = "attempt_answered"
    ATTEMPT_ENDED = "attempt_ended"
    ABANDONED = "abandoned"
    SAFE_HARBOUR_PLAYED = "safe_harbour_played"
    #: A machine answered and the campaign's voicemail message was left on it.
    MESSAGE_LEFT = "message_left"
    DEFERRED = "deferred"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the trail, as it is inserted."""

    kind: str
    at: datetime
    campaign: int
    number: str = ""
    lead: int | None = None
    attempt: int | None = None
    call_id: str | None = None
    node: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def detail_json(detail: Mapping[str, Any]) -> str:
    """The ``detail`` column: a JSON object, keys sorted (the same facts, the same text)."""
    return json.dumps(dict(detail), default=_jsonable, sort_keys=True, ensure_ascii=False)


_COLUMNS = "at, campaign, campaign_name, lead, attempt, call_id, number, kind, node, detail"
#: The campaign's name is read in the INSERT itself (a primary-key lookup per row):
#: the row keeps it after the campaign is deleted, and no caller has to carry it.
_ROW = (
    "({}, {}, COALESCE((SELECT name FROM campaign WHERE id = {}), ''), {}, {}, {}, {}, {}, {}, {})"
)
#: Rows per INSERT: ten values each, well under SQLite's and PostgreSQL's caps.
_CHUNK = 500


async def write_audit(entries: Sequence[AuditEntry]) -> None:
    """Insert ``entries`` inside the caller's transaction (nothing when there are none)."""
    for start in range(0, len(entries), _CHUNK):
        chunk = entries[start : start + _CHUNK]
        values: list[Any] = []
        for e in chunk:
            values += [
                e.at,
                e.campaign,
                e.campaign,
                e.lead,
                e.attempt,
                e.call_id,
                e.number,
                str(e.kind),
                e.node,
                detail_json(e.detail),
            ]
        await AuditEvent.raw(
            f"INSERT INTO audit_event ({_COLUMNS}) VALUES " + ", ".join([_ROW] * len(chunk)),
            *values,
        ).run()


def started_detail(window: Window | None) -> dict[str, Any]:
    """An ``attempt_started`` row's detail: the schedule window the call was started in
    (``opens``, ``closes``, UTC), so the day's "outside hours" figure judges each call
    by the hours in force when it was placed, not by hours changed since."""
    if window is None:
        return {}
    return {"opens": window.opens, "closes": window.closes}


async def write_started(call_record_ids: Sequence[int], window: Window | None = None) -> None:
    """The ``attempt_started`` rows of call records just inserted in flight (inside the
    same transaction), copied from them by the database: start time, lead, attempt,
    call id, number, node; ``window``: the schedule's hours they were started in. One
    short statement for a whole claim — the launch path waits on it — instead of ten
    values a row."""
    detail = detail_json(started_detail(window))
    for start in range(0, len(call_record_ids), _CHUNK):
        chunk = list(call_record_ids[start : start + _CHUNK])
        await AuditEvent.raw(
            f"INSERT INTO audit_event ({_COLUMNS})"
            " SELECT r.created_at, r.campaign, c.name, r.lead, r.attempt, r.call_id, r.phone,"
            " {}, r.node, {}"
            " FROM call_record r JOIN campaign c ON c.id = r.campaign"
            f" WHERE r.id IN ({', '.join(['{}'] * len(chunk))}) ORDER BY r.id",
            AuditKind.ATTEMPT_STARTED.value,
            detail,  # the same for the whole claim: the rest is in the columns
            *chunk,
        ).run()


def deferred(
    *,
    campaign_id: int,
    lead_id: int,
    number: str,
    rule: str,
    until: datetime | None,
    at: datetime,
    node: str = "",
    **facts: Any,
) -> AuditEntry:
    """A lead a policy did not dial now: which ``rule`` (e.g. ``local_hours``,
    ``contact_limit``) and ``until`` when (None: not again). Other ``facts`` (the lead's
    zone, the limit and its count, …) go into ``detail`` as they are."""
    return AuditEntry(
        kind=AuditKind.DEFERRED,
        at=at,
        campaign=campaign_id,
        number=number,
        lead=lead_id,
        node=node,
        detail={**facts, "rule": rule, "until": until},
    )


__all__ = [
    "AuditEntry",
    "AuditKind",
    "deferred",
    "detail_json",
    "started_detail",
    "write_audit",
    "write_started",
]
