"""``/api/v1/campaigns``: campaigns, their start/stop and summary.

Who may do what is decided in ``core/services/campaigns.py``: Campaign
Administrators change the campaigns of their enabled groups, Campaign Supervisors
read them, Masters and Managers get 403; another group's campaign is a 404.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from opendialer.admin_ui.api.campaign_pacing import (
    AbandonTargetPct,
    AbandonTimeoutMs,
    AbandonWindow,
    LinesPerAgent,
    MaxLinesPerAgent,
    PacingModeName,
    PacingNow,
    SafeHarbourMessage,
)
from opendialer.admin_ui.api.common import BodyId, ObjectId, changes
from opendialer.admin_ui.held_text import held_reason_body
from opendialer.admin_ui.i18n import translator
from opendialer.core.domain import CampaignState, CampaignType
from opendialer.core.services import campaign_states, campaigns, dialing
from opendialer.core.services.common import Actor, PageRequest

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Name = Annotated[str, msgspec.Meta(max_length=100)]
Text = Annotated[str, msgspec.Meta(max_length=2000)]
Short = Annotated[str, msgspec.Meta(max_length=64)]
Clock = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^\d{2}:\d{2}(:\d{2})?$",
        description="local time of day in the campaign's zone, HH:MM or HH:MM:SS",
        examples=["09:00"],
    ),
]
MaxAttempts = Annotated[int, msgspec.Meta(ge=1, le=100)]
RetryMinutes = Annotated[int, msgspec.Meta(ge=1, le=1440)]
NoAnswerSeconds = Annotated[int, msgspec.Meta(ge=5, le=300)]
Region = Annotated[
    str,
    msgspec.Meta(
        min_length=2,
        max_length=2,
        examples=["BR"],
        description="region of numbers without country code; null: the time zone's country",
    ),
]
Pilot = Annotated[
    str,
    msgspec.Meta(
        max_length=64,
        examples=["4000"],
        description="digits, * and # with an optional leading +; separators ( ) - . removed",
    ),
]
CallerId = Annotated[
    str,
    msgspec.Meta(
        max_length=64,
        examples=["+554133334444"],
        description="digits with an optional leading +; separators ( ) - . removed",
    ),
]
RoutingTarget = Annotated[
    str,
    msgspec.Meta(max_length=32, description="a registered routing target; null: by type"),
]
Zone = Annotated[str, msgspec.Meta(max_length=64, examples=["America/Sao_Paulo"])]


class HeldReason(msgspec.Struct):
    """Why a STARTED campaign is not dialing now (docs/api.md lists the codes)."""

    code: Annotated[str, msgspec.Meta(examples=["routing_not_configured"])]
    #: The reason in the caller's language (its user's language setting).
    detail: str
    #: True for a wait (next run later today, leads waiting for their retry), not a fault.
    waiting: bool
    params: dict[str, str]
    #: The page where it is fixed (e.g. /system/ivr), or null.
    fix_path: str | None


class Campaign(msgspec.Struct):
    id: int
    name: str
    description: str
    group_id: int
    start_date: date
    end_date: date
    start_time: time
    end_time: time
    timezone: str
    weekdays: list[str]
    pilot_number: str
    max_attempts: int
    retry_after_minutes: int
    type: CampaignType
    queue: str
    amd_enabled: bool
    dnc_service_id: int | None
    amd_params: dict[str, Any]
    default_region: str
    caller_id: str | None
    no_answer_timeout_s: int
    routing_target: str | None
    pacing_mode: str
    lines_per_agent: float
    abandon_target_pct: float
    abandon_window: str
    abandon_timeout_ms: int
    max_lines_per_agent: float
    state: CampaignState
    state_reason: str
    #: Its compliance policy's preset (the policy: GET /api/v1/campaigns/{id}/compliance).
    compliance_preset: str = "none"
    #: Uploaded apart: PUT /api/v1/campaigns/{id}/safe-harbour-message.
    safe_harbour_message: SafeHarbourMessage | None = None
    #: Left on answering machines (``amd_params.on_machine: leave_message``); uploaded
    #: apart: PUT /api/v1/campaigns/{id}/voicemail-message.
    voicemail_message: SafeHarbourMessage | None = None
    #: STARTED and dialing now (core/services/dialing.py decides).
    dialing: bool = False
    held_reason: HeldReason | None = None


class CampaignPage(msgspec.Struct):
    items: list[Campaign]
    total: int
    page: int
    per_page: int


class LeadCounts(msgspec.Struct):
    total: int
    NOT_CALLED: int
    SUCCESS: int
    FAILURE: int
    BUSY: int
    REJECTED: int
    AMD: int
    SERVICE_TEMPORARILY_UNAVAILABLE: int
    DO_NOT_CALL: int
    #: A person answered and no agent was free in time (over-dialing pacing).
    ABANDONED: int
    #: A machine answered and the campaign's voicemail message was left on it.
    MESSAGE_LEFT: int
    UNKNOWN: int


class ScheduleDay(msgspec.Struct):
    id: int
    date: date
    start_time: time
    end_time: time
    state: str
    reason: str


class ShortCalls(msgspec.Struct):
    """The campaign's caller ID's calls ended today (UTC day, every campaign presenting
    it) and the share of those of 6 s or less (docs/compliance.md)."""

    #: The campaign's caller ID ('': none of its own, the platform's default).
    caller_id: str
    #: Short calls / calls, in percent (0 with no call).
    share: float
    calls: int
    short: int
    #: The policy's ``short_call_guard_pct`` (null: no guard).
    threshold: float | None
    #: The guard holds the campaign only from this many calls a day.
    min_calls: int
    #: The UTC day counted.
    day: date


class CampaignSummary(Campaign, kw_only=True):
    leads: LeadCounts
    #: Today's schedule in the campaign's zone, else the next one; null when none is left.
    next_schedule: ScheduleDay | None
    pacing: PacingNow
    short_calls: ShortCalls


class CampaignCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    group_id: BodyId
    start_date: date
    end_date: date
    start_time: Clock
    end_time: Clock
    pilot_number: Pilot
    description: Text = ""
    timezone: Zone = "UTC"
    weekdays: list[Weekday] = msgspec.field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"]
    )
    max_attempts: MaxAttempts = 5
    retry_after_minutes: RetryMinutes = 60
    type: CampaignType = CampaignType.OSCC
    queue: Name = ""
    amd_enabled: bool = True
    dnc_service_id: BodyId | msgspec.UnsetType | None = msgspec.UNSET
    amd_params: dict[str, Any] = msgspec.field(default_factory=dict)
    default_region: Region | None = None
    caller_id: CallerId | None = None
    no_answer_timeout_s: NoAnswerSeconds = 30
    routing_target: RoutingTarget | None = None
    pacing_mode: PacingModeName = "progressive"
    lines_per_agent: LinesPerAgent = 1.5
    abandon_target_pct: AbandonTargetPct = 3.0
    abandon_window: AbandonWindow = "30d"
    abandon_timeout_ms: AbandonTimeoutMs = 2000
    max_lines_per_agent: MaxLinesPerAgent = 3.0


class CampaignUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change; the campaign must be STOPPED."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    group_id: BodyId | msgspec.UnsetType = msgspec.UNSET
    start_date: date | msgspec.UnsetType = msgspec.UNSET
    end_date: date | msgspec.UnsetType = msgspec.UNSET
    start_time: Clock | msgspec.UnsetType = msgspec.UNSET
    end_time: Clock | msgspec.UnsetType = msgspec.UNSET
    pilot_number: Pilot | msgspec.UnsetType = msgspec.UNSET
    description: Text | msgspec.UnsetType = msgspec.UNSET
    timezone: Zone | msgspec.UnsetType = msgspec.UNSET
    weekdays: list[Weekday] | msgspec.UnsetType = msgspec.UNSET
    max_attempts: MaxAttempts | msgspec.UnsetType = msgspec.UNSET
    retry_after_minutes: RetryMinutes | msgspec.UnsetType = msgspec.UNSET
    type: CampaignType | msgspec.UnsetType = msgspec.UNSET
    queue: Name | msgspec.UnsetType = msgspec.UNSET
    amd_enabled: bool | msgspec.UnsetType = msgspec.UNSET
    dnc_service_id: BodyId | msgspec.UnsetType | None = msgspec.UNSET
    amd_params: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    default_region: Region | msgspec.UnsetType | None = msgspec.UNSET
    caller_id: CallerId | msgspec.UnsetType | None = msgspec.UNSET
    no_answer_timeout_s: NoAnswerSeconds | msgspec.UnsetType = msgspec.UNSET
    routing_target: RoutingTarget | msgspec.UnsetType | None = msgspec.UNSET
    pacing_mode: PacingModeName | msgspec.UnsetType = msgspec.UNSET
    lines_per_agent: LinesPerAgent | msgspec.UnsetType = msgspec.UNSET
    abandon_target_pct: AbandonTargetPct | msgspec.UnsetType = msgspec.UNSET
    abandon_window: AbandonWindow | msgspec.UnsetType = msgspec.UNSET
    abandon_timeout_ms: AbandonTimeoutMs | msgspec.UnsetType = msgspec.UNSET
    max_lines_per_agent: MaxLinesPerAgent | msgspec.UnsetType = msgspec.UNSET


async def with_dialing(actor: Actor, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Campaign bodies with ``dialing`` and ``held_reason`` in the caller's language."""
    states = await dialing.dialing_states(bodies)
    t = translator(actor.language)
    return [
        {
            **b,
            "dialing": states[b["id"]].dialing,
            "held_reason": held_reason_body(states[b["id"]], t),
        }
        for b in bodies
    ]


async def campaign_out(actor: Actor, body: dict[str, Any]) -> Campaign:
    return msgspec.convert((await with_dialing(actor, [body]))[0], Campaign)


class CampaignController(Controller):
    path = "/campaigns"
    tags = ["campaigns"]

    @get("/", summary="List the campaigns of your groups")
    async def list_campaigns(
        self,
        actor: NamedDependency[Actor],
        page_request: NamedDependency[PageRequest],
        wanted: Annotated[
            CampaignState | None, QueryParameter(name="state", description="only this state")
        ] = None,
    ) -> CampaignPage:
        body = await campaigns.list_campaigns(
            actor, page_request, wanted.value if wanted is not None else None
        )
        body["items"] = await with_dialing(actor, body["items"])
        return msgspec.convert(body, CampaignPage)

    @post("/", summary="Create a campaign (STOPPED) and its schedules")
    async def create_campaign(
        self, actor: NamedDependency[Actor], data: JSONBody[CampaignCreate]
    ) -> Campaign:
        return await campaign_out(actor, await campaigns.create_campaign(actor, changes(data)))

    @get("/{campaign_id:int}", summary="Get a campaign")
    async def get_campaign(self, actor: NamedDependency[Actor], campaign_id: ObjectId) -> Campaign:
        return await campaign_out(actor, await campaigns.get_campaign(actor, campaign_id))

    @patch(
        "/{campaign_id:int}",
        summary="Change a STOPPED campaign",
        description=(
            "Only the fields sent change. New working hours (start_time, end_time) go to "
            "today's and later schedule days that have not run, in the same transaction; "
            "a new date range, weekdays or time zone regenerates the days from today on. "
            "Past days and days that ran keep theirs."
        ),
    )
    async def update_campaign(
        self, actor: NamedDependency[Actor], campaign_id: ObjectId, data: JSONBody[CampaignUpdate]
    ) -> Campaign:
        return await campaign_out(
            actor, await campaigns.update_campaign(actor, campaign_id, changes(data))
        )

    @delete("/{campaign_id:int}", status_code=204, summary="Delete a STOPPED campaign")
    async def delete_campaign(self, actor: NamedDependency[Actor], campaign_id: ObjectId) -> None:
        await campaigns.delete_campaign(actor, campaign_id)

    @post("/{campaign_id:int}/start", status_code=200, summary="Start a campaign")
    async def start_campaign(
        self, actor: NamedDependency[Actor], campaign_id: ObjectId
    ) -> Campaign:
        return await campaign_out(actor, await campaign_states.start_campaign(actor, campaign_id))

    @post("/{campaign_id:int}/stop", status_code=200, summary="Stop a campaign")
    async def stop_campaign(self, actor: NamedDependency[Actor], campaign_id: ObjectId) -> Campaign:
        return await campaign_out(actor, await campaign_states.stop_campaign(actor, campaign_id))

    @get(
        "/{campaign_id:int}/summary",
        summary="A campaign with its leads counted by status and how it is paced now",
    )
    async def summary(
        self, actor: NamedDependency[Actor], campaign_id: ObjectId
    ) -> CampaignSummary:
        body = await campaigns.campaign_summary(actor, campaign_id)
        return msgspec.convert((await with_dialing(actor, [body]))[0], CampaignSummary)


ROUTES: list[Any] = [CampaignController]
