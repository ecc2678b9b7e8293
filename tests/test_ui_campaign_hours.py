"""Edit campaign → new working hours: today's and later schedule days that have not
run take them (the flash says so, the Summary shows them); past days and days that
ran keep theirs. Runs the app in-process (``app_client``), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from api_client import PASSWORD, ApiClient

from opendialer.core.services import campaigns
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage.tables import Schedule

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


async def session(app: ApiClient, username: str) -> httpx.AsyncClient:
    client: httpx.AsyncClient = app.client()
    r = await client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return client


def htmx(client: httpx.AsyncClient) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": client.cookies["od_csrf"]}


async def test_edit_form_hours_reach_the_days_that_have_not_run(app_client: ApiClient) -> None:
    group = await app_client.group()
    await app_client.user("campaign_admin", [group], username="ana")
    today = datetime.now(UTC).date()
    campaign = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Autumn",
            "group_id": group,
            "start_date": (today - timedelta(days=1)).isoformat(),
            "end_date": (today + timedelta(days=3)).isoformat(),
            "start_time": "09:00",
            "end_time": "17:00",
            "timezone": "UTC",
            "weekdays": EVERY_DAY,
            "pilot_number": "4000",
        },
    )
    cid = campaign["id"]
    ran = today + timedelta(days=2)
    await (
        Schedule.update({Schedule.state: "FINISHED"})
        .where((Schedule.campaign == cid) & (Schedule.date == ran))
        .run()
    )
    ana = await session(app_client, "ana")
    form = {
        "name": "Autumn",
        "description": "",
        "group_id": str(group),
        "start_date": (today - timedelta(days=1)).isoformat(),
        "end_date": (today + timedelta(days=3)).isoformat(),
        "start_time": "10:15",
        "end_time": "15:45",
        "timezone": "UTC",
        "weekdays": EVERY_DAY,
        "pilot_number": "4000",
        "max_attempts": "5",
        "retry_after_minutes": "60",
        "type": "OSCC",
        "amd_enabled": "1",
        "dnc_service_id": str(campaign["dnc_service_id"]),
    }
    r = await ana.post(f"/campaigns/{cid}", data=form, headers=htmx(ana))
    assert r.headers.get("HX-Redirect") == "/campaigns", r.text
    listing = await ana.get("/campaigns")
    assert "Today&#39;s and later schedule days that have not run yet now use" in listing.text
    rows = await Schedule.select().where(Schedule.campaign == cid).order_by(Schedule.date).run()
    hours = {
        r["date"]: (r["start_time"].strftime("%H:%M"), r["end_time"].strftime("%H:%M"))
        for r in rows
    }
    assert hours[today - timedelta(days=1)] == ("09:00", "17:00")  # past: history
    assert hours[ran] == ("09:00", "17:00")  # ran: keeps its hours
    for offset in (0, 1, 3):
        assert hours[today + timedelta(days=offset)] == ("10:15", "15:45"), offset
    summary = await ana.get(f"/campaigns/{cid}/summary")
    shown = re.search(r'<dd id="summary-schedule">([^<]*)</dd>', summary.text)
    assert shown is not None and "10:15 – 15:45" in shown.group(1), summary.text
    # Saved again without a change of hours: the plain flash.
    r = await ana.post(
        f"/campaigns/{cid}", data={**form, "description": "again"}, headers=htmx(ana)
    )
    assert r.headers.get("HX-Redirect") == "/campaigns", r.text
    assert "Campaign updated.</div>" in (await ana.get("/campaigns")).text
