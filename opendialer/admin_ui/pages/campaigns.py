"""Campaign Management: the list (run/stop, ⋮ menu), +Add Campaign and Edit modals."""

from __future__ import annotations

import unicodedata
from datetime import date, time
from functools import lru_cache
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from opendialer.admin_ui.held_text import held_view
from opendialer.admin_ui.i18n import N_
from opendialer.admin_ui.pages import campaign_amd, campaign_pacing
from opendialer.admin_ui.pages.common import done, errors_of, text
from opendialer.admin_ui.pages.routing import pages as routing_pages
from opendialer.admin_ui.pages.session import UI
from opendialer.core.domain import WEEKDAYS, CampaignState, Role
from opendialer.core.services import (
    campaign_fields,
    campaign_states,
    campaigns,
    dialing,
    dnc_services,
    groups,
    platform_choice,
    routing_config,
)
from opendialer.core.services.campaign_messages import VOICEMAIL
from opendialer.core.services.common import MAX_PER_PAGE, Actor, PageRequest
from opendialer.core.services.errors import Conflict, ServiceError

WEEKDAY_LABELS = {
    "mon": N_("Mon"),
    "tue": N_("Tue"),
    "wed": N_("Wed"),
    "thu": N_("Thu"),
    "fri": N_("Fri"),
    "sat": N_("Sat"),
    "sun": N_("Sun"),
}
STATE_LABELS = {"STARTED": N_("Started"), "STOPPED": N_("Stopped")}
INT_FIELDS = ("max_attempts", "retry_after_minutes")
TEXT_FIELDS = (
    "name",
    "description",
    "start_date",
    "end_date",
    "start_time",
    "end_time",
    "timezone",
    "pilot_number",
    "queue",
    "default_region",
)

#: Every field of the modal; a service error on another one shows above the form.
FORM_FIELDS = (
    *TEXT_FIELDS,
    *INT_FIELDS,
    "group_id",
    "dnc_service_id",
    "weekdays",
    "type",
    "amd_enabled",
    *campaign_amd.FIELDS,
    *campaign_pacing.FORM_INPUTS,
)


@lru_cache(maxsize=8)
def region_choices(language: str) -> list[tuple[str, str]]:
    """(code, country name in ``language``) of every phone region, by name."""
    import babel
    import phonenumbers

    names = babel.Locale.parse(language).territories
    return sorted(
        ((code, names.get(code, code)) for code in phonenumbers.SUPPORTED_REGIONS),
        key=lambda item: (_folded(item[1]), item[1]),
    )


def _folded(name: str) -> str:
    """``Arábia Saudita`` → ``arabia saudita``: accents and case do not move a name."""
    return "".join(
        c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)
    ).casefold()


@lru_cache(maxsize=1)
def time_zones() -> list[str]:
    """The zones a campaign may have (places and UTC, not ``Factory`` or ``localtime``)."""
    return sorted(campaign_fields.ZONES)


async def dnc_choices(actor: Actor) -> list[dict[str, Any]]:
    """The DNC services a campaign may use (the Embedded Service first)."""
    listing = await dnc_services.list_services(actor, PageRequest(per_page=MAX_PER_PAGE))
    return sorted(listing["items"], key=lambda s: (not s["builtin"], s["name"]))


def blank_campaign() -> dict[str, Any]:
    return {
        "name": "",
        "description": "",
        "group_id": None,
        "start_date": "",
        "end_date": "",
        "start_time": "09:00",
        "end_time": "18:00",
        "timezone": "UTC",
        "default_region": "",
        "weekdays": list(WEEKDAYS[:5]),
        "pilot_number": "",
        "max_attempts": 5,
        "retry_after_minutes": 60,
        "type": "OSCC",
        "queue": "",
        "amd_enabled": True,
        "amd_params": {},
        "dnc_service_id": None,
        **campaign_pacing.BLANK,
    }


def campaign_values(form: Any) -> dict[str, Any]:
    """The modal's fields as the service's input; bad numbers go through as text so the
    service names the field."""
    values: dict[str, Any] = {name: text(form, name) for name in TEXT_FIELDS}
    for name in INT_FIELDS:
        raw = text(form, name)
        values[name] = int(raw) if raw.isdigit() else raw
    group = text(form, "group_id")
    values["group_id"] = int(group) if group.isdigit() else None
    dnc = text(form, "dnc_service_id")
    values["dnc_service_id"] = int(dnc) if dnc.isdigit() else None
    values["weekdays"] = [d for d in form.getall("weekdays", []) if d in WEEKDAYS]
    values["type"] = text(form, "type") or "OSCC"
    values["amd_enabled"] = form.get("amd_enabled") == "1"
    values["amd_params"] = campaign_amd.from_form(form)
    values.update(campaign_pacing.form_values(form))
    return values


def form_errors(exc: ServiceError, ui: UI) -> dict[str, str]:
    return campaign_amd.place_errors(exc, errors_of(exc, ui.t, FORM_FIELDS))


def shown(campaign: dict[str, Any]) -> dict[str, Any]:
    """Dates and times as the HTML inputs want them."""
    out = dict(campaign)
    for key in ("start_date", "end_date"):
        value: Any = out.get(key)
        out[key] = value.isoformat() if isinstance(value, date) else (value or "")
    for key in ("start_time", "end_time"):
        value = out.get(key)
        out[key] = value.strftime("%H:%M") if isinstance(value, time) else (value or "")
    return out


async def _modal(
    ui: UI, actor: Actor, campaign: dict[str, Any], errors: dict[str, str], *, editing: bool
) -> Template:
    return ui.render(
        "campaigns/form.html",
        campaign=shown({**campaign_pacing.BLANK, **campaign}),
        errors=errors,
        editing=editing,
        groups=(await groups.list_groups(actor))["items"],
        dnc_services=await dnc_choices(actor),
        zones=time_zones(),
        regions=region_choices(ui.t.language),
        weekday_labels=WEEKDAY_LABELS,
        amd=campaign_amd.form_view(campaign.get("amd_params") or {}, ui.t),
        pacing=campaign_pacing.form_view(campaign, ui.t),
        voicemail=_voicemail_view(campaign, ui),
        **await routing_context(actor, campaign),
    )


def _voicemail_view(campaign: dict[str, Any], ui: UI) -> dict[str, Any] | None:
    """The campaign's voicemail message as the form shows it (None without one)."""
    message = campaign.get("voicemail_message")
    if not message:
        return None
    return {**message, "seconds": campaign_pacing.seconds(message["duration_ms"], ui.t)}


async def routing_context(actor: Actor, campaign: dict[str, Any]) -> dict[str, Any]:
    """The queue suggestions (the contact center's watched queues and the queues of
    the viewer's campaigns) and, per campaign type whose routing target is not
    configured, a note; the form shows the one of the chosen type."""
    pages = routing_pages()  # where a Master configures each target (pages/routing.py)
    # a campaign naming no target dials the chosen platform's own meanwhile (the
    # simulator's agents: core/engine/routing_targets.py)
    stands_in = (
        None if campaign.get("routing_target") else await platform_choice.own_routing_target()
    )
    notes = [
        {
            "type": kind,
            "target": target,
            "path": pages[target].path if target in pages else "",
            "simulated": stands_in is not None,
        }
        for kind, target in (
            await routing_config.unconfigured_types(campaign.get("routing_target"))
        ).items()
    ]
    listing = await campaigns.list_campaigns(actor, PageRequest(page=1, per_page=MAX_PER_PAGE))
    queues = set(await routing_config.watched_queues())
    queues.update(str(c["queue"]) for c in listing["items"] if c.get("queue"))
    return {
        "routing_notes": notes,
        "queue_choices": sorted(queues),
        "may_configure_routing": actor.is_master,
    }


def run_blocker(campaign: dict[str, Any], group: dict[str, Any] | None, ui: UI) -> str:
    """Why the run button is disabled ('' when it is not)."""
    if campaign["state"] == CampaignState.STOPPED.value and (group is None or not group["enabled"]):
        name = group["name"] if group else f"#{campaign['group_id']}"
        return ui._(
            "The dialer group %(group)s is disabled: its stopped campaigns cannot start.",
            group=name,
        )
    return ""


@get("/campaigns")
async def campaigns_page(
    ui: NamedDependency[UI], page: FromQuery[int] = 1, per_page: FromQuery[int] = 10
) -> Template:
    actor = ui.require_tab("campaigns")
    per_page = per_page if per_page in (10, 25, 50, 100) else 10
    request = PageRequest(page=max(page, 1), per_page=per_page)
    listing = await campaigns.list_campaigns(actor, request)
    group_rows = {g["id"]: g for g in (await groups.list_groups(actor))["items"]}
    states = await dialing.dialing_states(listing["items"])
    rows = [
        {
            **c,
            "group": group_rows.get(c["group_id"]),
            "blocked": run_blocker(c, group_rows.get(c["group_id"]), ui),
            "dialing_view": held_view(states[c["id"]], ui.t, actor.role),
        }
        for c in listing["items"]
    ]
    return ui.render(
        "campaigns/list.html",
        listing=listing,
        rows=rows,
        page=request.page,
        per_page=per_page,
        may_change=actor.role is Role.CAMPAIGN_ADMIN,
        state_labels=STATE_LABELS,
    )


@get("/campaigns/new")
async def new_campaign(ui: NamedDependency[UI]) -> Template:
    actor = ui.require_tab("campaigns")
    campaigns.require_writer(actor)
    blank = blank_campaign()
    recent = await campaigns.recent_timezone(actor)
    # None: the form takes the browser's zone (app.js), UTC when it has none listed.
    blank["timezone"] = recent or "UTC"
    blank["browser_zone"] = recent is None
    enabled = sorted(actor.enabled_group_ids)
    blank["group_id"] = enabled[0] if len(enabled) == 1 else None
    return await _modal(ui, actor, blank, {}, editing=False)


@post("/campaigns", status_code=200, request_max_body_size=campaign_pacing.MAX_FORM_BYTES)
async def create_campaign(
    request: Request[Any, Any, Any], ui: NamedDependency[UI]
) -> Response[Any] | Template:
    actor = ui.require_tab("campaigns")
    form = await request.form()
    values = campaign_values(form)
    upload = await campaign_pacing.read_message(form, ui.t)
    voicemail = await _read_voicemail(form, ui)
    if upload.errors or voicemail.errors:
        both = campaign_pacing.MessageUpload(errors={**upload.errors, **voicemail.errors})
        errors = await campaign_pacing.refused(ui, None, values, both, form_errors)
        return await _modal(ui, actor, values, errors, editing=False)
    # The voicemail message comes with the campaign: "Leave a message" on its first save.
    first_voicemail = (voicemail.audio, voicemail.filename) if voicemail.audio else None
    try:
        created = await campaigns.create_campaign(actor, values, first_voicemail)
    except ServiceError as exc:
        errors = campaign_pacing.choose_again(upload, form_errors(exc, ui), ui.t)
        errors = campaign_pacing.choose_again(voicemail, errors, ui.t)
        return await _modal(ui, actor, values, errors, editing=False)
    await campaign_pacing.apply_message(actor, created["id"], upload)
    return done(request, "/campaigns", "campaign_created")


@get("/campaigns/{campaign_id:int}/edit")
async def edit_campaign(ui: NamedDependency[UI], campaign_id: FromPath[int]) -> Template:
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    campaigns.require_writer(actor)  # "Not allowed" before "stop it first"
    if campaign["state"] == CampaignState.STARTED.value:
        return ui.render(
            "partials/error_modal.html",
            title=ui._("Edit campaign"),
            message=ui._(
                "The campaign %(name)s is running: stop it before changing its settings.",
                name=campaign["name"],
            ),
        )
    return await _modal(ui, actor, campaign, {}, editing=True)


@post(
    "/campaigns/{campaign_id:int}",
    status_code=200,
    request_max_body_size=campaign_pacing.MAX_FORM_BYTES,
)
async def update_campaign(
    request: Request[Any, Any, Any], ui: NamedDependency[UI], campaign_id: FromPath[int]
) -> Response[Any] | Template:
    actor = ui.require_tab("campaigns")
    form = await request.form()
    values = campaign_values(form)
    upload = await campaign_pacing.read_message(form, ui.t)
    voicemail = await _read_voicemail(form, ui)
    before = await campaigns.get_campaign(actor, campaign_id)
    shown_again = {**before, **values, "id": campaign_id}
    if upload.errors or voicemail.errors:
        both = campaign_pacing.MessageUpload(errors={**upload.errors, **voicemail.errors})
        errors = await campaign_pacing.refused(ui, before, values, both, form_errors)
        return await _modal(ui, actor, shown_again, errors, editing=True)
    try:
        # The voicemail message first: choosing leave_message needs it stored.
        await campaign_pacing.apply_message(actor, campaign_id, voicemail, VOICEMAIL)
        after = await campaigns.update_campaign(actor, campaign_id, values)
        await campaign_pacing.apply_message(actor, campaign_id, upload)
    except ServiceError as exc:
        errors = campaign_pacing.choose_again(upload, form_errors(exc, ui), ui.t)
        return await _modal(ui, actor, shown_again, errors, editing=True)
    moved = any(before[k] != after[k] for k in ("start_time", "end_time"))
    return done(request, "/campaigns", "campaign_hours_updated" if moved else "campaign_updated")


async def _read_voicemail(form: Any, ui: UI) -> campaign_pacing.MessageUpload:
    return await campaign_pacing.read_message(
        form, ui.t, campaign_amd.VOICEMAIL_FILE, campaign_amd.VOICEMAIL_REMOVE
    )


async def _change_state(
    request: Request[Any, Any, Any], ui: UI, campaign_id: int, start: bool
) -> Response[Any] | Template:
    actor = ui.require_tab("campaigns")
    try:
        if start:
            await campaign_states.start_campaign(actor, campaign_id)
        else:
            await campaign_states.stop_campaign(actor, campaign_id)
    except Conflict as exc:
        return ui.render(
            "partials/error_modal.html",
            title=ui._("Start campaign") if start else ui._("Stop campaign"),
            message=errors_of(exc, ui.t).popitem()[1],
        )
    return done(request, "/campaigns", "campaign_started" if start else "campaign_stopped")


@post("/campaigns/{campaign_id:int}/start", status_code=200)
async def start_campaign(
    request: Request[Any, Any, Any], ui: NamedDependency[UI], campaign_id: FromPath[int]
) -> Response[Any] | Template:
    return await _change_state(request, ui, campaign_id, True)


@post("/campaigns/{campaign_id:int}/stop", status_code=200)
async def stop_campaign(
    request: Request[Any, Any, Any], ui: NamedDependency[UI], campaign_id: FromPath[int]
) -> Response[Any] | Template:
    return await _change_state(request, ui, campaign_id, False)


def _delete_modal(ui: UI, impact: dict[str, Any], errors: dict[str, str]) -> Template:
    return ui.render("campaigns/campaign_delete.html", impact=impact, errors=errors)


@get("/campaigns/{campaign_id:int}/delete")
async def confirm_delete(ui: NamedDependency[UI], campaign_id: FromPath[int]) -> Template:
    """The confirmation, saying what goes with the campaign (a STARTED one: why not)."""
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    campaigns.require_writer(actor)
    if campaign["state"] == CampaignState.STARTED.value:
        return ui.render(
            "partials/error_modal.html",
            title=ui._("Delete campaign"),
            message=ui._(
                "The campaign %(name)s is running: stop it before deleting it.",
                name=campaign["name"],
            ),
        )
    return _delete_modal(ui, await campaigns.deletion_preview(actor, campaign_id), {})


@post("/campaigns/{campaign_id:int}/delete", status_code=200)
async def delete_campaign(
    request: Request[Any, Any, Any], ui: NamedDependency[UI], campaign_id: FromPath[int]
) -> Response[Any] | Template:
    actor = ui.require_tab("campaigns")
    impact = await campaigns.deletion_preview(actor, campaign_id)
    try:
        await campaigns.delete_campaign(actor, campaign_id)
    except ServiceError as exc:
        return _delete_modal(ui, impact, errors_of(exc, ui.t, ()))
    return done(request, "/campaigns", "campaign_deleted")


ROUTES: list[Any] = [
    campaigns_page,
    new_campaign,
    create_campaign,
    edit_campaign,
    update_campaign,
    start_campaign,
    stop_campaign,
    confirm_delete,
    delete_campaign,
]
