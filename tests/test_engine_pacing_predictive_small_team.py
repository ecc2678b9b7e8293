"""The built-in ``predictive`` mode with a team too small to dial ahead of, on the
simulator through the engine (a file of its own so that xdist's ``loadfile`` runs it
beside the long comparison in test_engine_pacing_predictive.py, not after it)."""

from __future__ import annotations

import logging

import pytest
from engine_pacing_support import decision_lines, most_at_once
from test_engine_pacing_predictive import PACING_LOG, _dial, _levels

from opendialer.core.storage import Database

pytestmark = pytest.mark.slow  # a simulated five minutes of engine ticks


async def test_a_small_team_is_dialed_one_call_per_free_agent_each_holding_it(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Five agents (the simulator's center tells how many are logged on): predictive
    dials as progressive does — a call per free agent, the agent held while it rings —
    so nobody is abandoned, learning or not."""
    caplog.set_level(logging.INFO, logger=PACING_LOG)
    calls, counts = await _dial(db, "predictive", agents=5, seconds=300)
    lines = decision_lines(caplog.records)
    assert lines and all("reason=small_team" in line for line in lines), lines[:3]
    assert all(level <= 1.0 for level in _levels(lines, "small_team"))
    assert 'why="5 agents: a team under 8' in lines[0]
    assert len(calls) > 10 and most_at_once(calls) <= 5
    assert counts.live_answered > 0 and counts.abandoned == 0
    assert not [c for c in calls if c["disposition"] == "abandoned"]
