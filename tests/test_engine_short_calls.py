"""Brazil's short-call guard (issue 18), on the fake clock: the share of calls of 6 s or
less per caller ID and UTC day, over every campaign presenting it, holds a campaign
whose policy sets a threshold once at least 100 calls reach it, and lets it dial again
when the share falls; the share is on the Summary (API and page) and in /metrics."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from api_client import PASSWORD, ApiClient
from engine_support import (
    add_leads,
    add_schedule,
    default_group_id,
    make_campaign,
    make_engine,
    records,
    run_round,
    utc,
)
from test_metrics import scrape, scraped_app

from opendialer.core.engine.claims import ClaimedLead
from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.records import NewCallRecord, insert_call_records
from opendialer.core.engine.short_call_guard import REFRESH_S
from opendialer.core.services import campaign_compliance, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import Schedule

pytestmark = pytest.mark.pg

DAY = date(2026, 3, 2)
CALLER_ID = "551130000000"


async def _calls(caller_id: str | None, count: int, seconds: float, at: datetime) -> None:
    """``count`` ended calls of ``seconds`` each by a campaign presenting ``caller_id``."""
    cid = await make_campaign(
        name=f"Earlier {uuid.uuid4().hex[:6]}", caller_id=caller_id, state="STOPPED"
    )
    lead_ids = await add_leads(cid, [f"55419{i:08d}" for i in range(count)])
    await insert_call_records(
        [
            NewCallRecord(
                ClaimedLead(lead_id, cid, "Earlier", f"55419{i:08d}", 0, "BUSY", at),
                1,
                uuid.uuid4().hex,
                "earlier-node",
                created_at=at,
                ended_at=at + timedelta(seconds=seconds),
                disposition="final_response",
                status="BUSY",
            )
            for i, lead_id in enumerate(lead_ids)
        ]
    )


async def test_the_guard_holds_a_campaign_over_the_threshold_until_the_share_falls(
    db: Database,
) -> None:
    start = utc(2026, 3, 2, 13, 0)
    await _calls(CALLER_ID, 90, 3.0, start - timedelta(hours=2))  # 90 short calls today
    await _calls(CALLER_ID, 10, 6.0, start - timedelta(hours=1))  # 6 s is short too
    await _calls(CALLER_ID, 20, 45.0, start - timedelta(days=1))  # yesterday: not counted
    await _calls(None, 100, 2.0, start - timedelta(hours=1))  # another caller ID
    cid = await make_campaign(name="Guarded", caller_id=CALLER_ID, max_attempts=1)
    schedule_id = await add_schedule(cid, DAY)
    await add_leads(cid, ["5541983015031", "5541983015032"])
    await campaign_compliance.update_policy(SYSTEM, cid, {"preset": "br_anatel"})  # 80 %
    clock = FakeClock(start)
    engine = make_engine(db, clock, mix={"busy": 1})
    await engine.start(run_loop=False)
    try:
        await run_round(engine, 2)
        assert await records(cid) == []  # 100 of 100 calls short: held
        reason = (await Schedule.select(Schedule.reason).where(Schedule.id == schedule_id))[0]
        assert '"short_call_guard"' in reason["reason"] and '"100.0"' in reason["reason"]

        # Other campaigns with the caller ID make 30 longer calls: 100 of 130 is 76.9 %.
        await _calls(CALLER_ID, 30, 40.0, start)
        await run_round(engine, 1)
        assert await records(cid) == []  # read again only every 30 s, not per round
        await clock.advance(REFRESH_S)
        await run_round(engine, 2)
        assert len(await records(cid)) == 2
        assert (await Schedule.select(Schedule.reason).where(Schedule.id == schedule_id))[0][
            "reason"
        ] == ""
    finally:
        await engine.stop()


async def test_the_share_is_on_the_summary_and_in_the_metrics(
    db: Database, app_client: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web counts today's calls in real time (UTC day), as the engine does in its."""
    now = datetime.now(UTC).replace(microsecond=0)
    today = now - timedelta(seconds=min(3600, now.hour * 3600 + now.minute * 60))
    await _calls(CALLER_ID, 85, 2.0, today)
    await _calls(CALLER_ID, 15, 30.0, today)
    cid = await make_campaign(name="Guarded", caller_id=CALLER_ID, state="STOPPED")
    await campaign_compliance.update_policy(SYSTEM, cid, {"short_call_guard_pct": 80})
    other = await make_campaign(name="Unguarded", caller_id="551140000000", state="STOPPED")

    admin = await app_client.login_as("campaign_admin", [await default_group_id()])
    body = (await admin.get(f"/api/v1/campaigns/{cid}/summary")).json()
    short = body["short_calls"]
    assert (short["share"], short["calls"], short["short"]) == (85.0, 100, 85)
    assert short["threshold"] == 80.0 and short["caller_id"] == CALLER_ID
    assert short["day"] == now.date().isoformat()
    body = (await admin.get(f"/api/v1/campaigns/{other}/summary")).json()
    assert body["short_calls"]["calls"] == 0 and body["short_calls"]["threshold"] is None

    browser = await app_client.login_as("campaign_admin", [await default_group_id()], cookie=True)
    browser.headers["Accept-Language"] = "pt-BR"
    page = await browser.get(f"/campaigns/{cid}/summary")
    assert page.status_code == 200, page.text
    line = page.text.split('id="summary-short-calls"', 1)[1].split("</dd>", 1)[0]
    assert line.startswith(' class="bad"'), line  # at or above 80 % over 100 calls
    assert "85%" in line and "80%" in line

    async with scraped_app(db, None, monkeypatch) as client:
        _, samples = await scrape(client)
    label = frozenset({("caller_id", CALLER_ID)})
    assert samples[("opendialer_short_call_share", label)] == 0.85
    assert samples[("opendialer_short_call_calls", label)] == 100


async def test_the_held_campaign_says_why_in_the_viewers_language(
    db: Database, app_client: ApiClient
) -> None:
    """An engine on today's clock (the web judges its heartbeat in real time)."""
    now = datetime.now(UTC).replace(microsecond=0)
    earlier = now - timedelta(seconds=min(3600, now.hour * 3600 + now.minute * 60))
    await _calls(None, 120, 1.0, earlier)  # no caller ID of its own: the platform's
    cid = await make_campaign(name="Guarded", start_date=now.date() - timedelta(days=1))
    await add_schedule(cid, now.date(), time(0), time(23, 59, 59))
    await add_leads(cid, ["5541983015031"])
    await campaign_compliance.update_policy(SYSTEM, cid, {"short_call_guard_pct": 90})
    engine = make_engine(db, FakeClock(now), mix={"busy": 1})
    await engine.start(run_loop=False)
    try:
        await run_round(engine, 2)
        assert await records(cid) == []
        admin = await app_client.login_as("campaign_admin", [await default_group_id()])
        await users.set_language(
            await users.authenticate(admin.user["username"], PASSWORD), "pt_BR"
        )
        held = (await admin.get(f"/api/v1/campaigns/{cid}")).json()["held_reason"]
        assert held["code"] == "short_call_guard" and not held["waiting"]
        assert held["params"] == {
            "caller_id": "",
            "share": "100.0",
            "threshold": "90",
            "calls": "120",
        }
        assert held["detail"] == (
            "Iniciada — retida pela proteção contra chamadas curtas: chamadas de 6 s ou "
            "menos são 100.0 % das 120 chamadas do número de origem (o padrão da "
            "plataforma) hoje (UTC), no limite da política (90 %) ou acima"
        )
        assert held["fix_path"] == f"/campaigns/{cid}/compliance"
    finally:
        await engine.stop()
