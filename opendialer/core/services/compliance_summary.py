"""A campaign's daily compliance summary (the Summary page): for each of the last days,
in the campaign's time zone, what the audit trail and the call records prove.

Per day:

* calls started, and those started **outside the day's schedule hours** — the hours
  in force when each call was started, which its ``attempt_started`` row keeps
  (``opens``, ``closes``), so that hours changed later in the day do not turn the
  morning's calls into faults; a row without them (written before they were kept) is
  judged by the day's ``schedule`` row as it is now, in the campaign's zone (a day
  with no schedule has no allowed hours) — the figure that must be 0;
* live-answered and abandoned calls and the abandon rate, counted as
  ``abandon_rate.py`` defines them for the calls that ended that day;
* numbers the DNC check blocked, safe-harbour messages played;
* leads deferred, by the rule that deferred them (a policy's ``deferred`` rows:
  local hours, contact limits, …) — the limits applied.

One grouped query per day on the ``audit_event (campaign, at)`` index, one for the
started calls by the hours they were started in (one more per distinct hours: one
unless the hours were changed that day), plus the abandon counts; read when the page
is opened, not polled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from opendialer.core.services import campaigns
from opendialer.core.services.abandon_rate import abandon_counts_between
from opendialer.core.services.common import Actor
from opendialer.core.storage.tables import AuditEvent, Schedule

DEFAULT_DAYS = 7


@dataclass(frozen=True, slots=True)
class ComplianceDay:
    day: date
    started: int
    outside_hours: int
    live_answered: int
    abandoned: int
    dnc_blocked: int
    safe_harbour_played: int
    #: Rule → leads deferred by it that day (the policy's audit rows).
    deferred: dict[str, int] = field(default_factory=dict)

    @property
    def abandon_rate_pct(self) -> float:
        return 100.0 * self.abandoned / self.live_answered if self.live_answered else 0.0


def _sub_key(postgres: bool) -> str:
    """The fact a row is counted by: a deferral's rule, a DNC check's result."""
    if postgres:
        rule, result = "(detail::jsonb ->> 'rule')", "(detail::jsonb ->> 'result')"
    else:
        rule, result = "json_extract(detail, '$.rule')", "json_extract(detail, '$.result')"
    return (
        f"CASE WHEN kind = 'deferred' THEN {rule} WHEN kind = 'dnc_check' THEN {result} ELSE '' END"
    )


def _started_window(detail: str) -> tuple[datetime, datetime] | None:
    """The hours an ``attempt_started`` row says its call was started in (None: an
    older row that does not say)."""
    facts = json.loads(detail or "{}")
    if "opens" not in facts or "closes" not in facts:
        return None
    return datetime.fromisoformat(facts["opens"]), datetime.fromisoformat(facts["closes"])


async def _started(
    campaign_id: int, start: datetime, end: datetime, open_at: datetime, close_at: datetime
) -> tuple[int, int]:
    """(calls started in [start, end), those started outside their hours): each group
    of rows by the hours it kept, the rows that kept none by the day's hours now
    (``open_at``, ``close_at``)."""
    where = "campaign = {} AND kind = 'attempt_started' AND at >= {} AND at < {}"
    groups = await AuditEvent.raw(
        "SELECT detail, COUNT(*) AS n,"
        " SUM(CASE WHEN at < {} OR at >= {} THEN 1 ELSE 0 END) AS outside"
        f" FROM audit_event WHERE {where} GROUP BY detail",
        open_at,
        close_at,
        campaign_id,
        start,
        end,
    ).run()
    started = outside = 0
    for group in groups:
        started += int(group["n"])
        window = _started_window(group["detail"])
        if window is None:
            outside += int(group["outside"] or 0)
            continue
        rows = await AuditEvent.raw(
            f"SELECT COUNT(*) AS n FROM audit_event WHERE {where}"
            " AND detail = {} AND (at < {} OR at >= {})",
            campaign_id,
            start,
            end,
            group["detail"],
            *window,
        ).run()
        outside += int(rows[0]["n"])
    return started, outside


async def _day(
    campaign_id: int, day: date, zone: ZoneInfo, hours: tuple[time, time] | None, postgres: bool
) -> ComplianceDay:
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    if hours is None:  # no schedule that day: no hour is allowed
        open_at = close_at = start
    else:
        open_at = datetime.combine(day, hours[0], tzinfo=zone).astimezone(UTC)
        close_at = datetime.combine(day, hours[1], tzinfo=zone).astimezone(UTC)
    sub = _sub_key(postgres)
    rows = await AuditEvent.raw(
        f"SELECT kind, {sub} AS sub, COUNT(*) AS n"
        " FROM audit_event WHERE campaign = {} AND at >= {} AND at < {}"
        " AND kind IN ('deferred', 'dnc_check', 'safe_harbour_played')"
        f" GROUP BY kind, {sub}",
        campaign_id,
        start,
        end,
    ).run()
    counts: dict[tuple[str, str], int] = {(r["kind"], r["sub"] or ""): int(r["n"]) for r in rows}
    abandon = await abandon_counts_between(campaign_id, start, end)
    started, outside = await _started(campaign_id, start, end, open_at, close_at)
    return ComplianceDay(
        day=day,
        started=started,
        outside_hours=outside,
        live_answered=abandon.live_answered,
        abandoned=abandon.abandoned,
        dnc_blocked=counts.get(("dnc_check", "blocked"), 0),
        safe_harbour_played=counts.get(("safe_harbour_played", ""), 0),
        deferred={sub or "?": n for (kind, sub), n in sorted(counts.items()) if kind == "deferred"},
    )


async def daily_compliance(
    actor: Actor, campaign_id: int, *, days: int = DEFAULT_DAYS, today: date | None = None
) -> list[ComplianceDay]:
    """The last ``days`` days of the campaign (today first), in its time zone, from the
    day it was made on (a new campaign's table has no days of zeros before it existed)."""
    campaign = await campaigns.load(actor, campaign_id)
    zone = ZoneInfo(campaign.get("timezone") or "UTC")
    today = today or datetime.now(zone).date()
    made = campaign.get("created_at")
    if isinstance(made, datetime):
        days = max(1, min(days, (today - made.astimezone(zone).date()).days + 1))
    first = today - timedelta(days=days - 1)
    hours = {
        r["date"]: (r["start_time"], r["end_time"])
        for r in await Schedule.select(Schedule.date, Schedule.start_time, Schedule.end_time)
        .where(
            (Schedule.campaign == campaign_id) & (Schedule.date >= first) & (Schedule.date <= today)
        )
        .run()
    }
    postgres = AuditEvent._meta.db.engine_type == "postgres"
    out = []
    for back in range(days):
        day = today - timedelta(days=back)
        out.append(await _day(campaign_id, day, zone, hours.get(day), postgres))
    return out


__all__ = ["DEFAULT_DAYS", "ComplianceDay", "daily_compliance"]
