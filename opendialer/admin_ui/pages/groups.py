"""Dialer Groups: table, +Add Group and Edit modals. Groups are never deleted."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from opendialer.admin_ui.pages.common import done, errors_of, text
from opendialer.admin_ui.pages.session import UI
from opendialer.core.domain import Role
from opendialer.core.services import groups
from opendialer.core.services.errors import ServiceError

#: Every field of the modal.
FORM_FIELDS = ("name", "description", "enabled")


def _modal(ui: UI, group: dict[str, Any], errors: dict[str, str], *, editing: bool) -> Template:
    assert ui.actor is not None
    return ui.render(
        "groups/form.html",
        group=group,
        errors=errors,
        editing=editing,
        only_enable=ui.actor.role is Role.MANAGER,
    )


def _values(form: Any, *, only_enable: bool) -> dict[str, Any]:
    values: dict[str, Any] = {"enabled": form.get("enabled") == "1"}
    if not only_enable:
        values["name"] = text(form, "name")
        values["description"] = text(form, "description")
    return values


@get("/groups")
async def groups_page(ui: NamedDependency[UI]) -> Template:
    actor = ui.require_tab("groups")
    listing = await groups.list_groups(actor)
    return ui.render("groups/list.html", listing=listing, may_create=actor.role is Role.MASTER)


@get("/groups/new")
async def new_group(ui: NamedDependency[UI]) -> Template:
    # A Manager sees the tab but has no Add Group button: opened by hand, the form
    # is refused at once rather than after it has been filled in.
    groups.require_may_create(ui.require_tab("groups"))
    return _modal(ui, {"name": "", "description": "", "enabled": True}, {}, editing=False)


@post("/groups", status_code=200)
async def create_group(
    request: Request[Any, Any, Any], ui: NamedDependency[UI]
) -> Response[Any] | Template:
    actor = ui.require_tab("groups")
    groups.require_may_create(actor)
    values = _values(await request.form(), only_enable=False)
    try:
        await groups.create_group(actor, values)
    except ServiceError as exc:
        return _modal(ui, values, errors_of(exc, ui.t, FORM_FIELDS), editing=False)
    return done(request, "/groups", "group_created")


@get("/groups/{group_id:int}/edit")
async def edit_group(ui: NamedDependency[UI], group_id: FromPath[int]) -> Template:
    actor = ui.require_tab("groups")
    return _modal(ui, await groups.get_group(actor, group_id), {}, editing=True)


@post("/groups/{group_id:int}", status_code=200)
async def update_group(
    request: Request[Any, Any, Any], ui: NamedDependency[UI], group_id: FromPath[int]
) -> Response[Any] | Template:
    actor = ui.require_tab("groups")
    only_enable = actor.role is Role.MANAGER
    values = _values(await request.form(), only_enable=only_enable)
    try:
        await groups.update_group(actor, group_id, values)
    except ServiceError as exc:
        shown = {**await groups.get_group(actor, group_id), **values}
        return _modal(ui, shown, errors_of(exc, ui.t, FORM_FIELDS), editing=True)
    return done(request, "/groups", "group_updated")


ROUTES: list[Any] = [groups_page, new_group, create_group, edit_group, update_group]
