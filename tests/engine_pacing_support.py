"""Building blocks of the pacing tests: an over-dialing pacing mode registered the way a
third party registers one, a simulated contact center short of agents, and an engine
driven on a fake clock through simulated seconds."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from engine_support import add_schedule, make_campaign

from opendialer.core import logs
from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.engine import Engine
from opendialer.core.plugins import PluginManager
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, CampaignMessage, Lead
from opendialer.sdk import PacingDecision, PacingModeFactory, PacingSnapshot, hookimpl

DAY = date(2026, 3, 2)
#: The test mode's name and its reason code.
THREE_LINES = "three_lines"
#: A safe-harbour message, 8 kHz µ-law (0xFF is µ-law silence).
MESSAGE = b"\xff" * 12_000  # 1.5 s


class ThreeLinesPerFreeAgent:
    """Keeps three calls not yet with an agent per free agent: a crude power dialer."""

    over_dials = True

    def __init__(self, context: Any = None) -> None:
        self.context = context

    def decide(self, snapshot: PacingSnapshot) -> PacingDecision:
        lines = 3 * snapshot.free_slots
        unresolved = snapshot.calls.unresolved
        return PacingDecision(
            launch=max(0, lines - unresolved),
            dial_level=3.0,
            predicted_free_agents=float(snapshot.free_slots),
            reason=THREE_LINES,
            detail=f"3 lines per free agent: {snapshot.free_slots} free, {unresolved} unresolved",
        )

    def calls_to_launch(self, snapshot: PacingSnapshot) -> int:
        return self.decide(snapshot).launch


class ThreeLinesPlugin:
    """What a third party's distribution would register through its entry point."""

    @hookimpl
    def register_pacing_modes(self) -> Mapping[str, PacingModeFactory]:
        return {THREE_LINES: ThreeLinesPerFreeAgent}


def plugins(**extra: object) -> PluginManager:
    """The built-ins (AMD off: the simulator's scripted verdicts) and the test mode."""
    pm = PluginManager(disabled=frozenset({"amd_numpy"})).load_all()
    assert pm.register(ThreeLinesPlugin(), name="three_lines_pacing")
    for name, plugin in extra.items():
        assert pm.register(plugin, name=name)
    return pm


def center_name() -> str:
    return f"pacing-{uuid.uuid4().hex[:8]}"


def pacing_engine(
    db: Database,
    clock: FakeClock,
    center: str,
    *,
    agents: int,
    node_id: str = "pacing-node",
    platform: str = "sim",
    pm: PluginManager | None = None,
    **platform_options: Any,
) -> Engine:
    """An engine on the simulator: every call is answered by a person after 1 s of ring,
    each agent of the simulated center is then busy 30 s (simulated time)."""
    options = {
        "time_scale": 1,
        "seed": 7,
        "mix": {"human": 1},
        "ring_s": [1, 1],
        "handle_s": [30, 30],
        "agents": agents,
        "center": center,
        "ports": 60,
        **platform_options,
    }
    return Engine(
        db,
        node_id,
        clock,
        platform,
        platform_options=options,
        routing_options={"sim": {"center": center}},
        plugin_manager=pm or plugins(),
    )


async def pacing_campaign(name: str, mode: str, leads: int, **fields: Any) -> int:
    """A campaign on the simulated center's agents, dialing on :data:`DAY` from 09:00;
    its leads are due at once."""
    values: dict[str, Any] = {
        "routing_target": "sim",
        "abandon_timeout_ms": 2000,
        "retry_after_minutes": 60,
        "max_attempts": 3,
        **fields,
    }
    cid = await make_campaign(name=name, pacing_mode=mode, **values)
    await add_schedule(cid, DAY, time(9), time(17))
    await add_due_leads(cid, leads, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    return cid


async def add_due_leads(campaign_id: int, count: int, due: datetime) -> None:
    for i in range(count):
        phone = f"1555{campaign_id:03d}{i:04d}"
        row = Lead(campaign=campaign_id, name=f"Lead {i}", phone=phone, next_attempt_at=due)
        await row.save().run()


async def upload_message(campaign_id: int, audio: bytes, at: datetime) -> None:
    """The safe-harbour message as the web stores it (already µ-law)."""
    await CampaignMessage.insert(
        CampaignMessage(
            campaign=campaign_id,
            kind="safe_harbour",
            audio=audio,
            duration_ms=len(audio) // 8,
            filename="safe-harbour.wav",
            uploaded_at=at,
        )
    ).run()


async def run_for(
    engines: list[Engine], clock: FakeClock, seconds: float, step: float = 0.5
) -> None:
    """``seconds`` of simulated time: every node ticks, then the clock moves ``step``."""
    for _ in range(round(seconds / step)):
        for engine in engines:
            await engine.tick()
        await clock.advance(step)


async def run_until_idle(engines: list[Engine], clock: FakeClock, limit_s: float = 600) -> None:
    """Keep time moving until no node has a call in flight (a stuck run fails)."""
    step, waited = 0.5, 0.0
    while any(engine.in_flight_total() for engine in engines):
        assert waited < limit_s, "calls still in flight after the simulated limit"
        await run_for(engines, clock, step, step)
        waited += step


def most_at_once(calls: list[dict[str, Any]]) -> int:
    """The most calls up at the same instant, from the call records' start and end."""
    edges = sorted(
        [(c["created_at"], 1) for c in calls] + [(c["ended_at"], -1) for c in calls],
        key=lambda edge: (edge[0], edge[1]),
    )
    up = peak = 0
    for _, delta in edges:
        up += delta
        peak = max(peak, up)
    return peak


async def ended_records(campaign_id: int) -> list[dict[str, Any]]:
    return (
        await CallRecord.select()
        .where((CallRecord.campaign == campaign_id) & CallRecord.status.is_not_null())
        .order_by(CallRecord.id)
        .run()
    )


def decision_lines(records: list[logging.LogRecord]) -> list[str]:
    """The ``pacing_decision`` lines as the console shows them (``key=value``)."""
    formatter = logs.KeyValueFormatter()
    return [formatter.format(r) for r in records if r.getMessage() == "pacing_decision"]
