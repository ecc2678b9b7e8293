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
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opendialer.core.services import campaigns
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database, connect
from opendialer.core.storage.migrate import migrate
from opendialer.core.storage.tables import CallRecord, Campaign, DialerGroup, Lead, Schedule

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


async def seed_started_campaign(n_leads: int, *, routing_target: str, prefix: str) -> int:
    """A STARTED campaign dialable all day today (UTC), routed by ``routing_target``,
    with ``n_leads`` leads due now (names ``<prefix><n>``)."""
    group = await DialerGroup.select(DialerGroup.id).first().run()
    today = datetime.now(UTC).date()
    campaign = Campaign(
        name=f"{prefix}-{secrets.token_hex(3)}",
        group=group["id"],
        start_date=today - timedelta(days=1),
        end_date=today + timedelta(days=1),
        start_time=dtime(0),
        end_time=dtime(23, 59, 59),
        timezone="UTC",
        weekdays="mon,tue,wed,thu,fri,sat,sun",
        pilot_number="7000",
        max_attempts=1,
        type="OSCC",
        amd_enabled=False,
        routing_target=routing_target,
        state="STARTED",
    )
    await campaign.save().run()
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        await (
            Schedule(
                campaign=campaign.id, date=day, start_time=dtime(0), end_time=dtime(23, 59, 59)
            )
            .save()
            .run()
        )
    now = datetime.now(UTC)
    for start in range(0, n_leads, 1000):
        await Lead.insert(
            *[
                Lead(
                    campaign=campaign.id,
                    name=f"{prefix}{i}",
                    phone=f"1777{i:07d}",
                    next_attempt_at=now,
                )
                for i in range(start, min(n_leads, start + 1000))
            ]
        ).run()
    return int(campaign.id)


async def finished_calls(campaign_id: int) -> int:
    """Calls of the campaign whose outcome is stored."""
    return int(
        await CallRecord.count()
        .where((CallRecord.campaign == campaign_id) & CallRecord.status.is_not_null())
        .run()
    )
