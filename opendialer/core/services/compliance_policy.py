"""A campaign's compliance policy (issue 18): the rules its calls must keep, from a
preset an admin may tighten. docs/compliance.md gives each rule's source.

Stored as the campaign's ``compliance`` JSON (m0013); ``{}`` is the preset ``none``.
A preset fills every value; a value given with it that is *tighter* keeps the
preset's name, one that is *looser* (or a rule left out) turns it into ``custom``,
so the page never claims a regulation the settings do not keep.

Each rule, its field(s), and which way is tighter:

- calls only in the lead's local hours — ``local_hours`` (weekday → ``HH:MM-HH:MM``
  spans): narrower;
- public holidays skipped — ``holiday_calendars``, ``holiday_dates``: more;
- attempts per number over every campaign — ``max_attempts_per_day``,
  ``max_attempts_per_30_days``: lower;
- no call after an abandoned one for ``hours_after_abandon``: longer; unless an agent
  is guaranteed (``abandon_retry_with_agent``): off;
- no call after an AMD hang-up for ``minutes_after_machine``: longer;
- ring at least ``min_ring_seconds`` before giving up: longer;
- caller ID presented — ``caller_id_required``: on;
- share of calls of 6 s or less per caller ID and day — ``short_call_guard_pct``: lower;
- DNC list no older than ``dnc_max_age_days``: fewer;
- abandon rate — ``max_abandon_pct`` (lower), ``abandon_window`` (a shorter window),
  ``max_abandon_timeout_ms`` (lower), ``safe_harbour_required`` (on).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, time
from typing import Any

from opendialer.core.services import holiday_calendars
from opendialer.core.services.errors import FieldErrors, InvalidValue, ValidationFailed
from opendialer.sdk.pacing import ABANDON_WINDOWS

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PRESETS = ("none", "us_tsr", "uk_ofcom", "br_anatel", "fr_2022", "custom")
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

#: A span of a day, wall-clock time in the lead's zone: ``[start, end)``.
Span = tuple[time, time]


@dataclass(frozen=True, slots=True)
class CompliancePolicy:
    preset: str = "none"
    #: Weekday (0 = Monday) → the spans calls may start in, in the lead's local time;
    #: None: no local-hours rule (the campaign's schedule alone decides).
    local_hours: tuple[tuple[Span, ...], ...] | None = None
    holiday_calendars: tuple[str, ...] = ()
    holiday_dates: tuple[date, ...] = ()
    max_attempts_per_day: int | None = None
    max_attempts_per_30_days: int | None = None
    hours_after_abandon: int | None = None
    abandon_retry_with_agent: bool = False
    minutes_after_machine: int | None = None
    min_ring_seconds: int | None = None
    caller_id_required: bool = False
    short_call_guard_pct: float | None = None
    dnc_max_age_days: int | None = None
    max_abandon_pct: float | None = None
    abandon_window: str | None = None
    max_abandon_timeout_ms: int | None = None
    safe_harbour_required: bool = False

    @property
    def has_rules(self) -> bool:
        return self != CompliancePolicy(preset=self.preset)


def _hours(spec: dict[str, list[str]]) -> tuple[tuple[Span, ...], ...]:
    return tuple(tuple(_span(s) for s in spec.get(day, [])) for day in WEEKDAYS)


def _span(text: str) -> Span:
    match = _SPAN.match(text)
    if match is None:
        raise InvalidValue("compliance.local_hours_invalid", value=text)
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h2, m2) <= (h1, m1):
        raise InvalidValue("compliance.local_hours_invalid", value=text)
    return time(h1, m1), time(h2, m2)


_WEEK_8_TO_21 = {day: ["08:00-21:00"] for day in WEEKDAYS}

#: Each preset's values (docs/compliance.md: the rule, its source, the setting).
PRESET_VALUES: dict[str, CompliancePolicy] = {
    "none": CompliancePolicy(),
    "us_tsr": CompliancePolicy(
        preset="us_tsr",
        local_hours=_hours(_WEEK_8_TO_21),
        min_ring_seconds=15,
        caller_id_required=True,
        dnc_max_age_days=31,
        max_abandon_pct=3.0,
        abandon_window="30d",
        max_abandon_timeout_ms=2000,
        safe_harbour_required=True,
    ),
    "uk_ofcom": CompliancePolicy(
        preset="uk_ofcom",
        hours_after_abandon=72,
        min_ring_seconds=15,
        caller_id_required=True,
        max_abandon_pct=3.0,
        abandon_window="24h",
        max_abandon_timeout_ms=2000,
        safe_harbour_required=True,
    ),
    "br_anatel": CompliancePolicy(
        preset="br_anatel",
        # Calling hours are the admin's choice (no federal rule); these are a default.
        local_hours=_hours(
            {**{d: ["09:00-21:00"] for d in WEEKDAYS[:5]}, "sat": ["10:00-16:00"], "sun": []}
        ),
        caller_id_required=True,
        short_call_guard_pct=80.0,
    ),
    "fr_2022": CompliancePolicy(
        preset="fr_2022",
        local_hours=_hours(
            {d: ["10:00-13:00", "14:00-20:00"] for d in WEEKDAYS[:5]} | {"sat": [], "sun": []}
        ),
        holiday_calendars=("FR",),
        max_attempts_per_30_days=4,
    ),
}


# --- tighter or looser -------------------------------------------------------------


def _minutes(spans: tuple[Span, ...]) -> set[int]:
    out: set[int] = set()
    for start, end in spans:
        out.update(range(start.hour * 60 + start.minute, end.hour * 60 + end.minute))
    return out


def _at_most(value: float | None, bound: float | None) -> bool:
    """A maximum (None: no limit) is within ``bound``."""
    return bound is None or (value is not None and value <= bound)


def _at_least(value: float | None, bound: float | None) -> bool:
    return bound is None or (value is not None and value >= bound)


def loosened(policy: CompliancePolicy, preset: CompliancePolicy) -> list[str]:
    """The fields of ``policy`` looser than ``preset``'s (none: it keeps the preset)."""
    out: list[str] = []
    if preset.local_hours is not None and (
        policy.local_hours is None
        or any(
            not _minutes(mine) <= _minutes(theirs)
            for mine, theirs in zip(policy.local_hours, preset.local_hours, strict=True)
        )
    ):
        out.append("local_hours")
    if not set(preset.holiday_calendars) <= set(policy.holiday_calendars):
        out.append("holiday_calendars")
    if not set(preset.holiday_dates) <= set(policy.holiday_dates):
        out.append("holiday_dates")
    for name in (
        "max_attempts_per_day",
        "max_attempts_per_30_days",
        "short_call_guard_pct",
        "dnc_max_age_days",
        "max_abandon_pct",
        "max_abandon_timeout_ms",
    ):
        if not _at_most(getattr(policy, name), getattr(preset, name)):
            out.append(name)
    for name in ("hours_after_abandon", "minutes_after_machine", "min_ring_seconds"):
        if not _at_least(getattr(policy, name), getattr(preset, name)):
            out.append(name)
    for name in ("caller_id_required", "safe_harbour_required"):
        if getattr(preset, name) and not getattr(policy, name):
            out.append(name)
    if preset.abandon_retry_with_agent is False and policy.abandon_retry_with_agent:
        if preset.hours_after_abandon is not None:
            out.append("abandon_retry_with_agent")
    if preset.abandon_window is not None and policy.abandon_window not in (
        preset.abandon_window,
        *_STRICTER_WINDOWS.get(preset.abandon_window, ()),
    ):
        out.append("abandon_window")
    return out


#: A window that counts a rate over less time is stricter (a bad day cannot hide).
_STRICTER_WINDOWS = {"30d": ("24h",), "campaign": ("30d", "24h")}


# --- reading and writing ---------------------------------------------------------------

_INT_BOUNDS = {
    "max_attempts_per_day": (1, 50),
    "max_attempts_per_30_days": (1, 500),
    "hours_after_abandon": (1, 24 * 30),
    "minutes_after_machine": (1, 60 * 24 * 30),
    "min_ring_seconds": (5, 120),
    "dnc_max_age_days": (1, 365),
    "max_abandon_timeout_ms": (500, 10_000),
}
_FLOAT_BOUNDS = {"short_call_guard_pct": (1.0, 100.0), "max_abandon_pct": (0.0, 10.0)}
_BOOLS = ("abandon_retry_with_agent", "caller_id_required", "safe_harbour_required")
FIELD_NAMES = tuple(f.name for f in fields(CompliancePolicy))


def _optional_number(raw: Any, name: str) -> float | int | None:
    if raw is None or raw == "":
        return None
    whole = name in _INT_BOUNDS
    low, high = _INT_BOUNDS[name] if whole else _FLOAT_BOUNDS[name]
    ok = isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw)
    ok = ok and low <= raw <= high and (not whole or float(raw) == int(raw))
    if not ok:
        raise ValidationFailed(
            "compliance.value_out_of_range", field=name, value=raw, low=low, high=high
        )
    return int(raw) if whole else float(raw)


def _bool(raw: Any, name: str) -> bool:
    if not isinstance(raw, bool):
        raise ValidationFailed("compliance.not_a_boolean", field=name, value=raw)
    return raw


def _local_hours(raw: Any) -> tuple[tuple[Span, ...], ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not set(raw) <= set(WEEKDAYS):
        raise ValidationFailed(
            "compliance.local_hours_days", field="local_hours", known=", ".join(WEEKDAYS)
        )
    days: list[tuple[Span, ...]] = []
    for day in WEEKDAYS:
        spans = raw.get(day) or []
        if isinstance(spans, str):
            spans = [s for s in spans.split(",") if s.strip()]
        if not isinstance(spans, list):
            raise ValidationFailed(
                "compliance.local_hours_invalid", field="local_hours", value=spans
            )
        try:
            parsed = sorted(_span(str(s)) for s in spans)
        except InvalidValue as exc:
            raise ValidationFailed.from_value(exc, field="local_hours") from exc
        for (_, end), (start, _) in itertools.pairwise(parsed):
            if start < end:
                raise ValidationFailed(
                    "compliance.local_hours_overlap", field="local_hours", day=day
                )
        days.append(tuple(parsed))
    return tuple(days)


def _calendars(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [c for c in re.split(r"[,\s]+", raw) if c]
    if not isinstance(raw, list):
        raise ValidationFailed(
            "compliance.holiday_calendar_unknown", field="holiday_calendars", value=raw
        )
    out: list[str] = []
    for item in raw:
        try:
            name = holiday_calendars.parse_calendar(item)
        except InvalidValue as exc:
            raise ValidationFailed.from_value(exc, field="holiday_calendars") from exc
        if name not in out:
            out.append(name)
    return tuple(out)


def _dates(raw: Any) -> tuple[date, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [d for d in re.split(r"[,\s]+", raw) if d]
    if not isinstance(raw, list):
        raise ValidationFailed("compliance.holiday_date_invalid", field="holiday_dates", value=raw)
    out: set[date] = set()
    for item in raw:
        try:
            out.add(date.fromisoformat(str(item)))
        except ValueError as exc:
            raise ValidationFailed(
                "compliance.holiday_date_invalid", field="holiday_dates", value=item
            ) from exc
    return tuple(sorted(out))


def _window(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if raw not in ABANDON_WINDOWS:
        raise ValidationFailed(
            "campaign.abandon_window_invalid",
            field="abandon_window",
            value=raw,
            known=", ".join(ABANDON_WINDOWS),
        )
    return str(raw)


@dataclass(slots=True)
class PolicyChange:
    """What a request made of the policy: the new one, and what it loosened."""

    policy: CompliancePolicy
    loosened: list[str] = field(default_factory=list)


def build(data: dict[str, Any]) -> PolicyChange:
    """The policy ``data`` asks for: its preset's values, each given field over them.

    A request naming no preset keeps every value it gives and is ``custom`` (``none``
    when it sets no rule). Every refusal is collected (``FieldErrors``)."""
    if not isinstance(data, dict):
        raise ValidationFailed("compliance.not_an_object", field="compliance")
    problems = FieldErrors()
    unknown = sorted(set(data) - set(FIELD_NAMES))
    if unknown:
        problems.add(
            ValidationFailed(
                "compliance.unknown_field",
                field=unknown[0],
                names=", ".join(unknown),
                known=", ".join(FIELD_NAMES),
            )
        )
    preset_name = data.get("preset")
    if preset_name is not None and preset_name not in PRESETS:
        problems.add(
            ValidationFailed(
                "compliance.preset_unknown",
                field="preset",
                value=preset_name,
                known=", ".join(PRESETS),
            )
        )
        preset_name = None
    base = PRESET_VALUES.get(preset_name or "none", CompliancePolicy())
    values: dict[str, Any] = {}
    check = problems.check
    if "local_hours" in data:
        values["local_hours"] = check(_local_hours, data["local_hours"])
    if "holiday_calendars" in data:
        values["holiday_calendars"] = check(_calendars, data["holiday_calendars"])
    if "holiday_dates" in data:
        values["holiday_dates"] = check(_dates, data["holiday_dates"])
    for name in (*_INT_BOUNDS, *_FLOAT_BOUNDS):
        if name in data:
            values[name] = check(_optional_number, data[name], name)
    for name in _BOOLS:
        if name in data:
            values[name] = check(_bool, data[name], name)
    if "abandon_window" in data:
        values["abandon_window"] = check(_window, data["abandon_window"])
    problems.raise_if_any()
    policy = replace(base, **values)
    if preset_name in PRESET_VALUES and preset_name != "none":
        looser = loosened(policy, base)
        if looser:
            return PolicyChange(replace(policy, preset="custom"), looser)
        return PolicyChange(replace(policy, preset=preset_name))
    policy = replace(policy, preset="none")
    return PolicyChange(replace(policy, preset="custom") if policy.has_rules else policy)


def as_json(policy: CompliancePolicy) -> dict[str, Any]:
    """The policy as the API shows and the campaign stores it."""
    out = asdict(policy)
    if policy.local_hours is None:
        out["local_hours"] = None
    else:
        out["local_hours"] = {
            day: [f"{s:%H:%M}-{e:%H:%M}" for s, e in spans]
            for day, spans in zip(WEEKDAYS, policy.local_hours, strict=True)
        }
    out["holiday_calendars"] = list(policy.holiday_calendars)
    out["holiday_dates"] = [d.isoformat() for d in policy.holiday_dates]
    return out


def from_stored(raw: Any) -> CompliancePolicy:
    """A stored ``compliance`` value (dict or JSON text); unreadable → ``none``."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw or "{}")
        except ValueError:
            return CompliancePolicy()
    if not isinstance(raw, dict) or not raw:
        return CompliancePolicy()
    stored_preset = raw.get("preset")
    try:
        policy = build({k: v for k, v in raw.items() if k != "preset"}).policy
    except ValidationFailed:
        return CompliancePolicy()
    return replace(policy, preset=stored_preset if stored_preset in PRESETS else policy.preset)


__all__ = [
    "FIELD_NAMES",
    "PRESETS",
    "PRESET_VALUES",
    "WEEKDAYS",
    "CompliancePolicy",
    "PolicyChange",
    "as_json",
    "build",
    "from_stored",
    "loosened",
]
