"""``/api/v1/campaigns/{id}/schedules``: a campaign's execution days.

Rules in ``core/services/schedules.py``: one entry per date (a second is a 409);
"edit all" (PATCH) changes today's and later entries only; one day
(``/schedules/{id or YYYY-MM-DD}``) can be read, edited (PATCH: hours, or moved to
a free date in the campaign's range) and deleted if it is today's or later; changes
need a STOPPED campaign.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from opendialer.admin_ui.api.campaigns import Clock
from opendialer.admin_ui.api.common import ObjectId, changes
from opendialer.core.domain import ScheduleState
from opendialer.core.services import schedules
from opendialer.core.services.common import Actor, PageRequest


class Schedule(msgspec.Struct):
    id: int
    date: date
    start_time: time
    end_time: time
    state: ScheduleState
    reason: str


class SchedulePage(msgspec.Struct):
    items: list[Schedule]
    total: int
    page: int
    per_page: int


class ScheduleCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Hours default to the campaign's working hours."""

    date: date
    start_time: Clock | msgspec.UnsetType = msgspec.UNSET
    end_time: Clock | msgspec.UnsetType = msgspec.UNSET


class ScheduleEditAll(msgspec.Struct, forbid_unknown_fields=True):
    start_time: Clock
    end_time: Clock


class ScheduleEdit(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change; a new ``date`` moves the day."""

    date: date | msgspec.UnsetType = msgspec.UNSET
    start_time: Clock | msgspec.UnsetType = msgspec.UNSET
    end_time: Clock | msgspec.UnsetType = msgspec.UNSET


#: One day of the schedule: its id, or its date.
DayKey = Annotated[
    str,
    PathParameter(
        pattern=r"^(\d{1,10}|\d{4}-\d{2}-\d{2})$",
        description="the schedule's id, or its date (YYYY-MM-DD)",
    ),
]


class EditAllResult(msgspec.Struct):
    updated: int
    from_date: date
    start_time: time
    end_time: time


class ScheduleController(Controller):
    path = "/campaigns/{campaign_id:int}/schedules"
    tags = ["schedules"]

    @get("/", summary="A campaign's schedules, by date")
    async def list_schedules(
        self,
        actor: NamedDependency[Actor],
        campaign_id: ObjectId,
        page_request: NamedDependency[PageRequest],
    ) -> SchedulePage:
        body = await schedules.list_schedules(actor, campaign_id, page_request)
        return msgspec.convert(body, SchedulePage)

    @post("/", summary="Add a schedule for a date that has none")
    async def add_schedule(
        self, actor: NamedDependency[Actor], campaign_id: ObjectId, data: JSONBody[ScheduleCreate]
    ) -> Schedule:
        body = await schedules.add_schedule(actor, campaign_id, changes(data))
        return msgspec.convert(body, Schedule)

    @patch("/", summary="Edit all schedules: today's and later ones get these hours")
    async def edit_all(
        self, actor: NamedDependency[Actor], campaign_id: ObjectId, data: JSONBody[ScheduleEditAll]
    ) -> EditAllResult:
        body = await schedules.edit_all(actor, campaign_id, changes(data))
        return msgspec.convert(body, EditAllResult)

    @get("/{day:str}", summary="One schedule, by id or date")
    async def get_schedule(
        self, actor: NamedDependency[Actor], campaign_id: ObjectId, day: DayKey
    ) -> Schedule:
        body = await schedules.get_schedule(actor, campaign_id, day)
        return msgspec.convert(body, Schedule)

    @patch("/{day:str}", summary="Edit one schedule (today's or later): hours, or move its date")
    async def update_schedule(
        self,
        actor: NamedDependency[Actor],
        campaign_id: ObjectId,
        day: DayKey,
        data: JSONBody[ScheduleEdit],
    ) -> Schedule:
        body = await schedules.update_schedule(actor, campaign_id, day, changes(data))
        return msgspec.convert(body, Schedule)

    @delete("/{day:str}", status_code=204, summary="Delete one schedule (today's or later)")
    async def delete_schedule(
        self, actor: NamedDependency[Actor], campaign_id: ObjectId, day: DayKey
    ) -> None:
        await schedules.delete_schedule(actor, campaign_id, day)


ROUTES: list[Any] = [ScheduleController]
