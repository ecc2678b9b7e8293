"""``GET /api/v1/campaigns/{id}/summary``'s ``pacing``: the engine nodes' decisions of the
last minute (``pacing_decision`` rows, as the engine writes them) combined, and the
abandon rate counted from ``call_record`` in the campaign's window against its target.
With no fresh decision, ``status`` says why: stopped, no engine alive, not dialing,
starting (the grace after Start), or engines alive that pace nothing.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_client import ApiClient
from pacing_support import over_dialing_modes  # noqa: F401  (fixture)
from test_api_campaigns import admin_and_group, campaign_body, give_leads

from opendialer.core.storage.tables import (
    CallRecord,
    Campaign,
    EngineNode,
    Lead,
    PacingDecisionRow,
)

pytestmark = [pytest.mark.pg, pytest.mark.usefixtures("over_dialing_modes")]


async def decision(cid: int, node: str, age_s: float, **values: Any) -> None:
    """One engine node's last decision for the campaign, ``age_s`` seconds old."""
    row = {
        "mode": "predictive",
        "dial_level": 1.0,
        "predicted_free_agents": 0.0,
        "launched": 0,
        "reason": "predictive",
        "detail": "",
        "occupancy": None,
        **values,
    }
    await PacingDecisionRow.insert(
        PacingDecisionRow(
            campaign=cid, node=node, decided_at=datetime.now(UTC) - timedelta(seconds=age_s), **row
        )
    ).run()


async def calls(cid: int, count: int, *, ended_days_ago: float = 1.0, **values: Any) -> None:
    """``count`` ended call records of the campaign's lead (attempts numbered on)."""
    lead = await Lead.select(Lead.id).where(Lead.campaign == cid).first().run()
    assert lead is not None
    done = await CallRecord.count().where(CallRecord.campaign == cid).run()
    ended = datetime.now(UTC) - timedelta(days=ended_days_ago)
    base = {
        "answered_at": ended - timedelta(seconds=40),
        "disposition": "transferred",
        "amd_verdict": "HUMAN",
        "status": "SUCCESS",
        **values,
    }
    rows = [
        CallRecord(
            campaign=cid,
            lead=lead["id"],
            attempt=done + n + 1,
            call_id=f"c{cid}-{done + n}",
            phone="12025550100",
            created_at=ended - timedelta(seconds=60),
            ended_at=ended,
            **base,
        )
        for n in range(count)
    ]
    await CallRecord.insert(*rows).run()


async def seeded_campaign(app_client: ApiClient, **settings: Any) -> tuple[Any, int]:
    admin, group = await admin_and_group(app_client)
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group, **settings))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    await give_leads(admin, cid)
    return admin, cid


async def summary(admin: Any, cid: int) -> dict[str, Any]:
    r = await admin.get(f"/api/v1/campaigns/{cid}/summary")
    assert r.status_code == 200, r.text
    return r.json()["pacing"]


async def test_without_engine_nor_calls_nobody_paces_and_the_rate_is_zero(
    app_client: ApiClient,
) -> None:
    admin, cid = await seeded_campaign(app_client)
    pacing = await summary(admin, cid)
    assert pacing == {
        "mode": "progressive",
        "over_dials": False,
        "paced": False,
        "status": "stopped",
        "started_at": None,
        "live_engines": 0,
        "held_code": None,
        "fix_path": None,
        "engines": 0,
        "dial_level": None,
        "launched": 0,
        "predicted_free_agents": 0.0,
        "occupancy": None,
        "reason": None,
        "detail": None,
        "decided_at": None,
        "nodes": [],
        "abandon": {
            "window": "30d",
            "target_pct": 3.0,
            "live_answered": 0,
            "abandoned": 0,
            "rate_pct": 0.0,
            "over_target": False,
        },
        "safe_harbour_missing": False,
    }


async def test_fresh_decisions_of_every_node_are_combined_and_stale_ones_left_out(
    app_client: ApiClient,
) -> None:
    admin, cid = await seeded_campaign(app_client, pacing_mode="predictive")
    await decision(
        cid,
        "node-a",
        3,
        dial_level=2.0,
        launched=4,
        predicted_free_agents=1.5,
        occupancy=0.9,
        reason="predictive",
        detail="aiming at 2.0 lines",
    )
    await decision(
        cid,
        "node-b",
        1,
        dial_level=3.0,
        launched=2,
        predicted_free_agents=0.5,
        occupancy=None,
        reason="abandon_budget",
        detail="held back",
    )
    await decision(cid, "node-gone", 600, dial_level=5.0, launched=9, reason="max_lines")
    pacing = await summary(admin, cid)
    assert (pacing["paced"], pacing["engines"]) == (True, 2)
    assert pacing["dial_level"] == 2.5  # the mean of the nodes' levels
    assert (pacing["launched"], pacing["predicted_free_agents"]) == (6, 2.0)
    assert pacing["occupancy"] == 0.9  # only node-a's target knows it
    assert (pacing["reason"], pacing["detail"]) == ("abandon_budget", "held back")  # the newest
    assert [n["node"] for n in pacing["nodes"]] == ["node-b", "node-a"]
    assert pacing["over_dials"] is True and pacing["safe_harbour_missing"] is True


async def test_only_stale_decisions_mean_no_engine_is_pacing(app_client: ApiClient) -> None:
    admin, cid = await seeded_campaign(app_client)
    await decision(cid, "node-a", 61, dial_level=1.0, reason="progressive")
    pacing = await summary(admin, cid)
    assert (pacing["paced"], pacing["engines"], pacing["dial_level"]) == (False, 0, None)


async def test_the_abandon_rate_counts_live_answered_calls_in_the_window(
    app_client: ApiClient,
) -> None:
    admin, cid = await seeded_campaign(app_client, abandon_target_pct=1.5)
    await calls(cid, 1182)
    await calls(cid, 22, disposition="abandoned", status="ABANDONED")
    # not live-answered: a machine, an unanswered call; not in the window: 31 days ago
    await calls(cid, 40, amd_verdict="MACHINE", disposition="amd_hangup", status="AMD")
    await calls(cid, 30, answered_at=None, amd_verdict=None, disposition="no_answer")
    await calls(cid, 50, ended_days_ago=31, disposition="abandoned", status="ABANDONED")
    abandon = (await summary(admin, cid))["abandon"]
    assert abandon == {
        "window": "30d",
        "target_pct": 1.5,
        "live_answered": 1204,
        "abandoned": 22,
        "rate_pct": 1.83,
        "over_target": True,
    }
    r = await admin.patch(
        f"/api/v1/campaigns/{cid}", json={"abandon_window": "campaign", "abandon_target_pct": 5}
    )
    assert r.status_code == 200, r.text
    abandon = (await summary(admin, cid))["abandon"]
    assert (abandon["live_answered"], abandon["abandoned"]) == (1254, 72)
    assert (abandon["rate_pct"], abandon["over_target"]) == (5.74, True)
    await admin.patch(f"/api/v1/campaigns/{cid}", json={"abandon_window": "24h"})
    abandon = (await summary(admin, cid))["abandon"]
    assert (abandon["live_answered"], abandon["abandoned"], abandon["over_target"]) == (0, 0, False)


async def test_a_supervisor_reads_the_pacing_summary(app_client: ApiClient) -> None:
    admin, group = await admin_and_group(app_client)
    supervisor = await app_client.login_as("campaign_supervisor", [group])
    cid = (await admin.post("/api/v1/campaigns", json=campaign_body(group))).json()["id"]
    await decision(cid, "node-a", 2, mode="progressive", reason="progressive", dial_level=1.0)
    r = await supervisor.get(f"/api/v1/campaigns/{cid}/summary")
    assert r.status_code == 200 and r.json()["pacing"]["paced"] is True, r.text


EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


async def dialing_today(app_client: ApiClient) -> tuple[Any, int]:
    """A campaign whose window is open now (all day today, UTC), started through the API."""
    today = datetime.now(UTC).date()
    admin, cid = await seeded_campaign(
        app_client,
        start_date=today.isoformat(),
        end_date=(today + timedelta(days=1)).isoformat(),
        start_time="00:00",
        end_time="23:59",
        timezone="UTC",
        weekdays=EVERY_DAY,
    )
    r = await admin.post(f"/api/v1/campaigns/{cid}/start")
    assert r.status_code == 200, r.text
    return admin, cid


async def engine(node: str, *, joined_s_ago: float = 600, heard_s_ago: float = 1) -> None:
    """An engine node's heartbeat row, as ``serve`` writes it."""
    now = datetime.now(UTC)
    await EngineNode.insert(
        EngineNode(
            node_id=node,
            started_at=now - timedelta(seconds=joined_s_ago),
            heartbeat_at=now - timedelta(seconds=heard_s_ago),
        )
    ).run()


async def started_ago(cid: int, seconds: float) -> None:
    """Move the campaign's start back in time, as if Start was pressed ``seconds`` ago."""
    at = datetime.now(UTC) - timedelta(seconds=seconds)
    await Campaign.update({Campaign.started_at: at}).where(Campaign.id == cid).run()


async def test_just_started_with_an_engine_and_no_decision_yet_it_is_starting(
    app_client: ApiClient,
) -> None:
    await EngineNode.delete(force=True).run()
    before = datetime.now(UTC)
    admin, cid = await dialing_today(app_client)
    await engine("node-a")
    pacing = await summary(admin, cid)
    assert (pacing["paced"], pacing["status"]) == (False, "starting")
    assert (pacing["live_engines"], pacing["fix_path"], pacing["held_code"]) == (1, None, None)
    started = datetime.fromisoformat(pacing["started_at"])
    assert before <= started <= datetime.now(UTC)
    # the engine's first decision: paced, whatever the grace
    await decision(cid, "node-a", 1, mode="progressive", reason="progressive")
    pacing = await summary(admin, cid)
    assert (pacing["paced"], pacing["status"], pacing["live_engines"]) == (True, "paced", 1)


async def test_past_the_grace_engines_alive_that_pace_nothing_are_a_fault(
    app_client: ApiClient,
) -> None:
    await EngineNode.delete(force=True).run()
    admin, cid = await dialing_today(app_client)
    await engine("node-a")
    await engine("node-b")
    await started_ago(cid, 31)
    pacing = await summary(admin, cid)
    assert (pacing["status"], pacing["live_engines"]) == ("not_paced", 2)
    assert pacing["fix_path"] == "/system"
    # a node that joined seconds ago may still take it: starting again
    await engine("node-new", joined_s_ago=5)
    pacing = await summary(admin, cid)
    assert (pacing["status"], pacing["live_engines"], pacing["fix_path"]) == ("starting", 3, None)


async def test_a_started_campaign_whose_engine_is_dead_has_no_engine(
    app_client: ApiClient,
) -> None:
    await EngineNode.delete(force=True).run()
    admin, cid = await dialing_today(app_client)
    await engine("node-dead", heard_s_ago=40)  # stopped beating (15 s without: dead)
    pacing = await summary(admin, cid)
    assert (pacing["status"], pacing["live_engines"]) == ("no_engine", 0)
    assert pacing["fix_path"] == "/system" and pacing["started_at"] is not None


async def test_a_started_campaign_waiting_for_its_first_day_is_not_dialing(
    app_client: ApiClient,
) -> None:
    await EngineNode.delete(force=True).run()
    admin, cid = await seeded_campaign(app_client)  # its first day is a week ahead
    assert (await admin.post(f"/api/v1/campaigns/{cid}/start")).status_code == 200
    await engine("node-a")
    pacing = await summary(admin, cid)
    assert (pacing["status"], pacing["held_code"]) == ("not_dialing", "waiting_next_run")
    assert (pacing["live_engines"], pacing["fix_path"]) == (1, None)


async def test_a_running_campaigns_policy_change_does_not_restart_the_grace(
    app_client: ApiClient,
) -> None:
    await EngineNode.delete(force=True).run()
    admin, cid = await dialing_today(app_client)
    await engine("node-a")
    await started_ago(cid, 120)
    # a compliance policy change moves the campaign's updated_at, not its start
    r = await admin.put(f"/api/v1/campaigns/{cid}/compliance", json={"preset": "none"})
    assert r.status_code == 200, r.text
    assert (await summary(admin, cid))["status"] == "not_paced"
