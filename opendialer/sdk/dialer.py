"""Read-only views of the dialer for exporters, and the database for plugin CLIs.

* :func:`dialing_overview` — campaigns, today's schedule state and due leads,
  cluster-wide, in a few cheap queries (cache the answer: an exporter refreshes
  it every few seconds, not per scrape);
* :func:`started_dnc_providers` — the DNC providers this process's web side
  started (the engine's are on its :class:`~opendialer.sdk.EngineView`);
* :func:`open_database` — for a plugin's own CLI command: the configured
  database, migrated, bound for the SDK's storage calls (:mod:`opendialer.sdk.dnc_lists`)
  and closed at the end of the ``async with`` block.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime

from opendialer.core import config, dnc
from opendialer.core.services import dialing_overview as overview_service
from opendialer.core.services.dialing_overview import CampaignOverview, DialingOverview
from opendialer.core.services.errors import ServiceError
from opendialer.core.storage import DatabaseUrlError, connect
from opendialer.core.storage.migrate import migrate
from opendialer.sdk.contracts import DncProvider


async def dialing_overview(now: datetime) -> DialingOverview:
    """Campaigns with today's schedule state (in each campaign's zone) and due leads;
    the DNC services' names by id."""
    return await overview_service.overview(now)


def started_dnc_providers() -> Mapping[int, DncProvider]:
    """The DNC providers running in this process outside the engine, by service id."""
    return dnc.started_providers()


@asynccontextmanager
async def open_database() -> AsyncIterator[str]:
    """Open ``$OPENDIALER_DATABASE_URL`` (or the data directory's SQLite file), apply
    pending migrations, and yield its description (URL without password).

    Raises :class:`DatabaseUrlError` for a URL that cannot be used."""
    db = await connect(config.database_url())
    try:
        await migrate(db)
        yield db.describe()
    finally:
        await db.close()


__all__ = [
    "CampaignOverview",
    "DatabaseUrlError",
    "DialingOverview",
    "ServiceError",
    "dialing_overview",
    "open_database",
    "started_dnc_providers",
]
