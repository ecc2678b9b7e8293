"""Dialer Users: table with pagination, +Add User and Edit modals, Delete confirmation."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from opendialer.admin_ui.pages.common import done, errors_of, int_list, text
from opendialer.admin_ui.pages.session import UI
from opendialer.core.domain import Role
from opendialer.core.services import groups, passwords, users
from opendialer.core.services.common import Actor, PageRequest
from opendialer.core.services.errors import FieldErrors, ServiceError, ValidationFailed

PER_PAGE_CHOICES = (10, 25, 50, 100)
#: Every field of the user modal.
FORM_FIELDS = (
    "username",
    "password",
    "password_confirm",
    "first_name",
    "last_name",
    "role",
    "group_ids",
    "language",
)


def assignable_roles(actor: Actor) -> list[str]:
    if actor.role is Role.MASTER:
        return [r.value for r in Role]
    return [r.value for r in users.MANAGER_MAY_CREATE]


async def _groups(actor: Actor) -> list[dict[str, Any]]:
    return list((await groups.list_groups(actor))["items"])


def _form_values(form: Any) -> dict[str, Any]:
    values = {
        "username": text(form, "username"),
        "first_name": text(form, "first_name"),
        "last_name": text(form, "last_name"),
        "role": text(form, "role"),
        "group_ids": int_list(form, "group_ids"),
    }
    # a form without the field (an older page, a script) keeps the default: the
    # creator's language for a new user, the user's own when editing
    if language := text(form, "language"):
        values["language"] = language
    return values


async def _modal(
    ui: UI, actor: Actor, user: dict[str, Any], errors: dict[str, str], *, editing: bool
) -> Template:
    return ui.render(
        "users/form.html",
        user=user,
        errors=errors,
        editing=editing,
        groups=await _groups(actor),
        roles=assignable_roles(actor),
        may_set_password=not editing or actor.role is Role.MASTER,
    )


@get("/users")
async def users_page(
    ui: NamedDependency[UI], page: FromQuery[int] = 1, per_page: FromQuery[int] = 10
) -> Template:
    actor = ui.require_tab("users")
    per_page = per_page if per_page in PER_PAGE_CHOICES else 10
    request = PageRequest(page=max(page, 1), per_page=per_page)
    listing = await users.list_users(actor, request)
    return ui.render(
        "users/list.html",
        listing=listing,
        group_names={g["id"]: g["name"] for g in await _groups(actor)},
        page=request.page,
        per_page=per_page,
    )


@get("/users/new")
async def new_user(ui: NamedDependency[UI]) -> Template:
    actor = ui.require_tab("users")
    blank = {
        "username": "",
        "first_name": "",
        "last_name": "",
        "role": "",
        "group_ids": [],
        "language": actor.language,  # a new user reads the pages in the creator's language
    }
    return await _modal(ui, actor, blank, {}, editing=False)


def _confirmed_password(form: Any, problems: FieldErrors) -> str:
    """The password typed; a different confirmation is one more error of the form."""
    password = form.get("password") or ""
    if password != (form.get("password_confirm") or ""):
        problems.add(ValidationFailed("password.mismatch", field="password_confirm"))
    return str(password)


@post("/users", status_code=200)
async def create_user(
    request: Request[Any, Any, Any], ui: NamedDependency[UI]
) -> Response[Any] | Template:
    actor = ui.require_tab("users")
    form = await request.form()
    values = _form_values(form)
    problems = FieldErrors()
    password = _confirmed_password(form, problems)
    try:
        await users.create_user(actor, {**values, "password": password}, found=problems)
    except ServiceError as exc:
        errors = errors_of(exc, ui.t, FORM_FIELDS)
        return await _modal(ui, actor, values, errors, editing=False)
    return done(request, "/users", "user_created")


@get("/users/{user_id:int}/edit")
async def edit_user(ui: NamedDependency[UI], user_id: FromPath[int]) -> Template:
    actor = ui.require_tab("users")
    return await _modal(ui, actor, await users.get_user(actor, user_id), {}, editing=True)


@post("/users/{user_id:int}", status_code=200)
async def update_user(
    request: Request[Any, Any, Any], ui: NamedDependency[UI], user_id: FromPath[int]
) -> Response[Any] | Template:
    actor = ui.require_tab("users")
    form = await request.form()
    values = _form_values(form)
    shown = {**values, "id": user_id}
    problems = FieldErrors()
    try:
        password = _confirmed_password(form, problems)
        current = await users.get_user(actor, user_id)
        changes = {k: v for k, v in values.items() if v != current.get(k)}
        if actor.role is Role.MANAGER and "group_ids" in changes:
            # A Manager's picker lists only its groups; keep the user's others.
            changes["group_ids"] = values["group_ids"]
        if password:
            # Every check before any write: the new password with the other fields.
            users.require_password_resetter(actor)
            username = values["username"] or current["username"]
            problems.check(passwords.check_policy, password, username)
        if changes:
            await users.update_user(actor, user_id, changes, found=problems)
        problems.raise_if_any()
        if password:
            await users.reset_password(actor, user_id, password)
    except ServiceError as exc:
        errors = errors_of(exc, ui.t, FORM_FIELDS)
        return await _modal(ui, actor, shown, errors, editing=True)
    return done(request, "/users", "user_updated")


@get("/users/{user_id:int}/delete")
async def confirm_delete(ui: NamedDependency[UI], user_id: FromPath[int]) -> Template:
    actor = ui.require_tab("users")
    return ui.render("users/delete.html", user=await users.get_user(actor, user_id), errors={})


@post("/users/{user_id:int}/delete", status_code=200)
async def delete_user(
    request: Request[Any, Any, Any], ui: NamedDependency[UI], user_id: FromPath[int]
) -> Response[Any] | Template:
    actor = ui.require_tab("users")
    user = await users.get_user(actor, user_id)
    try:
        await users.delete_user(actor, user_id)
    except ServiceError as exc:
        return ui.render("users/delete.html", user=user, errors=errors_of(exc, ui.t, ()))
    return done(request, "/users", "user_deleted")


ROUTES: list[Any] = [
    users_page,
    new_user,
    create_user,
    edit_user,
    update_user,
    confirm_delete,
    delete_user,
]
