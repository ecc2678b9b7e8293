"""A throw-away PostgreSQL database with the schema and one campaign, for benches.

    async with scratch_database(admin_url) as (url, db):
        campaign_id = await bench_campaign()

The database is created on the server of ``admin_url`` (default
``$OPENDIALER_TEST_POSTGRES_URL``), migrated, bound (``storage.connect``) and
dropped at the end whatever happens (``WITH (FORCE)``: a uvicorn child still
connected does not keep it alive).
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opendialer.core.services import campaigns
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database, connect
from opendialer.core.storage.migrate import migrate
from opendialer.core.storage.tables import DialerGroup

DEFAULT_ADMIN_URL = os.environ.get(
    "OPENDIALER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` on the same server."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@asynccontextmanager
async def scratch_database(
    admin_url: str = DEFAULT_ADMIN_URL, **connect_options: Any
) -> AsyncIterator[tuple[str, Database]]:
    name = f"opendialer_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = with_database(admin_url, name)
        db = await connect(url, **connect_options)
        try:
            await migrate(db)
            yield url, db
        finally:
            await db.close()
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def first_group_id() -> int:
    return int((await DialerGroup.select(DialerGroup.id).first().run())["id"])


async def bench_campaign(**fields: Any) -> int:
    """A stopped campaign in the seed group, created through the service (region BR)."""
    campaign = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "bench",
            "group_id": await first_group_id(),
            "start_date": "2030-01-07",
            "end_date": "2030-01-11",
            "start_time": "09:00",
            "end_time": "18:00",
            "pilot_number": "1",
            "default_region": "BR",
            **fields,
        },
    )
    return int(campaign["id"])
