"""The Litestar application: HTML admin, JSON API, DNC web service, health."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router, get
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.response import File

import opendialer
from opendialer.admin_ui.api import api_routes
from opendialer.admin_ui.api.common import provide_page_request
from opendialer.admin_ui.api.openapi_docs import document_error_responses
from opendialer.admin_ui.api.schema_pages import SCHEMA_PATH, OfflineSwagger
from opendialer.admin_ui.auth import provide_actor
from opendialer.admin_ui.donotcall import DONOTCALL_ROUTES
from opendialer.admin_ui.errors import EXCEPTION_HANDLERS
from opendialer.admin_ui.json_nesting import refuse_deep_json
from opendialer.admin_ui.pages import PAGE_ROUTES, STATIC_DIR, template_config
from opendialer.admin_ui.security import add_security_headers
from opendialer.core import config, dnc
from opendialer.core.runtime.metrics_http import (
    ACCESS_KEY,
    MetricsAccess,
    healthz,
    metrics_endpoint,
    metrics_lifespan,
)
from opendialer.core.services.login_throttle import LoginThrottle
from opendialer.core.storage import Database, connect
from opendialer.sdk.contracts import MetricsExporter

API_PREFIX = "/api/v1"


@get(
    "/favicon.ico",
    include_in_schema=False,
    sync_to_thread=False,
    cache_control=CacheControlHeader(max_age=86400),
)
def favicon() -> File:
    """Browsers ask for it at the root whatever the page says (pages also link the SVG)."""
    return File(
        STATIC_DIR / "favicon.ico", media_type="image/x-icon", content_disposition_type="inline"
    )


def unguarded_api_routes(app: Litestar) -> list[str]:
    """API handlers that neither take the ``actor`` (authentication, then the service's
    permission rules) nor say ``opt={"public": True}``: "no route without an explicit
    permission" is checked when the app is built, not left to review."""
    missing = []
    for route in app.routes:
        if not route.path.startswith(API_PREFIX):
            continue
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler) or handler.opt.get("public"):
                continue
            if handler.http_methods == {"OPTIONS"}:
                continue  # Litestar's automatic OPTIONS answer: says Allow, touches nothing
            if "actor" not in inspect.signature(handler.fn).parameters:
                methods = ",".join(sorted(handler.http_methods))
                missing.append(f"{methods} {route.path}")
    return missing


def create_app(
    database_url: str | None = None,
    *,
    database: Database | None = None,
    debug: bool = False,
    metrics: MetricsExporter | None = None,
) -> Litestar:
    """Build the app. It opens ``database_url`` (default: the configured one) at start-up,
    unless an already open ``database`` is handed in (tests). ``metrics``: the process's
    exporter when the engine shares it (``serve --role all``); else the app builds one."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if database is not None:
            app.state.db = database
            yield
            return
        db = await connect(database_url or config.database_url())
        app.state.db = db
        try:
            yield
        finally:
            # DNC providers poll the database for list changes: stop them first.
            await dnc.close_all()
            await db.close()

    api = Router(
        path=API_PREFIX,
        route_handlers=api_routes(),
        dependencies={
            "actor": Provide(provide_actor),
            "page_request": Provide(provide_page_request, sync_to_thread=False),
        },
    )
    app = Litestar(
        route_handlers=[healthz, favicon, metrics_endpoint, api, *PAGE_ROUTES, *DONOTCALL_ROUTES],
        template_config=template_config(),
        lifespan=[lifespan, metrics_lifespan(metrics)],
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=refuse_deep_json,
        before_send=[add_security_headers],
        state=State(
            {"login_throttle": LoginThrottle.from_env(), ACCESS_KEY: MetricsAccess.from_env()}
        ),
        debug=debug,
        # Logging is configured once by opendialer.core.logs (structured, rotating files);
        # Litestar's default config would replace the root handlers with its own.
        logging_config=None,
        openapi_config=OpenAPIConfig(
            title="OpenDialer",
            version=opendialer.__version__,
            path=SCHEMA_PATH,
            # Swagger UI from the app's own files (offline); the JSON schema is added by
            # Litestar. No viewer that loads from a CDN.
            render_plugins=[OfflineSwagger()],
        ),
    )
    document_error_responses(app, API_PREFIX)
    missing = unguarded_api_routes(app)
    if missing:
        raise RuntimeError(
            "API routes without a permission: add an `actor: NamedDependency[Actor]` parameter "
            '(the service decides) or opt={"public": True}: ' + "; ".join(missing)
        )
    return app
