"""``/api/v1/campaigns/{id}/compliance``: the campaign's compliance policy, and
``GET /api/v1/compliance-presets`` (each preset's values).

``PUT`` replaces the policy: a ``preset`` and any values given over it. A value
tighter than the preset's keeps the preset's name; a looser one (or a rule given as
``null``) makes the policy ``custom`` and is listed in ``loosened``. Settings of the
campaign the policy moves (no-answer timeout, abandon target, window, time to an
agent) are tightened in the same transaction and listed in ``adjusted``. Values are
checked by ``core/services/compliance_policy.py``: a refusal is a 422 with its
``compliance.*`` code and field. Campaign Administrators of the campaign's group
change it (STARTED or not: the engine reads it on its next round); Supervisors read it.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from opendialer.admin_ui.api.common import ObjectId, changes
from opendialer.core.services import campaign_compliance, campaigns, compliance_policy
from opendialer.core.services.common import Actor

UNSET = msgspec.UNSET


def _doc(description: str, example: Any = None) -> Any:
    return msgspec.Meta(description=description, examples=[example] if example is not None else [])


OptionalInt = int | None | msgspec.UnsetType
OptionalFloat = float | None | msgspec.UnsetType
OptionalBool = bool | msgspec.UnsetType


class PolicyIn(msgspec.Struct, forbid_unknown_fields=True):
    preset: Annotated[
        str | msgspec.UnsetType,
        _doc(f"one of {', '.join(compliance_policy.PRESETS)}; its values fill the rest", "us_tsr"),
    ] = UNSET
    local_hours: Annotated[
        dict[str, list[str]] | msgspec.UnsetType | None,
        _doc(
            "weekday (mon..sun) → spans calls may start in, in the lead's local time; a "
            "missing or empty day: no calls; null: no local-hours rule",
            {"mon": ["08:00-21:00"], "sat": ["09:00-13:00"]},
        ),
    ] = UNSET
    holiday_calendars: Annotated[
        list[str] | msgspec.UnsetType,
        _doc("public holidays skipped: countries (BR) or subdivisions (BR-SP)", ["BR"]),
    ] = UNSET
    holiday_dates: Annotated[
        list[str] | msgspec.UnsetType, _doc("the campaign's own days off", ["2026-12-24"])
    ] = UNSET
    max_attempts_per_day: Annotated[
        OptionalInt, _doc("attempts per number per day over every campaign; null: no limit", 3)
    ] = UNSET
    max_attempts_per_30_days: Annotated[
        OptionalInt, _doc("attempts per number in 30 days over every campaign", 4)
    ] = UNSET
    hours_after_abandon: Annotated[
        OptionalInt, _doc("no new call to a number for this long after an abandoned call", 72)
    ] = UNSET
    abandon_retry_with_agent: Annotated[
        OptionalBool,
        _doc("allow a call within hours_after_abandon when an agent is held (progressive)"),
    ] = UNSET
    minutes_after_machine: Annotated[
        OptionalInt, _doc("no new call to a number for this long after an AMD hang-up", 60)
    ] = UNSET
    min_ring_seconds: Annotated[
        OptionalInt, _doc("the campaign's no-answer timeout may not be set under this", 15)
    ] = UNSET
    caller_id_required: Annotated[
        OptionalBool, _doc("start refuses a campaign without a caller ID to present")
    ] = UNSET
    short_call_guard_pct: Annotated[
        OptionalFloat,
        _doc("slow down before calls of 6 s or less pass this share of a caller ID's day", 80),
    ] = UNSET
    dnc_max_age_days: Annotated[
        OptionalInt, _doc("an external DNC list older than this holds the campaign", 31)
    ] = UNSET
    max_abandon_pct: Annotated[OptionalFloat, _doc("abandon target at most (percent)", 3)] = UNSET
    abandon_window: Annotated[
        str | msgspec.UnsetType | None, _doc("the abandon rate's window: 24h, 30d or campaign")
    ] = UNSET
    max_abandon_timeout_ms: Annotated[
        OptionalInt, _doc("time to reach an agent at most (ms)", 2000)
    ] = UNSET
    safe_harbour_required: Annotated[
        OptionalBool, _doc("an over-dialing campaign needs its recorded message to start")
    ] = UNSET


class Policy(msgspec.Struct):
    preset: str
    local_hours: dict[str, list[str]] | None
    holiday_calendars: list[str]
    holiday_dates: list[str]
    max_attempts_per_day: int | None
    max_attempts_per_30_days: int | None
    hours_after_abandon: int | None
    abandon_retry_with_agent: bool
    minutes_after_machine: int | None
    min_ring_seconds: int | None
    caller_id_required: bool
    short_call_guard_pct: float | None
    dnc_max_age_days: int | None
    max_abandon_pct: float | None
    abandon_window: str | None
    max_abandon_timeout_ms: int | None
    safe_harbour_required: bool


class CampaignPolicy(Policy, kw_only=True):
    campaign_id: int
    #: The fields given looser than the preset's (the policy is then ``custom``).
    loosened: list[str]
    #: The campaign's settings the policy moved (column → new value).
    adjusted: dict[str, Any]


class CampaignComplianceController(Controller):
    path = "/campaigns/{campaign_id:int}/compliance"
    tags = ["campaigns"]

    @get("/", summary="The campaign's compliance policy")
    async def get_policy(
        self, actor: NamedDependency[Actor], campaign_id: ObjectId
    ) -> CampaignPolicy:
        body = await campaign_compliance.get_policy(actor, campaign_id)
        return msgspec.convert(body, CampaignPolicy)

    @put(
        "/",
        summary="Replace the campaign's compliance policy (a preset, tightened or not)",
        description=__doc__,
    )
    async def put_policy(
        self, actor: NamedDependency[Actor], campaign_id: ObjectId, data: JSONBody[PolicyIn]
    ) -> CampaignPolicy:
        body = await campaign_compliance.update_policy(actor, campaign_id, changes(data))
        return msgspec.convert(body, CampaignPolicy)


@get(
    "/compliance-presets",
    summary="Each compliance preset's values (docs/compliance.md gives their sources)",
    tags=["campaigns"],
)
async def list_presets(actor: NamedDependency[Actor]) -> list[Policy]:
    campaigns.visible_groups(actor)  # campaign roles only, as every campaign route
    return [msgspec.convert(p, Policy) for p in campaign_compliance.presets()]


ROUTES: list[Any] = [CampaignComplianceController, list_presets]
