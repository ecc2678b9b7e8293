"""Do-Not-Call: the services (Embedded Service first, not editable), loading the
embedded list from a file, and adding/editing/deleting external services."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from opendialer.admin_ui.i18n import translate_code, translate_error
from opendialer.admin_ui.pages.common import done, errors_of, text
from opendialer.admin_ui.pages.leads import _save_upload
from opendialer.admin_ui.pages.session import UI
from opendialer.core.services import dnc_numbers, dnc_services
from opendialer.core.services.common import MAX_PER_PAGE, PageRequest
from opendialer.core.services.errors import Conflict, ServiceError

#: National lists run to tens of millions of numbers.
MAX_DNC_UPLOAD_BYTES = 1024 * 1024 * 1024
#: Every field of the external-service modal.
SERVICE_FIELDS = ("name", "url", "timeout_ms", "insecure")


async def list_services(ui: UI) -> list[dict[str, Any]]:
    """Every service, the Embedded Service first."""
    assert ui.actor is not None
    listing = await dnc_services.list_services(ui.actor, PageRequest(per_page=MAX_PER_PAGE))
    return sorted(listing["items"], key=lambda s: (not s["builtin"], s["name"]))


@get("/dnc")
async def dnc_page(ui: NamedDependency[UI]) -> Template:
    actor = ui.require_tab("dnc")
    return ui.render(
        "dnc/list.html",
        services=await list_services(ui),
        may_manage=actor.role in dnc_services.MANAGE_ROLES,
    )


@post("/dnc/upload", status_code=200, request_max_body_size=MAX_DNC_UPLOAD_BYTES)
async def upload_list(request: Request[Any, Any, Any], ui: NamedDependency[UI]) -> Template:
    actor = ui.require_tab("dnc")
    form = await request.form()
    upload = form.get("file")
    context: dict[str, Any] = {"report": None, "error": "", "rows": []}
    if not isinstance(upload, UploadFile) or not upload.filename:
        context["error"] = ui._("Choose a list file to upload.")
        return ui.render("dnc/upload_result.html", **context)
    path = await asyncio.to_thread(_save_upload, upload)
    try:
        report = await dnc_numbers.import_numbers(
            actor,
            path,
            replace=form.get("mode") != "append",
            skip_invalid=form.get("skip_invalid") == "1",
        )
        context["report"] = report.as_dict()
    except ServiceError as exc:
        context["error"] = translate_error(exc, ui.t)
        invalid: Any = exc.extra.get("invalid") or []
        context["rows"] = [
            {**i, "reason": translate_code(str(i["code"]), i.get("params") or {}, ui.t)}
            for i in invalid
        ]
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
    return ui.render("dnc/upload_result.html", **context)


def _service_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"name": text(form, "name"), "url": text(form, "url")}
    timeout = text(form, "timeout_ms")
    values["timeout_ms"] = int(timeout) if timeout.isdigit() else timeout
    values["insecure"] = form.get("insecure") == "1"
    return values


def _service_modal(
    ui: UI, service: dict[str, Any], errors: dict[str, str], *, editing: bool
) -> Template:
    return ui.render("dnc/form.html", service=service, errors=errors, editing=editing)


@get("/dnc/services/new")
async def new_service(ui: NamedDependency[UI]) -> Template:
    ui.require_tab("dnc")
    blank = {"name": "", "url": "https://", "timeout_ms": 2000, "insecure": False}
    return _service_modal(ui, blank, {}, editing=False)


@post("/dnc/services", status_code=200)
async def create_service(
    request: Request[Any, Any, Any], ui: NamedDependency[UI]
) -> Response[Any] | Template:
    actor = ui.require_tab("dnc")
    values = _service_values(await request.form())
    try:
        await dnc_services.create_service(actor, {**values, "kind": "http"})
    except ServiceError as exc:
        errors = errors_of(exc, ui.t, SERVICE_FIELDS)
        return _service_modal(ui, values, errors, editing=False)  # as typed
    return done(request, "/dnc", "dnc_saved")


@get("/dnc/services/{service_id:int}/edit")
async def edit_service(ui: NamedDependency[UI], service_id: FromPath[int]) -> Template:
    actor = ui.require_tab("dnc")
    service = await dnc_services.get_service(actor, service_id)
    if service.get("builtin"):
        return ui.render(
            "partials/error_modal.html",
            title=ui._("Embedded Service"),
            message=ui._("The Embedded Service is not editable: load its list from a file."),
        )
    return _service_modal(ui, service, {}, editing=True)


@post("/dnc/services/{service_id:int}", status_code=200)
async def update_service(
    request: Request[Any, Any, Any], ui: NamedDependency[UI], service_id: FromPath[int]
) -> Response[Any] | Template:
    actor = ui.require_tab("dnc")
    values = _service_values(await request.form())
    try:
        await dnc_services.update_service(actor, service_id, values)
    except ServiceError as exc:
        errors = errors_of(exc, ui.t, SERVICE_FIELDS)
        return _service_modal(ui, {**values, "id": service_id}, errors, editing=True)
    return done(request, "/dnc", "dnc_saved")


@get("/dnc/services/{service_id:int}/delete")
async def confirm_delete_service(ui: NamedDependency[UI], service_id: FromPath[int]) -> Template:
    """The confirmation: the service's name, or why it cannot go (the Embedded Service;
    campaigns that use it, named)."""
    actor = ui.require_tab("dnc")
    try:
        impact = await dnc_services.deletion_preview(actor, service_id)
    except Conflict as exc:
        return ui.render(
            "partials/error_modal.html",
            title=ui._("Delete Do-Not-Call service"),
            message=translate_error(exc, ui.t),
        )
    return ui.render("dnc/delete.html", impact=impact)


@post("/dnc/services/{service_id:int}/delete", status_code=200)
async def delete_service(
    request: Request[Any, Any, Any], ui: NamedDependency[UI], service_id: FromPath[int]
) -> Response[Any] | Template:
    actor = ui.require_tab("dnc")
    try:
        await dnc_services.delete_service(actor, service_id)
    except Conflict as exc:
        return ui.render(
            "partials/error_modal.html",
            title=ui._("Delete Do-Not-Call service"),
            message=translate_error(exc, ui.t),
        )
    return done(request, "/dnc", "dnc_deleted")


ROUTES: list[Any] = [
    dnc_page,
    upload_list,
    new_service,
    create_service,
    edit_service,
    update_service,
    confirm_delete_service,
    delete_service,
]
