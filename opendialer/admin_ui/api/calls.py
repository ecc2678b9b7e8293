"""``/api/v1/campaigns/{id}/calls``: the call log, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from opendialer.admin_ui.api.common import ObjectId
from opendialer.core.services import calls
from opendialer.core.services.common import Actor, PageRequest


class CallRecord(msgspec.Struct):
    id: int
    lead_id: int
    lead_name: str
    attempt: int
    call_id: str
    node: str
    port: str
    phone: str
    created_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    sip_code: int | None
    disposition: str
    amd_verdict: str | None
    amd_decision_ms: float | None
    amd_reasons: str
    transfer_result: str | None
    dnc_service: str | None
    dnc_checked_at: datetime | None
    dnc_result: str | None
    status: str | None
    #: English, for people; programs read ``detail_code`` (docs/errors.md) and its values.
    detail: str
    detail_code: str | None
    detail_params: dict[str, str] | None


class CallPage(msgspec.Struct):
    items: list[CallRecord]
    total: int
    page: int
    per_page: int


class CallController(Controller):
    path = "/campaigns/{campaign_id:int}/calls"
    tags = ["calls"]

    @get("/", summary="The call log of a campaign, newest first")
    async def list_calls(
        self,
        actor: NamedDependency[Actor],
        campaign_id: ObjectId,
        page_request: NamedDependency[PageRequest],
        status: Annotated[
            str | None,
            QueryParameter(
                description="a lead status (SUCCESS, BUSY, …) or IN_PROGRESS", max_length=40
            ),
        ] = None,
        since: Annotated[
            str | None,
            QueryParameter(
                description="ISO 8601 time; calls created at or after it", max_length=40
            ),
        ] = None,
        phone: Annotated[
            str | None,
            QueryParameter(
                description="digits of the called number (calls whose number contains them)",
                max_length=40,
            ),
        ] = None,
    ) -> CallPage:
        body = await calls.list_calls(
            actor, campaign_id, page_request, status=status, since=since, phone=phone
        )
        return msgspec.convert(body, CallPage)


ROUTES: list[Any] = [CallController]
