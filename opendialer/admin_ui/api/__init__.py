"""The JSON API under ``/api/v1``. Each module exports a ``ROUTES`` list of
handlers or controllers; add a module's import here to serve it."""

from __future__ import annotations

from typing import Any


def api_routes() -> list[Any]:
    from opendialer.admin_ui.api import (
        audit,
        auth,
        calls,
        campaign_compliance,
        campaign_messages,
        campaign_pacing,
        campaigns,
        dnc_numbers,
        dnc_services,
        groups,
        leads,
        platform,
        routing,
        schedules,
        users,
    )

    routes: list[Any] = []
    modules = (
        auth,
        users,
        groups,
        dnc_services,
        dnc_numbers,
        campaigns,
        campaign_pacing,
        campaign_messages,
        campaign_compliance,
        schedules,
        leads,
        calls,
        audit,
        platform,
        routing,
    )
    for module in modules:
        routes.extend(module.ROUTES)
    return routes
