"""Campaign settings as the API speaks them ↔ the ``campaign`` row, validated once.

Every check names the field and says what is accepted, so the API's 422 and the
CLI's message tell a person what to fix.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, time, timedelta
from typing import Any

from opendialer.core.domain import WEEKDAYS, CampaignType
from opendialer.core.services import campaign_pacing, compliance_policy
from opendialer.core.services.campaign_regions import parse_region, region_for_zone
from opendialer.core.services.common import require_bool, require_str
from opendialer.core.services.errors import FieldErrors, InvalidValue, ValidationFailed
from opendialer.core.services.phones import dial_string

MAX_ATTEMPTS = (1, 100, 5)
RETRY_AFTER_MINUTES = (1, 1440, 60)
NO_ANSWER_TIMEOUT_S = (5, 300, 30)
#: Longest date range: a schedule row per day is generated, so keep it sane.
MAX_RANGE_DAYS = 3660

#: Fields a client may send; ``state`` and ``state_reason`` are read-only.
WRITABLE = {
    "name",
    "description",
    "group_id",
    "start_date",
    "end_date",
    "start_time",
    "end_time",
    "timezone",
    "weekdays",
    "pilot_number",
    "max_attempts",
    "retry_after_minutes",
    "type",
    "queue",
    "amd_enabled",
    "dnc_service_id",
    "amd_params",
    "default_region",
    "caller_id",
    "no_answer_timeout_s",
    "routing_target",
    *campaign_pacing.FIELDS,
}
#: ``safe_harbour_message`` is uploaded apart (``core/services/campaign_messages.py``).
READ_ONLY = {
    "id",
    "state",
    "state_reason",
    "created_at",
    "updated_at",
    "safe_harbour_message",
    "voicemail_message",
    "compliance_preset",  # set through /campaigns/{id}/compliance
}
#: A change of these columns regenerates the future schedules.
SCHEDULE_SHAPING_COLUMNS = ("start_date", "end_date", "weekdays", "timezone")


#: Read once at import (it lists the tzdata files), never on the event loop.
#: IANA names that are no place: "Factory" (a placeholder zone) and the system's aliases.
NOT_PLACES = frozenset({"Factory", "localtime", "posixrules", "posix", "right"})
ZONES = frozenset(zoneinfo.available_timezones()) - NOT_PLACES


def campaign_json(row: dict[str, Any]) -> dict[str, Any]:
    """The API's view of a campaign row (dates and times stay objects until jsonable)."""
    amd_params = row.get("amd_params") or {}
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "group_id": row["group"],
        "start_date": row["start_date"],
        "end_date": row["end_date"],
        "start_time": row["start_time"],
        "end_time": row["end_time"],
        "timezone": row["timezone"],
        "weekdays": [d for d in row["weekdays"].split(",") if d],
        "pilot_number": row["pilot_number"],
        "max_attempts": row["max_attempts"],
        "retry_after_minutes": row["retry_after_minutes"],
        "type": row["type"],
        "queue": row["queue"],
        "amd_enabled": bool(row["amd_enabled"]),
        "dnc_service_id": row["dnc_service"],
        "amd_params": amd_params,
        "default_region": row["default_region"],
        "caller_id": row["caller_id"],
        "no_answer_timeout_s": row["no_answer_timeout_s"],
        "routing_target": row.get("routing_target"),
        **campaign_pacing.settings_json(row),
        "compliance_preset": compliance_policy.from_stored(row.get("compliance")).preset,
        "state": row["state"],
        "state_reason": row["state_reason"],
    }


#: Fields whose range error the pages word in their own terms.
_RANGE_CODES = {
    "max_attempts": "campaign.max_attempts_range",
    "retry_after_minutes": "campaign.retry_after_range",
}


def require_int(data: dict[str, Any], name: str, bounds: tuple[int, int, int]) -> int:
    low, high, default = bounds
    raw = data.get(name, default)
    if raw is None:
        raw = default
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise ValidationFailed(
            _RANGE_CODES.get(name, "field.whole_number_range"),
            field=name,
            name=name,
            low=low,
            high=high,
            default=default,
        )
    return raw


def parse_date(raw: Any, name: str) -> date:
    if isinstance(raw, date):
        return raw
    if not isinstance(raw, str):
        raise ValidationFailed("field.date_required", field=name, name=name)
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationFailed("field.not_date", field=name, name=name, value=raw) from None


def parse_time(raw: Any, name: str) -> time:
    if isinstance(raw, time):
        return raw
    if not isinstance(raw, str):
        raise ValidationFailed("field.time_required", field=name, name=name)
    try:
        value = time.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationFailed("field.not_time", field=name, name=name, value=raw) from None
    if value.tzinfo is not None:
        raise ValidationFailed("field.time_with_offset", field=name, name=name)
    return value.replace(microsecond=0)


def check_hours(start: time, end: time, start_field: str = "start_time") -> None:
    if not start < end:
        raise ValidationFailed(
            "campaign.hours_order",
            field="end_time" if start_field == "start_time" else start_field,
            end=end.isoformat(),
            start=start.isoformat(),
        )


def parse_timezone(raw: Any) -> str:
    if not isinstance(raw, str) or raw.strip() not in ZONES:
        raise ValidationFailed("campaign.timezone_invalid", field="timezone", value=raw)
    return raw.strip()


def parse_weekdays(raw: Any) -> str:
    if not isinstance(raw, list) or not raw or not all(isinstance(d, str) for d in raw):
        raise ValidationFailed(
            "campaign.weekdays_invalid", field="weekdays", days=", ".join(WEEKDAYS)
        )
    days = {d.strip().lower() for d in raw}
    unknown = sorted(days - set(WEEKDAYS))
    if unknown:
        raise ValidationFailed(
            "campaign.weekdays_unknown",
            field="weekdays",
            unknown=", ".join(unknown),
            days=", ".join(WEEKDAYS),
        )
    return ",".join(d for d in WEEKDAYS if d in days)


def parse_routing_target(raw: Any) -> str | None:
    """A name of ``register_routing_targets()`` or None (the engine picks by type)."""
    if raw is None:
        return None
    from opendialer.core.plugins import get_plugin_manager

    known = sorted(get_plugin_manager().factories("routing_targets"))
    if not isinstance(raw, str) or raw not in known:
        raise ValidationFailed(
            "campaign.routing_target_unknown",
            field="routing_target",
            value=raw,
            known=", ".join(known),
        )
    return raw


def _optional_id(data: dict[str, Any], name: str) -> int | None:
    raw = data.get(name)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ValidationFailed("field.not_id", field=name, name=name)
    return raw


def check_date_range(start_date: date, end_date: date) -> None:
    if end_date < start_date:
        raise ValidationFailed(
            "campaign.end_before_start", field="end_date", end=end_date, start=start_date
        )
    if (end_date - start_date).days >= MAX_RANGE_DAYS:
        raise ValidationFailed("campaign.range_too_long", field="end_date", n=MAX_RANGE_DAYS)


def _group_id(data: dict[str, Any]) -> int:
    group_id = _optional_id(data, "group_id")
    if group_id is None:
        raise ValidationFailed("campaign.group_required", field="group_id")
    return group_id


def _type(data: dict[str, Any]) -> str:
    kind = data.get("type", CampaignType.OSCC.value)
    if kind not in {t.value for t in CampaignType}:
        raise ValidationFailed("campaign.type_invalid", field="type")
    return str(kind)


def _amd_params(data: dict[str, Any]) -> dict[str, Any]:
    """Checked by core/amd_settings against the installed AMD strategies."""
    from opendialer.core import amd_settings
    from opendialer.core.plugins import get_plugin_manager

    try:
        factories = get_plugin_manager().factories("amd_strategies")
        return amd_settings.check(data.get("amd_params") or {}, factories)
    except InvalidValue as exc:
        raise ValidationFailed.from_value(exc, field="amd_params") from None


#: How a pilot number / caller ID may be written (they go into SIP headers).
DIAL_STRING_RULE = "(separators ( ) - . and spaces are removed; at most 32)"


def _caller_id(data: dict[str, Any]) -> str | None:
    if data.get("caller_id") is None:
        return None
    raw = require_str(data, "caller_id", max_length=64)
    if not raw.strip():
        return None
    value = dial_string(raw)
    if value is None:
        raise ValidationFailed(
            "campaign.caller_id_invalid", field="caller_id", rule=DIAL_STRING_RULE, value=raw
        )
    return value


def _pilot_number(data: dict[str, Any]) -> str:
    raw = require_str(data, "pilot_number", max_length=64)
    value = dial_string(raw, keys=True)
    if value is None:
        raise ValidationFailed(
            "campaign.pilot_number_invalid", field="pilot_number", rule=DIAL_STRING_RULE, value=raw
        )
    return value


def _default_region(data: dict[str, Any]) -> str:
    """The region sent, or (none sent, or empty) the country of the campaign's zone."""
    raw = data.get("default_region")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        zone = data.get("timezone")
        return region_for_zone(zone.strip() if isinstance(zone, str) else None)
    return parse_region(raw)


def _writable_only(data: dict[str, Any]) -> None:
    read_only = sorted(set(data) & {"state", "state_reason"})
    if read_only:
        raise ValidationFailed("campaign.read_only", field=read_only[0], name=read_only[0])


def _known_only(data: dict[str, Any]) -> None:
    unknown = sorted(set(data) - WRITABLE - READ_ONLY)
    if unknown:
        raise ValidationFailed(
            "field.unknown",
            field=unknown[0],
            fields=", ".join(unknown),
            allowed=", ".join(sorted(WRITABLE)),
        )


def validate(data: dict[str, Any]) -> dict[str, Any]:
    """A complete settings dict (API names) → column values, or ONE ValidationFailed
    listing every field in error (``FieldErrors``).

    ``data`` holds every field: on create the client's body, on update the stored
    campaign with the client's changes applied. A check that compares two fields
    (end after start) runs only when both are valid on their own.
    """
    problems = FieldErrors()
    check = problems.check
    check(_writable_only, data)
    check(_known_only, data)
    group_id = check(_group_id, data)
    start_date = check(parse_date, data.get("start_date"), "start_date")
    end_date = check(parse_date, data.get("end_date"), "end_date")
    if start_date is not None and end_date is not None:
        check(check_date_range, start_date, end_date)
    start_time = check(parse_time, data.get("start_time"), "start_time")
    end_time = check(parse_time, data.get("end_time"), "end_time")
    if start_time is not None and end_time is not None:
        check(check_hours, start_time, end_time)
    values = {
        "type": check(_type, data),
        "amd_params": check(_amd_params, data),
        "caller_id": check(_caller_id, data),
        "name": check(require_str, data, "name", max_length=100),
        "description": check(require_str, data, "description", max_length=2000, required=False),
        "group": group_id,
        "start_date": start_date,
        "end_date": end_date,
        "start_time": start_time,
        "end_time": end_time,
        "timezone": check(parse_timezone, data.get("timezone", "UTC")),
        "weekdays": check(parse_weekdays, data.get("weekdays", list(WEEKDAYS[:5]))),
        "pilot_number": check(_pilot_number, data),
        "max_attempts": check(require_int, data, "max_attempts", MAX_ATTEMPTS),
        "retry_after_minutes": check(require_int, data, "retry_after_minutes", RETRY_AFTER_MINUTES),
        "queue": check(require_str, data, "queue", max_length=100, required=False),
        "amd_enabled": check(require_bool, data, "amd_enabled", True),
        "dnc_service": check(_optional_id, data, "dnc_service_id"),
        "default_region": check(_default_region, data),
        "no_answer_timeout_s": check(require_int, data, "no_answer_timeout_s", NO_ANSWER_TIMEOUT_S),
        "routing_target": check(parse_routing_target, data.get("routing_target")),
    }
    values.update(campaign_pacing.validate(data, problems))
    if start_date is not None and end_date is not None and values["weekdays"]:
        check(check_some_day, start_date, end_date, str(values["weekdays"]))
    problems.raise_if_any()
    return values


def check_some_day(start_date: date, end_date: date, weekdays: str) -> None:
    """At least one date of the range falls on a selected weekday (else no schedule day)."""
    selected = {WEEKDAYS.index(d) for d in weekdays.split(",") if d}
    span = min((end_date - start_date).days + 1, 7)
    if span <= 0:
        return
    if not any((start_date + timedelta(days=i)).weekday() in selected for i in range(span)):
        raise ValidationFailed(
            "campaign.no_weekday_in_range",
            field="weekdays",
            start=start_date,
            end=end_date,
            weekdays=weekdays.replace(",", ", "),
        )
