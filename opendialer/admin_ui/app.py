"""The Litestar application: HTML admin, JSON API, DNC web service, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, get
from litestar.openapi import OpenAPIConfig

import opendialer
from opendialer.core import config
from opendialer.core.storage import Database, connect


@get("/healthz", sync_to_thread=False, include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok", "version": opendialer.__version__}


def create_app(database_url: str | None = None, *, database: Database | None = None) -> Litestar:
    """Build the app. It opens ``database_url`` (default: the configured one) at start-up,
    unless an already open ``database`` is handed in (tests)."""

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
            await db.close()

    return Litestar(
        route_handlers=[healthz],
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(title="OpenDialer", version=opendialer.__version__),
    )
