"""The HTML admin: server-rendered Jinja2 pages with htmx, on top of ``core/services``.

``create_app`` registers :data:`PAGE_ROUTES` (the pages and ``/static``) and
:func:`template_config`. Every page needs a browser session; state-changing
requests carry the CSRF token (``X-CSRF-Token`` from htmx, or a ``csrf_token``
form field).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from opendialer.admin_ui.dates import country_filter, day_filter, percent_filter
from opendialer.admin_ui.i18n import N_
from opendialer.admin_ui.pages import (
    audit,
    calls,
    campaign_compliance,
    campaigns,
    dnc,
    groups,
    leads,
    login,
    platform,
    routing,
    schedules,
    system,
    users,
)
from opendialer.admin_ui.pages.common import PAGE_EXCEPTION_HANDLERS
from opendialer.admin_ui.pages.session import provide_ui

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
#: Texts of the rows the product itself seeds (migration m0002), shown translated
#: while they are unchanged: the default group's name and description are data, but
#: ours, and an admin working in Spanish should not meet English there. Renamed, the
#: group's name is the admin's and is shown as typed.
SEEDED_TEXTS = frozenset({N_("Default Dialer Group"), N_("Created at installation")})


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html", "svg"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Shown on several pages: weekday names and the texts of the rows the product seeds.
    environment.globals["weekday_labels"] = campaigns.WEEKDAY_LABELS
    environment.globals["seeded_texts"] = SEEDED_TEXTS
    environment.filters["day"] = day_filter  # dates as the viewer's language writes them
    environment.filters["percent"] = percent_filter  # and percentages
    environment.filters["country"] = country_filter  # and a region code's country
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


def _page_router() -> Router:
    handlers: list[Any] = [
        *login.ROUTES,
        *users.ROUTES,
        *groups.ROUTES,
        *campaigns.ROUTES,
        *schedules.ROUTES,
        *campaign_compliance.ROUTES,
        *leads.ROUTES,
        *calls.ROUTES,
        *audit.ROUTES,
        *dnc.ROUTES,
        *system.ROUTES,
        *platform.ROUTES,
        *routing.ROUTES,
    ]
    return Router(
        path="/",
        route_handlers=handlers,
        dependencies={"ui": Provide(provide_ui)},
        exception_handlers=PAGE_EXCEPTION_HANDLERS,
        include_in_schema=False,
    )


PAGE_ROUTES: list[Any] = [
    _page_router(),
    create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        cache_control=CacheControlHeader(max_age=3600),
        include_in_schema=False,
    ),
]
