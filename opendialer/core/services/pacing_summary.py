"""How a campaign is being paced now, for its Summary page and ``GET .../summary``.

Two sources, both shared by every process (a web node sees what the engine nodes do):

* ``pacing_decision``: each engine node's last decision for the campaign (dial level,
  why, launched, predicted free agents, occupancy), rewritten every few seconds by the
  node. A row older than :data:`FRESH_FOR_S` belongs to a node that stopped pacing the
  campaign (stopped, outside its hours, crashed): it is left out; with no row left,
  no engine is pacing the campaign. Over the fresh rows: the dial level and the
  occupancy are averaged (each node paces its share of the agents), launched calls and
  predicted free agents are summed, and the reason is the newest decision's.
* ``call_record``: the abandon rate in the campaign's window, counted in the database
  (:mod:`.abandon_rate`), against its target — also when no engine runs.

With no fresh decision, ``status`` says why, so that the card never contradicts the
campaign's state (an engine decides its first pacing only seconds after it takes a
campaign): ``stopped``; ``no_engine`` (no engine node heard from: nothing can pace
it, fix it where ``fix_path`` says); ``not_dialing`` (it waits or is held:
``held_code`` is :mod:`.dialing`'s code, shown with the campaign's state);
``starting`` (started, or an engine node joined, under :data:`STARTING_GRACE_S`
ago: an engine is about to take it); ``not_paced`` (engines run, it should dial, and
none paced it after the grace: an engine's fault, its log says which).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from opendialer.core.domain import CampaignState
from opendialer.core.engine.pacing_data import aware, live_nodes
from opendialer.core.services import abandon_rate, campaign_pacing, dialing
from opendialer.core.storage.tables import PacingDecisionRow

#: A node's decision older than this is not current (nodes write every few seconds).
FRESH_FOR_S = 60.0
#: After Start (or an engine node joining), how long no decision means "starting", not a
#: fault: a node takes a new campaign at its next scheduler tick and decides every 3 s
#: (core/engine/pacing_board.DECISIONS_EVERY_S).
STARTING_GRACE_S = dialing.STARTING_GRACE_S

PACED = "paced"
STOPPED = "stopped"
NO_ENGINE = "no_engine"
NOT_DIALING = "not_dialing"
STARTING = "starting"
NOT_PACED = "not_paced"
#: Every ``status`` the summary may give.
STATUSES = (PACED, STOPPED, NO_ENGINE, NOT_DIALING, STARTING, NOT_PACED)
#: Where an engine is diagnosed (System → Diagnostics: health, logs); a Master's page.
ENGINE_FIX_PATH = "/system"


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _node_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "node": row["node"],
        "mode": row["mode"],
        "dial_level": round(float(row["dial_level"]), 3),
        "launched": int(row["launched"]),
        "predicted_free_agents": round(float(row["predicted_free_agents"]), 2),
        "occupancy": None if row["occupancy"] is None else round(float(row["occupancy"]), 3),
        "reason": row["reason"],
        "detail": row["detail"],
        "decided_at": row["decided_at"],
    }


async def fresh_decisions(campaign_id: int, now: datetime) -> list[dict[str, Any]]:
    """The engine nodes' current decisions for the campaign, newest first."""
    since = now - timedelta(seconds=FRESH_FOR_S)
    rows = (
        await PacingDecisionRow.select()
        .where(
            (PacingDecisionRow.campaign == campaign_id) & (PacingDecisionRow.decided_at >= since)
        )
        .order_by(PacingDecisionRow.decided_at, ascending=False)
        .run()
    )
    return [_node_json(row) for row in rows]


async def abandon_json(campaign: dict[str, Any], now: datetime) -> dict[str, Any]:
    window = campaign["abandon_window"]
    target = float(campaign["abandon_target_pct"])
    counts = await abandon_rate.abandon_counts(campaign["id"], window, now)
    rate = counts.rate_pct
    return {
        "window": window,
        "target_pct": target,
        "live_answered": counts.live_answered,
        "abandoned": counts.abandoned,
        "rate_pct": round(rate, 2),
        "over_target": counts.live_answered > 0 and rate > target,
    }


async def _unpaced_status(
    campaign: dict[str, Any], now: datetime, started: datetime | None
) -> tuple[str, int, str | None]:
    """Why no engine paces the campaign: (status, live engine nodes, dialing code)."""
    if campaign["state"] != CampaignState.STARTED.value:
        return STOPPED, 0, None
    live = await live_nodes(now, dialing.dead_after())
    if not live:
        return NO_ENGINE, 0, None
    state = await dialing.dialing_state(campaign, now)
    if state.code == dialing.NO_ENGINE:  # its heartbeat aged out between the two reads
        return NO_ENGINE, 0, None
    if not state.dialing and state.code != dialing.STARTING:
        return NOT_DIALING, len(live), state.code
    grace = timedelta(seconds=STARTING_GRACE_S)
    newest_join = max(live.values())
    if (started is not None and now - started < grace) or now - newest_join < grace:
        return STARTING, len(live), None
    return NOT_PACED, len(live), None


async def pacing_summary(
    campaign: dict[str, Any],
    has_message: bool,
    started_at: Any = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The pacing part of a campaign's summary. ``campaign``: the API's view of it (the
    caller checked the actor may see it); ``has_message``: it has a safe-harbour message;
    ``started_at``: the stored row's ``started_at`` (when Start last moved it to STARTED;
    None: not since m0016)."""
    now = now or datetime.now(UTC)
    nodes = await fresh_decisions(campaign["id"], now)
    started = aware(started_at)
    if nodes:
        status, live_engines, held_code = PACED, len(nodes), None
    else:
        status, live_engines, held_code = await _unpaced_status(campaign, now, started)
    mode = campaign["pacing_mode"]
    over_dials = campaign_pacing.over_dials(mode)
    occupancies = [n["occupancy"] for n in nodes if n["occupancy"] is not None]
    newest = nodes[0] if nodes else None
    dial_level = _mean([n["dial_level"] for n in nodes])
    occupancy = _mean(occupancies)
    return {
        "mode": mode,
        "over_dials": over_dials,
        "paced": bool(nodes),
        "status": status,
        "started_at": started,
        "live_engines": live_engines,
        "held_code": held_code,
        "fix_path": ENGINE_FIX_PATH if status in (NO_ENGINE, NOT_PACED) else None,
        "engines": len(nodes),
        "dial_level": None if dial_level is None else round(dial_level, 2),
        "launched": sum(n["launched"] for n in nodes),
        "predicted_free_agents": round(sum(n["predicted_free_agents"] for n in nodes), 2),
        "occupancy": None if occupancy is None else round(occupancy, 3),
        "reason": newest["reason"] if newest else None,
        "detail": newest["detail"] if newest else None,
        "decided_at": newest["decided_at"] if newest else None,
        "nodes": nodes,
        "abandon": await abandon_json(campaign, now),
        "safe_harbour_missing": over_dials and not has_message,
    }


__all__ = [
    "ENGINE_FIX_PATH",
    "FRESH_FOR_S",
    "NOT_DIALING",
    "NOT_PACED",
    "NO_ENGINE",
    "PACED",
    "STARTING",
    "STARTING_GRACE_S",
    "STATUSES",
    "STOPPED",
    "abandon_json",
    "fresh_decisions",
    "pacing_summary",
]
