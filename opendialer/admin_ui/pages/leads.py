"""A campaign's leads: upload a CSV (with the per-line error report), table, edit."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from opendialer.admin_ui.i18n import N_, translate_code, translate_error
from opendialer.admin_ui.pages.common import done, errors_of, text
from opendialer.admin_ui.pages.schedules import LEAD_STATUS_LABELS
from opendialer.admin_ui.pages.session import UI
from opendialer.core.domain import LeadStatus, Role
from opendialer.core.services import campaigns, lead_import, leads
from opendialer.core.services.common import PageRequest
from opendialer.core.services.errors import ServiceError

#: Largest lead file the upload accepts (a million leads is ~40 MB).
MAX_LEAD_UPLOAD_BYTES = 256 * 1024 * 1024

#: Where a lead's time zone came from (core/services/lead_zones.py).
ZONE_SOURCE_LABELS = {
    "csv": N_("From the file's time zone column"),
    "region": N_("From the file's region column"),
    "number": N_("From the number's area code"),
    "campaign": N_("The campaign's time zone"),
}
#: Why a compliance rule put a lead off (lead.deferred_reason's code).
DEFERRAL_LABELS = {
    "contact_limit_day": N_("the attempts per day allowed for this number"),
    "contact_limit_30d": N_("the attempts in 30 days allowed for this number"),
    "after_abandon": N_("the quiet time after an abandoned call"),
    "after_machine": N_("the gap after an answering machine"),
}


def _save_upload(upload: UploadFile) -> Path:
    """Copy the uploaded (spooled) file to a temporary path; runs in a worker thread."""
    handle = tempfile.NamedTemporaryFile(prefix="leads-", suffix=".csv", delete=False)
    with handle:
        upload.file.seek(0)
        shutil.copyfileobj(upload.file, handle, length=1024 * 1024)
    return Path(handle.name)


#: The CSV columns a row error names (core/services/leads_csv.py), as the page shows them.
FIELD_LABELS: dict[str, str] = {
    "name": N_("Name"),
    "phone": N_("Phone"),
    "description": N_("Description"),
    "row": N_("Whole line"),
}


def translated_rows(errors: list[dict[str, Any]], ui: UI) -> list[dict[str, Any]]:
    rows = []
    for e in errors:
        field = str(e.get("field", ""))
        label = FIELD_LABELS.get(field)
        rows.append(
            {
                **e,
                "field_label": ui._(label) if label else field,
                "reason": translate_code(str(e["code"]), e.get("params") or {}, ui.t),
            }
        )
    return rows


@get("/campaigns/{campaign_id:int}/leads/upload")
async def upload_page(ui: NamedDependency[UI], campaign_id: FromPath[int]) -> Template:
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    campaigns.require_writer(actor)
    return ui.render("campaigns/upload.html", campaign=campaign, result=None, error="", rows=[])


@post(
    "/campaigns/{campaign_id:int}/leads/upload",
    status_code=200,
    request_max_body_size=MAX_LEAD_UPLOAD_BYTES,
)
async def upload_submit(
    request: Request[Any, Any, Any], ui: NamedDependency[UI], campaign_id: FromPath[int]
) -> Template:
    """Answers with the result panel (htmx swaps it under the form)."""
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    form = await request.form()
    upload = form.get("file")
    context: dict[str, Any] = {"campaign": campaign, "result": None, "error": "", "rows": []}
    if not isinstance(upload, UploadFile) or not upload.filename:
        context["error"] = ui._("Choose a CSV file to upload.")
        return ui.render("campaigns/upload_result.html", **context)
    path = await asyncio.to_thread(_save_upload, upload)
    try:
        result = await lead_import.import_file(
            actor, campaign_id, path, skip_invalid=form.get("skip_invalid") == "1"
        )
        context["result"] = result
        context["rows"] = translated_rows(result.get("errors", []), ui)
    except ServiceError as exc:
        context["error"] = translate_error(exc, ui.t)
        errors: Any = exc.extra.get("errors") or []
        context["rows"] = translated_rows(list(errors), ui)
        context["errors_total"] = exc.extra.get("errors_total", len(context["rows"]))
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
    return ui.render("campaigns/upload_result.html", **context)


@get("/campaigns/{campaign_id:int}/leads")
async def leads_page(
    ui: NamedDependency[UI],
    campaign_id: FromPath[int],
    page: FromQuery[int] = 1,
    per_page: FromQuery[int] = 25,
    q: FromQuery[str] = "",
    status: FromQuery[str] = "",
) -> Template:
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    per_page = per_page if per_page in (10, 25, 50, 100) else 25
    status = status if status in {s.value for s in LeadStatus} else ""
    q = q.strip()[: leads.Q_MAX]
    request = PageRequest(page=max(page, 1), per_page=per_page)
    listing = await leads.list_leads(actor, campaign_id, request, status=status or None, q=q)
    filters = {k: v for k, v in (("q", q), ("status", status)) if v}
    return ui.render(
        "campaigns/leads.html",
        campaign=campaign,
        listing=listing,
        page=request.page,
        per_page=per_page,
        q=q,
        status=status,
        filters=filters,
        statuses=[s.value for s in LeadStatus],
        status_labels=LEAD_STATUS_LABELS,
        zone_sources=ZONE_SOURCE_LABELS,
        deferral_labels=DEFERRAL_LABELS,
        may_change=actor.role is Role.CAMPAIGN_ADMIN and campaign["state"] == "STOPPED",
    )


def _lead_modal(
    ui: UI, campaign: dict[str, Any], lead: dict[str, Any], errors: dict[str, str], back: str
) -> Template:
    return ui.render(
        "campaigns/lead_form.html", campaign=campaign, lead=lead, errors=errors, back=back
    )


def _current_page(request: Request[Any, Any, Any]) -> str:
    """The page the modal was opened from (htmx says), to return to its filters."""
    parts = urlsplit(request.headers.get("hx-current-url", ""))
    return parts.path + (f"?{parts.query}" if parts.query else "")


@get("/campaigns/{campaign_id:int}/leads/{lead_id:int}/edit")
async def edit_lead(
    ui: NamedDependency[UI], campaign_id: FromPath[int], lead_id: FromPath[int]
) -> Template:
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    campaigns.require_writer(actor)
    lead = await leads.get_lead(actor, campaign_id, lead_id)
    return _lead_modal(ui, campaign, lead, {}, _current_page(ui.request))


@post("/campaigns/{campaign_id:int}/leads/{lead_id:int}", status_code=200)
async def update_lead(
    request: Request[Any, Any, Any],
    ui: NamedDependency[UI],
    campaign_id: FromPath[int],
    lead_id: FromPath[int],
) -> Response[Any] | Template:
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    form = await request.form()
    values = {name: text(form, name) for name in ("name", "description", "phone")}
    back = text(form, "back")
    try:
        await leads.update_lead(actor, campaign_id, lead_id, values)
    except ServiceError as exc:
        shown = {**values, "id": lead_id}
        return _lead_modal(ui, campaign, shown, errors_of(exc, ui.t), back)
    target = _back_to_leads(campaign_id, back)
    return done(request, target or f"/campaigns/{campaign_id}/leads", "lead_updated")


def _back_to_leads(campaign_id: int, back: str) -> str:
    return back if back.startswith(f"/campaigns/{campaign_id}/leads") else ""


@get("/campaigns/{campaign_id:int}/leads/{lead_id:int}/delete")
async def confirm_delete_lead(
    ui: NamedDependency[UI], campaign_id: FromPath[int], lead_id: FromPath[int]
) -> Template:
    """The confirmation, saying which lead and how many call records go."""
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    lead = await leads.deletion_preview(actor, campaign_id, lead_id)
    return ui.render(
        "campaigns/lead_delete.html",
        campaign=campaign,
        lead=lead,
        errors={},
        back=_current_page(ui.request),
    )


@post("/campaigns/{campaign_id:int}/leads/{lead_id:int}/delete", status_code=200)
async def delete_lead(
    request: Request[Any, Any, Any],
    ui: NamedDependency[UI],
    campaign_id: FromPath[int],
    lead_id: FromPath[int],
) -> Response[Any] | Template:
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    lead = await leads.deletion_preview(actor, campaign_id, lead_id)
    back = text(await request.form(), "back")
    try:
        await leads.delete_lead(actor, campaign_id, lead_id)
    except ServiceError as exc:
        return ui.render(
            "campaigns/lead_delete.html",
            campaign=campaign,
            lead=lead,
            errors=errors_of(exc, ui.t, ()),
            back=back,
        )
    target = _back_to_leads(campaign_id, back) or f"/campaigns/{campaign_id}/leads"
    return done(request, target, "lead_deleted")


ROUTES: list[Any] = [
    upload_page,
    upload_submit,
    leads_page,
    edit_lead,
    update_lead,
    confirm_delete_lead,
    delete_lead,
]
