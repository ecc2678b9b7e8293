"""When a schedule entry's dialing window is open, in the campaign's IANA time zone.

A window is ``[first instant the wall clock shows date+start, first instant it
shows date+end)``. That one rule settles the daylight-saving edges:

- spring forward (02:00 → 03:00): a start or end inside the missing hour
  happens at the jump (03:00 new time), not an hour late or early;
- fall back (02:00 → 01:00): a time inside the repeated hour happens at its
  first occurrence, so a window never closes and then re-opens.

An end at or before the start is an empty window (no overnight windows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class TimeZoneError(ValueError):
    pass


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeZoneError(
            f"unknown IANA time zone {name!r}: use a name like 'America/Sao_Paulo' or 'UTC'"
        ) from exc


def first_instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The first UTC instant at which the wall clock in ``tz`` shows ``day`` ``wall`` or later."""
    naive = datetime.combine(day, wall)
    early = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if early.astimezone(tz).replace(tzinfo=None) == naive:
        return early  # the time exists; fold=0 is its first occurrence
    # Inside a spring-forward gap: search the instant the clock jumps past it.
    low = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = early
    if low > high:
        low, high = high, low
    while (high - low) > timedelta(seconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= naive:
            high = mid
        else:
            low = mid
    return high.replace(microsecond=0) if high.microsecond else high


@dataclass(frozen=True, slots=True)
class Window:
    opens: datetime  # UTC
    closes: datetime  # UTC

    def contains(self, instant: datetime) -> bool:
        return self.opens <= instant < self.closes

    @property
    def empty(self) -> bool:
        return self.closes <= self.opens


def window_for(day: date, start: time, end: time, tz_name: str) -> Window:
    tz = zone(tz_name)
    opens = first_instant(day, start, tz)
    if end <= start:
        return Window(opens, opens)
    return Window(opens, first_instant(day, end, tz))


def local_date(instant: datetime, tz_name: str) -> date:
    return instant.astimezone(zone(tz_name)).date()


__all__ = ["TimeZoneError", "Window", "first_instant", "local_date", "window_for", "zone"]
