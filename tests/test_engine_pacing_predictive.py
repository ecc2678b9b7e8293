"""The built-in ``predictive`` mode pacing real engine calls on the simulator.

The same plugin ``bench/pacing.py`` drives on a simulated day, here through the
engine: cold start at one line per free agent, then more lines than free agents
once the campaign's outcomes are known, abandons counted and kept under the
target, and more people handed to agents than a progressive campaign reaches in
the same simulated time on the same simulated center."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from engine_pacing_support import (
    MESSAGE,
    center_name,
    decision_lines,
    ended_records,
    most_at_once,
    pacing_campaign,
    pacing_engine,
    run_for,
    upload_message,
)

from opendialer.core.domain import CampaignState
from opendialer.core.engine.clock import FakeClock
from opendialer.core.services.abandon_rate import AbandonCounts, abandon_counts
from opendialer.core.storage import Database
from opendialer.core.storage.tables import Campaign

pytestmark = pytest.mark.slow  # two simulated quarter-hours of engine ticks

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PACING_LOG = "opendialer.engine.pacing"
AGENTS = 10
#: About one call in six reaches a person (predictive dialing's home ground); the rest
#: ring out, are busy or reach machines (the simulator's own verdicts: AMD is not
#: installed in these tests).
CENTER: dict[str, Any] = {
    "mix": {"human": 16, "no_answer": 50, "busy": 14, "machine": 20},
    "ring_s": [3, 12],
    "no_answer_s": 20,
    "handle_s": [60, 120],
    "seed": 11,
}
SIMULATED_S = 900


async def _dial(
    db: Database, mode: str, agents: int = AGENTS, seconds: int = SIMULATED_S
) -> tuple[list[dict[str, Any]], AbandonCounts]:
    """``seconds`` of one campaign in ``mode`` on its own simulated center."""
    clock = FakeClock(NINE)
    cid = await pacing_campaign(f"Campaign {mode}", mode, 900, max_attempts=1)
    await upload_message(cid, MESSAGE, NINE)
    engine = pacing_engine(db, clock, center_name(), agents=agents, **CENTER)
    await engine.start(run_loop=False)
    try:
        await run_for([engine], clock, seconds, step=1.0)
    finally:
        await engine.stop()
    # Stopped, so that the next run's engine (same node) leaves this campaign alone.
    await (
        Campaign.update({Campaign.state: CampaignState.STOPPED.value})
        .where(Campaign.id == cid)
        .run()
    )
    return await ended_records(cid), await abandon_counts(cid, "30d", clock.now())


def _levels(lines: list[str], reason: str) -> list[float]:
    return [
        float(m.group(1))
        for line in lines
        if f"reason={reason}" in line and (m := re.search(r" dial_level=([0-9.]+) ", line))
    ]


async def test_predictive_dials_ahead_of_its_agents_and_hands_more_people_over(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=PACING_LOG)
    calls, counts = await _dial(db, "predictive")
    lines = decision_lines(caplog.records)

    # Cold start: one line per free agent until the campaign's outcomes are known.
    assert lines and "reason=cold_start" in lines[0], lines[:3]
    assert all(level <= 1.0 for level in _levels(lines, "cold_start"))
    # Then more lines than agents, explained as predictive decisions.
    assert any(level > 1.0 for level in _levels(lines, "predictive")), lines[-5:]
    assert most_at_once(calls) > AGENTS

    # Abandons are stored as such and stay under the 3 % target.
    assert counts.live_answered > 0
    assert counts.rate_pct <= 3.0, counts
    abandoned = [c for c in calls if c["disposition"] == "abandoned"]
    assert len(abandoned) == counts.abandoned
    assert all(c["status"] == "ABANDONED" for c in abandoned)

    # The same center, agents and simulated minutes dialed progressively: one call per
    # free agent never abandons, and hands fewer people to the agents.
    progressive, _ = await _dial(db, "progressive")
    assert not [c for c in progressive if c["disposition"] == "abandoned"]

    def handed(calls: list[dict[str, Any]]) -> int:
        return sum(c["disposition"] == "transferred" for c in calls)

    # (about 84 against 72 here, cold start included).
    assert handed(calls) > handed(progressive), (handed(calls), handed(progressive))
