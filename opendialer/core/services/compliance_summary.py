"""A campaign's daily compliance summary (the Summary page): for each of the last days,
in the campaign's time zone, what the audit trail and the call records prove.

Per day:

* calls started, and those started **outside the day's schedule hours** (its
  ``schedule`` row for that date, in the campaign's zone; a day with no schedule has
  no allowed hours) — the figure that must be 0;
* live-answered and abandoned calls and the abandon rate, counted as
  ``abandon_rate.py`` defines them for the calls that ended that day;
* numbers the DNC check blocked, safe-harbour messages played;
* leads deferred, by the rule that deferred them (a policy's ``deferred`` rows:
  local hours, contact limits, …) — the limits applied.

One grouped query per day on the ``audit_event (campaign, at)`` index, plus the
abandon counts; read when the page is opened, not polled.
"""

from __future__ import annotations

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
        f"SELECT kind, {sub} AS sub, COUNT(*) AS n,"
        " SUM(CASE WHEN at < {} OR at >= {} THEN 1 ELSE 0 END) AS outside"
        " FROM audit_event WHERE campaign = {} AND at >= {} AND at < {}"
        " AND kind IN ('attempt_started', 'deferred', 'dnc_check', 'safe_harbour_played')"
        f" GROUP BY kind, {sub}",
        open_at,
        close_at,
        campaign_id,
        start,
        end,
    ).run()
    counts: dict[tuple[str, str], tuple[int, int]] = {
        (r["kind"], r["sub"] or ""): (int(r["n"]), int(r["outside"] or 0)) for r in rows
    }
    abandon = await abandon_counts_between(campaign_id, start, end)
    started, outside = counts.get(("attempt_started", ""), (0, 0))
    return ComplianceDay(
        day=day,
        started=started,
        outside_hours=outside,
        live_answered=abandon.live_answered,
        abandoned=abandon.abandoned,
        dnc_blocked=counts.get(("dnc_check", "blocked"), (0, 0))[0],
        safe_harbour_played=counts.get(("safe_harbour_played", ""), (0, 0))[0],
        deferred={
            sub or "?": n for (kind, sub), (n, _) in sorted(counts.items()) if kind == "deferred"
        },
    )


async def daily_compliance(
    actor: Actor, campaign_id: int, *, days: int = DEFAULT_DAYS, today: date | None = None
) -> list[ComplianceDay]:
    """The last ``days`` days of the campaign (today first), in its time zone."""
    campaign = await campaigns.load(actor, campaign_id)
    zone = ZoneInfo(campaign.get("timezone") or "UTC")
    today = today or datetime.now(zone).date()
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
