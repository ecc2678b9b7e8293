"""Who is looking at a page, in which language, and which tabs they get.

A page handler declares ``ui: NamedDependency[UI]``; :func:`provide_ui` resolves the browser
session (the same ``od_session`` cookie the JSON API accepts), checks the CSRF
token on every state-changing request, and raises :class:`LoginRequired` (a
redirect to the login page) when there is no valid session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Template

from opendialer.admin_ui.auth import CSRF_COOKIE, CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE
from opendialer.admin_ui.i18n import (
    HTML_LANG,
    LANGUAGES,
    N_,
    Translator,
    from_accept_language,
    translator,
)
from opendialer.core.domain import Role
from opendialer.core.services import auth
from opendialer.core.services.common import Actor
from opendialer.core.services.errors import NotAuthenticated, PermissionDenied

LANGUAGE_COOKIE = "od_lang"
FLASH_COOKIE = "od_flash"


@dataclass(frozen=True, slots=True)
class Tab:
    key: str
    label: str
    path: str


TABS = {
    "users": Tab("users", N_("Dialer Users"), "/users"),
    "groups": Tab("groups", N_("Dialer Groups"), "/groups"),
    "campaigns": Tab("campaigns", N_("Campaign Management"), "/campaigns"),
    "dnc": Tab("dnc", N_("Do-Not-Call"), "/dnc"),
    "system": Tab("system", N_("System"), "/system"),
}

#: The error code of a tab the role does not see (one message per tab, so that each
#: language words the tab's name its own way).
TAB_DENIED = {
    "users": "tab.users_denied",
    "groups": "tab.groups_denied",
    "campaigns": "tab.campaigns_denied",
    "dnc": "tab.dnc_denied",
    "system": "tab.system_denied",
}

#: The tabs each role sees, in the order of the header. The services enforce the
#: same rules server-side; hiding a tab is only a courtesy.
TABS_BY_ROLE: dict[Role, tuple[str, ...]] = {
    Role.MASTER: ("users", "groups", "dnc", "system"),
    Role.MANAGER: ("users", "groups"),
    Role.CAMPAIGN_ADMIN: ("campaigns", "dnc"),
    Role.CAMPAIGN_SUPERVISOR: ("campaigns",),
}

ROLE_LABELS: dict[str, str] = {
    Role.MASTER.value: N_("Master"),
    Role.MANAGER.value: N_("Manager"),
    Role.CAMPAIGN_ADMIN.value: N_("Campaign Administrator"),
    Role.CAMPAIGN_SUPERVISOR.value: N_("Campaign Supervisor"),
}

#: Messages shown once after a redirect (the cookie carries only the key).
FLASH_MESSAGES: dict[str, str] = {
    "user_created": N_("User created."),
    "user_updated": N_("User updated."),
    "user_deleted": N_("User deleted."),
    "group_created": N_("Group created."),
    "group_updated": N_("Group updated."),
    "campaign_created": N_("Campaign created."),
    "campaign_updated": N_("Campaign updated."),
    "campaign_hours_updated": N_(
        "Campaign updated. Today's and later schedule days that have not run yet now use "
        "the new working hours; past days and days that ran keep theirs."
    ),
    "campaign_started": N_("Campaign started."),
    "campaign_stopped": N_("Campaign stopped."),
    "campaign_deleted": N_("Campaign deleted."),
    "schedules_updated": N_("Schedules updated."),
    "schedule_added": N_("Schedule added."),
    "schedule_updated": N_("Schedule updated."),
    "schedule_deleted": N_("Schedule deleted."),
    "lead_updated": N_("Lead updated."),
    "lead_deleted": N_("Lead deleted."),
    "dnc_saved": N_("Do-Not-Call service saved."),
    "dnc_deleted": N_("Do-Not-Call service deleted."),
    "language_changed": N_("Language changed."),
}


class LoginRequired(Exception):
    """No valid session: the page handler's exception handler redirects to /login."""


def first_page(role: Role) -> str:
    return TABS[TABS_BY_ROLE[role][0]].path


@dataclass
class UI:
    """Everything a page needs about its viewer."""

    request: Request[Any, Any, Any]
    actor: Actor | None
    t: Translator
    csrf_token: str = ""
    flash: str = ""
    cookies: list[Cookie] = field(default_factory=list)

    @property
    def tabs(self) -> list[Tab]:
        if self.actor is None:
            return []
        return [TABS[key] for key in TABS_BY_ROLE[self.actor.role]]

    def may_see(self, tab: str) -> bool:
        return self.actor is not None and tab in TABS_BY_ROLE[self.actor.role]

    def require_tab(self, tab: str) -> Actor:
        if self.actor is None:
            raise LoginRequired
        if not self.may_see(tab):
            raise PermissionDenied(TAB_DENIED[tab])
        return self.actor

    def _(self, message: str, **values: Any) -> str:
        return self.t.gettext(message, **values)

    def render(self, template: str, *, status_code: int = 200, **context: Any) -> Template:
        base: dict[str, Any] = {
            "ui": self,
            "actor": self.actor,
            "tabs": self.tabs,
            "csrf_token": self.csrf_token,
            "flash": self.flash,
            "languages": LANGUAGES,
            "html_lang": HTML_LANG[self.t.language],
            "role_labels": ROLE_LABELS,
            "path": self.request.url.path,
        }
        base.update(self.t.template_globals())
        base.update(context)
        cookies = list(self.cookies)
        if self.flash:
            cookies.append(Cookie(key=FLASH_COOKIE, value="", max_age=0, path="/"))
        return Template(template, context=base, status_code=status_code, cookies=cookies)


def _flash(request: Request[Any, Any, Any], t: Translator) -> str:
    key = request.cookies.get(FLASH_COOKIE, "")
    return t.gettext(FLASH_MESSAGES[key]) if key in FLASH_MESSAGES else ""


async def _presented_csrf(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("csrf_token")
        return value if isinstance(value, str) else None
    return None


async def session_actor(request: Request[Any, Any, Any]) -> Actor | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return await auth.resolve(token, auth.SESSION)
    except (NotAuthenticated, PermissionDenied):
        return None


async def provide_ui(request: Request[Any, Any, Any]) -> UI:
    """The logged-in viewer of a page (or LoginRequired)."""
    actor = await session_actor(request)
    if actor is None:
        raise LoginRequired
    request.state.language = actor.language
    token = request.cookies.get(SESSION_COOKIE, "")
    if request.method not in SAFE_METHODS and not auth.csrf_matches(
        token, await _presented_csrf(request)
    ):
        raise PermissionDenied("auth.csrf_page", error="csrf_failed", cookie=CSRF_COOKIE)
    t = translator(actor.language)
    return UI(request, actor, t, auth.csrf_token_for(token), _flash(request, t))


def anonymous_language(request: Request[Any, Any, Any]) -> str | None:
    """The language of a page shown before login: the od_lang cookie (a choice made on
    the login page), else the browser's ``Accept-Language`` (None: neither names one)."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return from_accept_language(request.headers.get("accept-language"))


async def provide_anonymous_ui(request: Request[Any, Any, Any]) -> UI:
    """For the login page: the language comes from ``?lang=``, the od_lang cookie, or
    the browser's ``Accept-Language``, in that order."""
    requested = request.query_params.get("lang")
    cookies: list[Cookie] = []
    if requested in LANGUAGES:
        cookies.append(language_cookie(requested, request))
        language = requested
    else:
        language = anonymous_language(request) or "en"
    t = translator(language)
    request.state.language = t.language
    return UI(request, None, t, flash=_flash(request, t), cookies=cookies)


def secure(request: Request[Any, Any, Any]) -> bool:
    return request.url.scheme == "https"


def language_cookie(language: str, request: Request[Any, Any, Any]) -> Cookie:
    return Cookie(
        key=LANGUAGE_COOKIE,
        value=language,
        max_age=365 * 24 * 3600,
        path="/",
        samesite="lax",
        secure=secure(request),
        httponly=True,
    )


def login_url(request: Request[Any, Any, Any]) -> str:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if target in ("/", "/login"):
        return "/login"
    return "/login?next=" + quote(target, safe="")
