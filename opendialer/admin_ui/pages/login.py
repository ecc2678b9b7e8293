"""Log in and out of the HTML admin, and the language choice.

The session is the same one the JSON API accepts: ``od_session`` (HttpOnly) and
the readable ``od_csrf`` cookie whose value ``static/app.js`` sends in
``X-CSRF-Token`` with every htmx request.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from opendialer.admin_ui.auth import CSRF_COOKIE, SESSION_COOKIE
from opendialer.admin_ui.i18n import LANGUAGES, translate_error
from opendialer.admin_ui.pages.common import done, text
from opendialer.admin_ui.pages.session import (
    LANGUAGE_COOKIE,
    UI,
    anonymous_language,
    first_page,
    language_cookie,
    provide_anonymous_ui,
    secure,
    session_actor,
)
from opendialer.core.services import auth, login_throttle, users
from opendialer.core.services.common import Actor
from opendialer.core.services.errors import ServiceError

ANONYMOUS = {"ui": Provide(provide_anonymous_ui)}


def _safe_next(target: str) -> str:
    """Only same-site paths: ``next`` must not send the user to another site."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return ""


def _session_cookies(request: Request[Any, Any, Any], token: str) -> list[Cookie]:
    max_age = int(auth.SESSION_TTL.total_seconds()) if token else 0
    csrf = auth.csrf_token_for(token) if token else ""
    common: dict[str, Any] = {
        "path": "/",
        "samesite": "lax",
        "secure": secure(request),
        "max_age": max_age,
    }
    return [
        Cookie(key=SESSION_COOKIE, value=token, httponly=True, **common),
        Cookie(key=CSRF_COOKIE, value=csrf, httponly=False, **common),
    ]


@get("/", dependencies=ANONYMOUS)
async def start_page(request: Request[Any, Any, Any]) -> Redirect:
    actor = await session_actor(request)
    return Redirect(first_page(actor.role) if actor else "/login", status_code=303)


@get("/login", dependencies=ANONYMOUS)
async def login_page(ui: NamedDependency[UI], next: FromQuery[str] = "") -> Template:
    return ui.render("login.html", error="", username="", next=_safe_next(next))


async def _authenticate(request: Request[Any, Any, Any], username: str, password: str) -> Actor:
    """The same throttle as ``POST /api/v1/auth/login`` when the app has one."""
    throttle = getattr(request.app.state, "login_throttle", None)
    address = request.client.host if request.client else "unknown"
    return await login_throttle.authenticate(throttle, username, password, address)


@post("/login", dependencies=ANONYMOUS, status_code=200)
async def login_submit(request: Request[Any, Any, Any], ui: NamedDependency[UI]) -> Response[Any]:
    form = await request.form()
    username = text(form, "username")
    password = form.get("password") or ""
    target = _safe_next(text(form, "next"))
    try:
        actor = await _authenticate(request, username, password)
    except ServiceError as exc:
        return ui.render(
            "login.html",
            status_code=exc.status,
            error=translate_error(exc, ui.t),
            username=username,
            next=target,
        )
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES and chosen != actor.language:
        await users.set_language(actor, chosen)  # the login page's choice is remembered
    else:  # a user whose language nobody chose reads the browser's from now on
        await users.adopt_language(actor, anonymous_language(request) or "en")
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        await auth.revoke(previous)
    issued = await auth.issue(actor, auth.SESSION)
    return Redirect(
        target or first_page(actor.role),
        status_code=303,
        cookies=_session_cookies(request, issued.token),
    )


@post("/logout", dependencies=ANONYMOUS, status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    token = request.cookies.get(SESSION_COOKIE)
    form = await request.form()
    if token and not auth.csrf_matches(token, form.get("csrf_token")):
        # Not from our page (a forged form): the session stays as it is.
        return Redirect("/", status_code=303)
    if token:
        await auth.revoke(token)
    return Redirect("/login", status_code=303, cookies=_session_cookies(request, ""))


@post("/language", status_code=303)
async def change_language(
    request: Request[Any, Any, Any], ui: NamedDependency[UI]
) -> Response[Any]:
    """Remember the language for the user (every page, message and error follows it)."""
    form = await request.form()
    language = text(form, "language")
    assert ui.actor is not None
    await users.set_language(ui.actor, language)
    response = done(request, _safe_next(text(form, "next")) or "/", "language_changed")
    response.cookies.append(language_cookie(language, request))
    return response


ROUTES: list[Any] = [start_page, login_page, login_submit, logout, change_language]
