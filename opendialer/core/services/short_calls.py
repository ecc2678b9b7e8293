"""The share of short calls per caller ID and day (issue 18: Brazil's short-call guard).

Anatel blocks the traffic of a caller whose calls are mostly very short (over 85 % of
6 s or less, over 100,000 calls a day — *as our issue states it; check the current
act*). This counts, per caller ID presented and **UTC day**, the calls ended today and
those of them that lasted at most :data:`SHORT_CALL_S` seconds from the attempt's start
to its end (``ended_at − created_at``: ringing included, answered or not). A number
the DNC check blocked was no call; a call in flight is not counted until it ends.

A call's caller ID is its campaign's ``caller_id`` now ('' for a campaign without one:
they all present the platform's default). Counted in the database over every node
(index ``call_record (campaign, created_at)``), read by the engine's guard every 30 s
(``core/engine/short_call_guard.py``), the metrics' database view and the campaign
Summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from opendialer.core.domain import LeadStatus
from opendialer.core.storage.tables import CallRecord

#: A call this long or shorter is short (seconds).
SHORT_CALL_S = 6
#: The guard holds a campaign only once its caller ID made this many calls today: a
#: share of a handful of calls says nothing.
MIN_CALLS = 100


@dataclass(frozen=True, slots=True)
class ShortCallShare:
    """Calls ended today under one caller ID, and how many were short."""

    caller_id: str
    calls: int = 0
    short: int = 0

    @property
    def share_pct(self) -> float:
        return 100.0 * self.short / self.calls if self.calls else 0.0

    def over(self, threshold_pct: float | None) -> bool:
        """At or above ``threshold_pct`` with enough calls to judge."""
        return (
            threshold_pct is not None
            and self.calls >= MIN_CALLS
            and self.share_pct >= threshold_pct
        )


def day_start(now: datetime) -> datetime:
    """The start of ``now``'s UTC day."""
    return datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)


def _duration_s(postgres: bool) -> str:
    if postgres:
        return "EXTRACT(EPOCH FROM (r.ended_at - r.created_at))"
    # julianday is a float of days: rounded to the millisecond, 6 s is 6 s.
    return "ROUND((julianday(r.ended_at) - julianday(r.created_at)) * 86400.0, 3)"


async def shares_today(now: datetime, caller_ids: list[str] | None = None) -> list[ShortCallShare]:
    """Each caller ID's calls ended today (UTC) and its short ones; ``caller_ids``: only
    those (each one present, with 0 calls when it made none)."""
    duration = _duration_s(isinstance(CallRecord._meta.db, PostgresEngine))
    caller = "COALESCE(c.caller_id, '')"
    sql = (
        f"SELECT {caller} AS caller_id, COUNT(*) AS calls,"
        f" SUM(CASE WHEN {duration} <= {SHORT_CALL_S} THEN 1 ELSE 0 END) AS short"
        " FROM campaign c JOIN call_record r ON r.campaign = c.id"
        " WHERE r.created_at >= {} AND r.ended_at IS NOT NULL AND r.status <> {}"
    )
    args: list[Any] = [day_start(now), LeadStatus.DO_NOT_CALL.value]
    if caller_ids is not None:
        if not caller_ids:
            return []
        sql += f" AND {caller} IN ({', '.join(['{}'] * len(caller_ids))})"
        args += caller_ids
    sql += f" GROUP BY {caller}"
    rows = await CallRecord.raw(sql, *args).run()
    found = {
        str(r["caller_id"]): ShortCallShare(str(r["caller_id"]), int(r["calls"]), int(r["short"]))
        for r in rows
    }
    wanted = caller_ids if caller_ids is not None else sorted(found)
    return [found.get(c, ShortCallShare(c)) for c in wanted]


async def share_of(caller_id: str, now: datetime) -> ShortCallShare:
    [share] = await shares_today(now, [caller_id])
    return share


def summary_json(
    share: ShortCallShare, threshold_pct: float | None, now: datetime
) -> dict[str, Any]:
    """``short_calls`` of the campaign summary: the share today (%), the calls counted,
    and the policy's threshold (None: no guard)."""
    return {
        "caller_id": share.caller_id,
        "share": round(share.share_pct, 2),
        "calls": share.calls,
        "short": share.short,
        "threshold": threshold_pct,
        "min_calls": MIN_CALLS,
        "day": day_start(now).date().isoformat(),
    }


__all__ = [
    "MIN_CALLS",
    "SHORT_CALL_S",
    "ShortCallShare",
    "day_start",
    "share_of",
    "shares_today",
    "summary_json",
]
