"""Which of a campaign's leads may be called now, in their own local time (issue 18).

A lead's zone key (``lead.timezone``: one IANA zone, several space-separated, or
NULL for the campaign's) is callable at an instant when, in *every* zone of the key,
the local weekday's spans of the policy's ``local_hours`` hold the local time and
the local date is no holiday of the policy. The claim then reads only the callable
keys' leads (``claims.py``), in SQL: a lead of a closed zone stays due, untouched,
and is claimed when its zone opens.

The keys a campaign's leads use are read with a loose index scan of
``lead_zone_due`` (one index seek per distinct key, whatever the number of leads)
and read again every minute; leads change only while a campaign is stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from opendialer.core.engine.window import TimeZoneError, window_for, zone
from opendialer.core.services.compliance_policy import CompliancePolicy
from opendialer.core.services.holiday_calendars import is_holiday
from opendialer.core.storage.tables import Lead

#: How often the campaign's zone keys are read again.
KEYS_TTL_S = 60.0


def zone_open(policy: CompliancePolicy, zone_name: str, now: datetime) -> bool:
    """``now`` is inside the policy's hours in ``zone_name`` and no holiday there."""
    try:
        local = now.astimezone(zone(zone_name))
    except TimeZoneError:
        return False  # a zone this machine does not know: never a guess
    day = local.date()
    if policy.holiday_calendars or policy.holiday_dates:
        if is_holiday(day, policy.holiday_calendars, policy.holiday_dates):
            return False
    if policy.local_hours is None:
        return True
    for start, end in policy.local_hours[local.weekday()]:
        if window_for(day, start, end, zone_name).contains(now):
            return True
    return False


def key_open(policy: CompliancePolicy, key: str | None, campaign_zone: str, now: datetime) -> bool:
    """Every zone of the lead's key is open (the intersection of their hours)."""
    zones = key.split() if key else [campaign_zone]
    return all(zone_open(policy, z, now) for z in zones)


def policy_limits_zones(policy: CompliancePolicy) -> bool:
    """Whether the policy ever closes a zone (local hours or holidays)."""
    return policy.local_hours is not None or bool(policy.holiday_calendars or policy.holiday_dates)


def next_opening(
    policy: CompliancePolicy, keys: Sequence[str | None], campaign_zone: str, now: datetime
) -> datetime | None:
    """The first minute within 8 days at which one of ``keys`` opens (for the held
    campaign's message), or None."""

    def opens_at(instant: datetime) -> bool:
        return any(key_open(policy, k, campaign_zone, instant) for k in keys)

    step = timedelta(minutes=15)
    probe = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(8 * 24 * 4):
        if opens_at(probe):
            # the first open minute of the last quarter of an hour
            minute = max(now.replace(second=0, microsecond=0), probe - step)
            while not opens_at(minute):
                minute += timedelta(minutes=1)
            return minute
        probe += step
    return None


async def zone_keys(campaign_id: int) -> list[str | None]:
    """The distinct zone keys of the campaign's leads (None: the campaign's zone)."""
    rows = await Lead.raw(
        "WITH RECURSIVE z(tz) AS ("
        " SELECT min(timezone) FROM lead WHERE campaign = {}"
        " UNION ALL"
        " SELECT (SELECT min(timezone) FROM lead WHERE campaign = {} AND timezone > z.tz)"
        " FROM z WHERE z.tz IS NOT NULL"
        ") SELECT tz FROM z WHERE tz IS NOT NULL",
        campaign_id,
        campaign_id,
    ).run()
    found: list[str | None] = [r["tz"] for r in rows]
    has_null = await Lead.exists().where((Lead.campaign == campaign_id) & Lead.timezone.is_null())
    if has_null:
        found.append(None)
    return found


@dataclass(slots=True)
class CampaignZones:
    """A runner's view of its campaign's zone keys, read again every minute."""

    keys: list[str | None] = field(default_factory=list)
    read_at: float = float("-inf")
    #: While every key is closed: the policy and keys it was worked out for, the next
    #: opening, and its "HH:MM Zone" text — the pacer asks 5 times a second, the
    #: 15-minute search of next_opening runs once per closing, not on every round.
    closed: tuple[CompliancePolicy, tuple[str | None, ...], datetime | None, str] | None = None

    def stale(self, monotonic_now: float) -> bool:
        return monotonic_now - self.read_at >= KEYS_TTL_S

    def next_opening_text(self, policy: CompliancePolicy, campaign_zone: str, now: datetime) -> str:
        """When the first of the keys opens, as ``2026-03-02 09:00 America/Sao_Paulo``
        ("" when none does within 8 days); worked out again only once that time has
        come or the policy or keys changed."""
        keys = tuple(self.keys)
        cached = self.closed
        if cached is not None and cached[0] == policy and cached[1] == keys:
            if cached[2] is not None and now < cached[2]:
                return cached[3]
        opens = next_opening(policy, keys, campaign_zone, now)
        text = ""
        if opens is not None:
            first = next(
                (k or campaign_zone for k in keys if key_open(policy, k, campaign_zone, opens)),
                campaign_zone,
            ).split()[0]
            text = f"{opens.astimezone(zone(first)):%Y-%m-%d %H:%M} {first}"
        self.closed = (policy, keys, opens, text)
        return text


def open_keys(
    policy: CompliancePolicy, keys: Sequence[str | None], campaign_zone: str, now: datetime
) -> list[str | None] | None:
    """The keys callable now; None when all are (no filter needed)."""
    callable_now = [k for k in keys if key_open(policy, k, campaign_zone, now)]
    return None if len(callable_now) == len(keys) else callable_now


__all__ = [
    "KEYS_TTL_S",
    "CampaignZones",
    "key_open",
    "next_opening",
    "open_keys",
    "policy_limits_zones",
    "zone_keys",
    "zone_open",
]
