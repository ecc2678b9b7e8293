"""A campaign's schedule (Edit all schedules, Add new schedule, edit or delete one day)
and its live summary."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from opendialer.admin_ui.held_text import held_view
from opendialer.admin_ui.i18n import N_
from opendialer.admin_ui.pages import campaign_amd, campaign_pacing
from opendialer.admin_ui.pages import campaign_compliance as campaign_compliance_page
from opendialer.admin_ui.pages.campaigns import STATE_LABELS
from opendialer.admin_ui.pages.chart import STATUS_COLOURS, bar_chart
from opendialer.admin_ui.pages.common import done, errors_of, text
from opendialer.admin_ui.pages.session import UI
from opendialer.core.domain import LeadStatus, Role
from opendialer.core.services import (
    campaign_compliance,
    campaigns,
    compliance_summary,
    dialing,
    dnc_services,
    groups,
    schedules,
)
from opendialer.core.services.common import PageRequest
from opendialer.core.services.errors import ServiceError

SCHEDULE_STATE_LABELS = {
    "NOT_RUNNING": N_("Not running"),
    "RUNNING": N_("Running"),
    "FINISHED": N_("Finished"),
    "DNC_OUT_OF_SERVICE": N_("DNC out of service"),
}
LEAD_STATUS_LABELS = {
    "NOT_CALLED": N_("Not called"),
    "SUCCESS": N_("Success"),
    "FAILURE": N_("Failure"),
    "BUSY": N_("Busy"),
    "REJECTED": N_("Rejected"),
    "AMD": N_("Answering machine"),
    "SERVICE_TEMPORARILY_UNAVAILABLE": N_("Service temporarily unavailable"),
    "DO_NOT_CALL": N_("Do not call"),
    "ABANDONED": N_("Abandoned"),
    "MESSAGE_LEFT": N_("Message left"),
    "UNKNOWN": N_("Unknown"),
}
#: How often the summary refreshes itself while the campaign runs.
SUMMARY_POLL_S = 5
MODES = ("add", "edit-all")
#: Every field of the schedule modal ("edit-all" has no date).
FORM_FIELDS = ("date", "start_time", "end_time")


def _mode(mode: str) -> str:
    if mode not in MODES:
        raise NotFoundException(f"no schedule action {mode!r}")
    return mode


def _hhmm(value: Any) -> str:
    return value.strftime("%H:%M") if hasattr(value, "strftime") else str(value or "")


@get("/campaigns/{campaign_id:int}/schedules")
async def schedules_page(
    ui: NamedDependency[UI],
    campaign_id: FromPath[int],
    page: FromQuery[int] = 1,
    per_page: FromQuery[int] = 25,
) -> Template:
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    per_page = per_page if per_page in (10, 25, 50, 100) else 25
    request = PageRequest(page=max(page, 1), per_page=per_page)
    listing = await schedules.list_schedules(actor, campaign_id, request)
    policy = await campaign_compliance.campaign_policy(actor, campaign_id)
    skipped = campaign_compliance.skipped_days(
        policy, [s["date"] for s in listing["items"]], ui.t.language
    )
    return ui.render(
        "campaigns/schedules.html",
        skipped=skipped,
        campaign=campaign,
        listing=listing,
        page=request.page,
        per_page=per_page,
        hhmm=_hhmm,
        may_change=actor.role is Role.CAMPAIGN_ADMIN and campaign["state"] == "STOPPED",
        is_admin=actor.role is Role.CAMPAIGN_ADMIN,
        state_labels=SCHEDULE_STATE_LABELS,
        campaign_state_labels=STATE_LABELS,
        dialing_view=held_view(await dialing.dialing_state(campaign), ui.t, actor.role),
        today=schedules.today_in(campaign),
        has_run=schedules.HAS_RUN,
    )


def _schedule_modal(
    ui: UI, campaign: dict[str, Any], values: dict[str, Any], errors: dict[str, str], mode: str
) -> Template:
    return ui.render(
        "campaigns/schedule_form.html", campaign=campaign, values=values, errors=errors, mode=mode
    )


@get("/campaigns/{campaign_id:int}/schedules/{mode:str}")
async def schedule_modal(
    ui: NamedDependency[UI], campaign_id: FromPath[int], mode: FromPath[str]
) -> Template:
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    campaigns.require_writer(actor)
    values = {
        "date": "",
        "start_time": _hhmm(campaign["start_time"]),
        "end_time": _hhmm(campaign["end_time"]),
    }
    return _schedule_modal(ui, campaign, values, {}, _mode(mode))


@post("/campaigns/{campaign_id:int}/schedules/{mode:str}", status_code=200)
async def schedule_submit(
    request: Request[Any, Any, Any],
    ui: NamedDependency[UI],
    campaign_id: FromPath[int],
    mode: FromPath[str],
) -> Response[Any] | Template:
    actor = ui.require_tab("campaigns")
    mode = _mode(mode)
    campaign = await campaigns.get_campaign(actor, campaign_id)
    form = await request.form()
    values = {name: text(form, name) for name in FORM_FIELDS}
    try:
        if mode == "add":
            await schedules.add_schedule(actor, campaign_id, values)
        else:
            values.pop("date")
            await schedules.edit_all(actor, campaign_id, values)
    except ServiceError as exc:
        return _schedule_modal(ui, campaign, values, errors_of(exc, ui.t, FORM_FIELDS), mode)
    location = f"/campaigns/{campaign_id}/schedules"
    return done(request, location, "schedule_added" if mode == "add" else "schedules_updated")


def _back(request: Request[Any, Any, Any], campaign_id: int, sent: str = "") -> str:
    """The schedules page (with its paging) the modal was opened from."""
    base = f"/campaigns/{campaign_id}/schedules"
    if not sent:
        parts = urlsplit(request.headers.get("hx-current-url", ""))
        sent = parts.path + (f"?{parts.query}" if parts.query else "")
    parts = urlsplit(sent)
    same_page = not parts.scheme and not parts.netloc and parts.path == base
    return sent if same_page else base


def _day_modal(
    ui: UI,
    campaign: dict[str, Any],
    entry: dict[str, Any],
    values: dict[str, Any],
    errors: dict[str, str],
    back: str,
) -> Template:
    return ui.render(
        "campaigns/schedule_form.html",
        campaign=campaign,
        entry=entry,
        values=values,
        errors=errors,
        mode="edit",
        back=back,
    )


@get("/campaigns/{campaign_id:int}/schedules/{schedule_id:int}/edit")
async def edit_day(
    ui: NamedDependency[UI], campaign_id: FromPath[int], schedule_id: FromPath[int]
) -> Template:
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    campaigns.require_writer(actor)
    entry = await schedules.get_schedule(actor, campaign_id, schedule_id)
    values = {
        "date": entry["date"].isoformat(),
        "start_time": _hhmm(entry["start_time"]),
        "end_time": _hhmm(entry["end_time"]),
    }
    return _day_modal(ui, campaign, entry, values, {}, _back(ui.request, campaign_id))


@post("/campaigns/{campaign_id:int}/schedules/{schedule_id:int}/edit", status_code=200)
async def update_day(
    request: Request[Any, Any, Any],
    ui: NamedDependency[UI],
    campaign_id: FromPath[int],
    schedule_id: FromPath[int],
) -> Response[Any] | Template:
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    entry = await schedules.get_schedule(actor, campaign_id, schedule_id)
    form = await request.form()
    values = {name: text(form, name) for name in FORM_FIELDS}
    back = _back(request, campaign_id, text(form, "back"))
    try:
        await schedules.update_schedule(actor, campaign_id, schedule_id, values)
    except ServiceError as exc:
        errors = errors_of(exc, ui.t, FORM_FIELDS)
        return _day_modal(ui, campaign, entry, values, errors, back)
    return done(request, back, "schedule_updated")


def _delete_modal(
    ui: UI, campaign: dict[str, Any], entry: dict[str, Any], errors: dict[str, str], back: str
) -> Template:
    return ui.render(
        "campaigns/schedule_delete.html",
        campaign=campaign,
        entry=entry,
        errors=errors,
        back=back,
        hhmm=_hhmm,
    )


@get("/campaigns/{campaign_id:int}/schedules/{schedule_id:int}/delete")
async def confirm_delete_day(
    ui: NamedDependency[UI], campaign_id: FromPath[int], schedule_id: FromPath[int]
) -> Template:
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    campaigns.require_writer(actor)
    entry = await schedules.get_schedule(actor, campaign_id, schedule_id)
    return _delete_modal(ui, campaign, entry, {}, _back(ui.request, campaign_id))


@post("/campaigns/{campaign_id:int}/schedules/{schedule_id:int}/delete", status_code=200)
async def delete_day(
    request: Request[Any, Any, Any],
    ui: NamedDependency[UI],
    campaign_id: FromPath[int],
    schedule_id: FromPath[int],
) -> Response[Any] | Template:
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    entry = await schedules.get_schedule(actor, campaign_id, schedule_id)
    back = _back(request, campaign_id, text(await request.form(), "back"))
    try:
        await schedules.delete_schedule(actor, campaign_id, schedule_id)
    except ServiceError as exc:
        return _delete_modal(ui, campaign, entry, errors_of(exc, ui.t, ()), back)
    return done(request, back, "schedule_deleted")


async def _summary_context(ui: UI, campaign_id: int) -> dict[str, Any]:
    actor = ui.require_tab("campaigns")
    summary = await campaigns.campaign_summary(actor, campaign_id)
    counts = summary["leads"]
    statuses = [s.value for s in LeadStatus]
    group_rows = {g["id"]: g for g in (await groups.list_groups(actor))["items"]}
    chart = bar_chart(
        [(ui._(LEAD_STATUS_LABELS[s]), counts.get(s, 0), STATUS_COLOURS[s]) for s in statuses],
        title=ui._("Leads per status"),
    )
    dnc_service = None
    if summary.get("dnc_service_id") is not None:
        dnc_service = await dnc_services.get_service(actor, summary["dnc_service_id"])
    return {
        "campaign": summary,
        "amd_preset": campaign_amd.preset_label(
            (summary.get("amd_params") or {}).get("preset") or "", ui.t
        ),
        "dnc_service": dnc_service,
        "counts": counts,
        "statuses": statuses,
        "chart": chart,
        "day": summary["next_schedule"],
        "today": schedules.today_in(summary),
        "group": group_rows.get(summary["group_id"]),
        "hhmm": _hhmm,
        "live": summary["state"] == "STARTED",
        "dialing_view": held_view(await dialing.dialing_state(summary), ui.t, actor.role),
        "poll_s": SUMMARY_POLL_S,
        "pacing": summary["pacing"],
        "pacing_view": campaign_pacing.summary_view(
            summary["pacing"], ui.t, actor.role, summary["type"]
        ),
        "short_calls": summary["short_calls"],
        "short_calls_view": campaign_pacing.short_calls_view(summary["short_calls"], ui.t),
        "message_seconds": campaign_pacing.message_seconds(summary, ui.t),
        "status_labels": LEAD_STATUS_LABELS,
        "state_labels": STATE_LABELS,
        "compliance_labels": campaign_compliance_page.PRESET_LABELS,
    }


@get("/campaigns/{campaign_id:int}/summary")
async def summary_page(ui: NamedDependency[UI], campaign_id: FromPath[int]) -> Template:
    context = await _summary_context(ui, campaign_id)
    compliance = await compliance_summary.daily_compliance(ui.require_tab("campaigns"), campaign_id)
    return ui.render("campaigns/summary.html", **context, compliance=compliance)


@get("/campaigns/{campaign_id:int}/summary/panel")
async def summary_panel(ui: NamedDependency[UI], campaign_id: FromPath[int]) -> Template:
    """The part of the summary htmx polls while the campaign runs."""
    return ui.render("campaigns/summary_panel.html", **await _summary_context(ui, campaign_id))


ROUTES: list[Any] = [
    schedules_page,
    schedule_modal,
    schedule_submit,
    edit_day,
    update_day,
    confirm_delete_day,
    delete_day,
    summary_page,
    summary_panel,
]
