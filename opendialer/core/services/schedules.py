"""Schedules: one entry per execution day of a campaign.

* Created with the campaign: every date of its range that falls on a selected weekday.
* Editing the range, the weekdays or the time zone (while STOPPED) regenerates the
  entries from today on: NOT_RUNNING entries on dates no longer wanted go, missing
  dates are added with the campaign's working hours; past entries and entries that
  ran (RUNNING, FINISHED, DNC_OUT_OF_SERVICE) are history and stay.
* A change of the campaign's working hours sets the hours of today's and later
  entries that have not run (NOT_RUNNING); past entries and entries that ran keep theirs.
* "Add schedule" adds one entry for a date that has none (409 otherwise), today or later.
* "Edit all" sets the hours of today's and every later entry; past ones stay.
* One entry (by id or by date) can be edited (its hours, or moved to another date) or
  deleted, if it is today's or a later one; an entry that has run (RUNNING, FINISHED,
  DNC_OUT_OF_SERVICE) keeps its date: only its hours may change.
* A new or moved entry's date must be today or later, inside the campaign's date range,
  and free (one entry per date); its start is before its end.

"Today" is the date in the campaign's IANA time zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from opendialer.core import held
from opendialer.core.domain import WEEKDAYS, ScheduleState
from opendialer.core.services import campaigns
from opendialer.core.services.campaign_fields import check_hours, parse_date, parse_time
from opendialer.core.services.common import Actor, PageRequest, page_body, reject_unknown
from opendialer.core.services.errors import Conflict, FieldErrors, NotFound, ValidationFailed
from opendialer.core.storage.tables import Schedule

INSERT_CHUNK = 500


def today_in(values: dict[str, Any]) -> date:
    """Today's date in the campaign's time zone (``values`` has a ``timezone``)."""
    return datetime.now(ZoneInfo(values["timezone"])).date()


def wanted_dates(start: date, end: date, weekdays: str) -> list[date]:
    selected = {WEEKDAYS.index(d) for d in weekdays.split(",") if d}
    days = (end - start).days + 1
    return [
        start + timedelta(days=i)
        for i in range(days)
        if (start + timedelta(days=i)).weekday() in selected
    ]


def schedule_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "date": row["date"],
        "start_time": row["start_time"],
        "end_time": row["end_time"],
        "state": row["state"],
        # why the engine holds dialing that day, in English (core/held.py stores a code)
        "reason": held.english(row["reason"]),
    }


async def _insert(campaign_id: int, dates: list[date], values: dict[str, Any]) -> None:
    rows = [
        Schedule(
            campaign=campaign_id,
            date=d,
            start_time=values["start_time"],
            end_time=values["end_time"],
            state=ScheduleState.NOT_RUNNING.value,
        )
        for d in dates
    ]
    for i in range(0, len(rows), INSERT_CHUNK):
        await Schedule.insert(*rows[i : i + INSERT_CHUNK]).run()


async def generate(campaign_id: int, values: dict[str, Any], *, keep_before: date | None) -> None:
    """Create the entries of a new campaign (``keep_before`` None), or regenerate those
    from ``keep_before`` on after the range, weekdays or zone changed. Runs inside the
    caller's transaction."""
    wanted = wanted_dates(values["start_date"], values["end_date"], values["weekdays"])
    if keep_before is None:
        await _insert(campaign_id, wanted, values)
        return
    wanted = [d for d in wanted if d >= keep_before]
    existing = {
        r["date"]
        for r in await Schedule.select(Schedule.date)
        .where((Schedule.campaign == campaign_id) & (Schedule.date >= keep_before))
        .run()
    }
    gone = sorted(existing - set(wanted))
    if gone:
        await (
            Schedule.delete()
            .where(
                (Schedule.campaign == campaign_id)
                & Schedule.date.is_in(gone)
                & (Schedule.state == ScheduleState.NOT_RUNNING.value)
            )
            .run()
        )
    await _insert(campaign_id, [d for d in wanted if d not in existing], values)


async def follow_working_hours(campaign_id: int, values: dict[str, Any]) -> int:
    """The campaign's working hours changed: today's and later entries that have not
    run (NOT_RUNNING) take them; past entries and entries that ran keep theirs. Runs
    inside the caller's transaction; returns how many entries changed."""
    updated = (
        await Schedule.update(
            {Schedule.start_time: values["start_time"], Schedule.end_time: values["end_time"]}
        )
        .where(
            (Schedule.campaign == campaign_id)
            & (Schedule.date >= today_in(values))
            & (Schedule.state == ScheduleState.NOT_RUNNING.value)
        )
        .returning(Schedule.id)
        .run()
    )
    return len(updated)


async def list_schedules(
    actor: Actor, campaign_id: int, page: PageRequest | None = None
) -> dict[str, Any]:
    page = page or PageRequest()
    await campaigns.load(actor, campaign_id)
    where = Schedule.campaign == campaign_id
    rows = (
        await Schedule.select()
        .where(where)
        .order_by(Schedule.date)
        .limit(page.per_page)
        .offset(page.offset)
        .run()
    )
    total = await Schedule.count().where(where).run()
    return page_body([schedule_json(r) for r in rows], total, page)


def _not_past(day: date, campaign: dict[str, Any]) -> None:
    today = today_in(campaign)
    if day < today:
        raise ValidationFailed(
            "schedule.date_past", field="date", day=day, today=today, zone=campaign["timezone"]
        )


def _in_range(day: date, campaign: dict[str, Any]) -> None:
    if not campaign["start_date"] <= day <= campaign["end_date"]:
        raise ValidationFailed(
            "schedule.outside_range",
            field="date",
            day=day,
            start=campaign["start_date"],
            end=campaign["end_date"],
        )


def _new_date(day: date, campaign: dict[str, Any]) -> None:
    """A date a schedule is added on or moved to: today or later, in the date range."""
    _not_past(day, campaign)
    _in_range(day, campaign)


def _hours(
    problems: FieldErrors, data: dict[str, Any], defaults: dict[str, Any] | None
) -> tuple[time | None, time | None]:
    """start_time and end_time (``defaults``' when absent), end after start once both are valid."""
    defaults = defaults or {}
    start = problems.check(
        parse_time, data.get("start_time", defaults.get("start_time")), "start_time"
    )
    end = problems.check(parse_time, data.get("end_time", defaults.get("end_time")), "end_time")
    if start is not None and end is not None:
        problems.check(check_hours, start, end)
    return start, end


async def add_schedule(actor: Actor, campaign_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """One more execution day; hours default to the campaign's working hours."""
    campaign = await campaigns.load_for_change(actor, campaign_id)
    problems = FieldErrors()
    problems.check(reject_unknown, data, {"date", "start_time", "end_time"})
    day = problems.check(parse_date, data.get("date"), "date")
    if day is not None:
        problems.check(_new_date, day, campaign)
    start, end = _hours(problems, data, campaign)
    problems.raise_if_any()
    assert day is not None and start is not None and end is not None
    async with campaigns.write_transaction():
        if (
            await Schedule.exists()
            .where((Schedule.campaign == campaign_id) & (Schedule.date == day))
            .run()
        ):
            raise Conflict(
                "schedule.exists_on_day",
                field="date",
                error="schedule_exists",
                name=campaign["name"],
                day=day,
            )
        row = Schedule(
            campaign=campaign_id,
            date=day,
            start_time=start,
            end_time=end,
            state=ScheduleState.NOT_RUNNING.value,
        )
        await row.save().run()
    stored = await Schedule.select().where(Schedule.id == row.id).first().run()
    assert stored is not None  # inserted above, in this transaction
    return schedule_json(stored)


async def edit_all(actor: Actor, campaign_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Set the hours of today's and every later entry; earlier entries are history."""
    campaign = await campaigns.load_for_change(actor, campaign_id)
    problems = FieldErrors()
    problems.check(reject_unknown, data, {"start_time", "end_time"})
    start, end = _hours(problems, data, None)
    problems.raise_if_any()
    today = today_in(campaign)
    async with campaigns.write_transaction():
        updated = (
            await Schedule.update({Schedule.start_time: start, Schedule.end_time: end})
            .where((Schedule.campaign == campaign_id) & (Schedule.date >= today))
            .returning(Schedule.id)
            .run()
        )
    return {"updated": len(updated), "from_date": today, "start_time": start, "end_time": end}


#: States of an entry that has run: its date is history (it keeps it).
HAS_RUN = (
    ScheduleState.RUNNING.value,
    ScheduleState.FINISHED.value,
    ScheduleState.DNC_OUT_OF_SERVICE.value,
)


async def _entry(campaign_id: int, key: int | str | date) -> dict[str, Any]:
    """The campaign's entry with this id, or on this date (``YYYY-MM-DD``)."""
    where: Any
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        # Ids are 32-bit (SERIAL): a larger one names no schedule.
        where = Schedule.id == int(key) if 0 < int(key) < 2**31 else Schedule.id.is_null()
    else:
        day = key if isinstance(key, date) else parse_date(key, "date")
        where = Schedule.date == day
    row = await Schedule.select().where((Schedule.campaign == campaign_id) & where).first().run()
    if row is None:
        raise NotFound("schedule.not_found", campaign_id=campaign_id, key=key)
    return row


async def get_schedule(actor: Actor, campaign_id: int, key: int | str | date) -> dict[str, Any]:
    await campaigns.load(actor, campaign_id)
    return schedule_json(await _entry(campaign_id, key))


def _changeable(entry: dict[str, Any], campaign: dict[str, Any]) -> None:
    """Only today's and later entries change; past days are history."""
    today = today_in(campaign)
    if entry["date"] < today:
        raise Conflict(
            "schedule.past",
            field="date",
            error="schedule_past",
            day=entry["date"],
            today=today,
            zone=campaign["timezone"],
        )


def _keeps_its_date(entry: dict[str, Any], verb: str) -> None:
    if entry["state"] in HAS_RUN:
        raise Conflict(
            "schedule.has_run",
            field="date",
            error="schedule_has_run",
            day=entry["date"],
            state=entry["state"],
            verb=verb,
        )


async def update_schedule(
    actor: Actor, campaign_id: int, key: int | str | date, data: dict[str, Any]
) -> dict[str, Any]:
    """Change one entry's hours, or move it to another free date in the campaign's range."""
    campaign = await campaigns.load_for_change(actor, campaign_id)
    entry = await _entry(campaign_id, key)
    _changeable(entry, campaign)
    problems = FieldErrors()
    problems.check(reject_unknown, data, {"date", "start_time", "end_time"})
    day = entry["date"]
    if "date" in data:
        day = problems.check(parse_date, data["date"], "date")
        if day is not None and day != entry["date"]:
            problems.check(_new_date, day, campaign)
    start, end = _hours(problems, data, entry)
    problems.raise_if_any()
    assert day is not None and start is not None and end is not None
    if day != entry["date"]:
        _keeps_its_date(entry, "moved")
    async with campaigns.write_transaction():
        if day != entry["date"] and (
            await Schedule.exists()
            .where(
                (Schedule.campaign == campaign_id)
                & (Schedule.date == day)
                & (Schedule.id != entry["id"])
            )
            .run()
        ):
            raise Conflict(
                "schedule.day_taken",
                field="date",
                error="schedule_exists",
                day=day,
                name=campaign["name"],
            )
        await (
            Schedule.update(
                {Schedule.date: day, Schedule.start_time: start, Schedule.end_time: end}
            )
            .where(Schedule.id == entry["id"])
            .run()
        )
    return schedule_json(await _entry(campaign_id, entry["id"]))


async def delete_schedule(actor: Actor, campaign_id: int, key: int | str | date) -> dict[str, Any]:
    """Delete one of today's or a later entry that has not run; returns what was deleted."""
    campaign = await campaigns.load_for_change(actor, campaign_id)
    entry = await _entry(campaign_id, key)
    _changeable(entry, campaign)
    _keeps_its_date(entry, "deleted")
    async with campaigns.write_transaction():
        await Schedule.delete().where(Schedule.id == entry["id"]).run()
    return schedule_json(entry)


async def current_or_next(campaign: dict[str, Any]) -> dict[str, Any] | None:
    """Today's entry (in the campaign's zone), else the next one; None when none is left.
    ``campaign`` is a campaign as ``campaigns.get_campaign`` gives it."""
    row = (
        await Schedule.select()
        .where((Schedule.campaign == campaign["id"]) & (Schedule.date >= today_in(campaign)))
        .order_by(Schedule.date)
        .first()
        .run()
    )
    return None if row is None else schedule_json(row)
