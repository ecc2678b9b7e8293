"""``/api/v1/campaigns/{id}/schedules``: a campaign's execution days.

Rules in ``core/services/schedules.py``: one entry per date (a second is a 409);
"edit all" (PATCH) changes today's and later entries only; changes need a
STOPPED campaign.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

import msgspec
from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

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


ROUTES: list[Any] = [ScheduleController]
