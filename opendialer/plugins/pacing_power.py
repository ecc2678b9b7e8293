"""Power pacing: a fixed number of lines per free agent (VICIdial's fixed dial level).

The campaign's ``lines_per_agent`` (1.0-5.0) sets how many calls are kept
unresolved — launching, ringing, in AMD or waiting for an agent — per free agent:
``launch = floor(lines x free) - unresolved``. Its calls hold no agent while they
ring (``over_dials``): a person answered when every agent is busy waits up to the
campaign's ``abandon_timeout_ms`` and is then abandoned.

Two limits, whatever the setting:

* ``max_lines_per_agent`` caps the lines per agent;
* the abandon budget: when the abandons still allowed in the window
  (``AbandonBudget.allowed_more``) fall to a few times what one round of launches
  is expected to abandon, the lines per agent slide towards 1.0 (progressive), so the
  mode falls back *before* the window's rate reaches the target, never after.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from opendialer.sdk import (
    PacingDecision,
    PacingModeFactory,
    PacingSnapshot,
    PluginContext,
    hookimpl,
)
from opendialer.sdk.pacing import POWER

MIN_LINES, MAX_LINES = 1.0, 5.0
#: P(live answer) assumed until the campaign has this many outcomes of its own.
TRUSTED_OUTCOMES = 20
PRIOR_ANSWER_PROBABILITY = 0.3
#: Full lines while the budget holds this many rounds' expected abandons; none (1.0
#: line per agent) when it holds one round's or less...
BUDGET_ROUNDS = 4.0
#: ... or while it holds what the target lets the campaign spend in this many seconds
#: at the rate calls are handed to agents lately, whichever is more.
RESERVE_S = 600.0


def _handed_per_s(snapshot: PacingSnapshot) -> float:
    """Calls handed to agents per second over the snapshot's readings (0: unknown)."""
    history = snapshot.agent_history
    if len(history) < 2 or history[-1].at_s <= history[0].at_s:
        return 0.0
    handed = history[-1].handed_over - history[0].handed_over
    return max(0, handed) / (history[-1].at_s - history[0].at_s)


def expected_unserved(lines: int, p: float, agents: int) -> float:
    """E[(Binomial(lines, p) - agents)+]: people answered beyond the free agents."""
    if lines <= agents or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return float(lines - agents)
    pmf = (1.0 - p) ** lines  # P(k = 0), then P(k + 1) from P(k)
    total = 0.0
    for k in range(lines + 1):
        if k > agents:
            total += (k - agents) * pmf
        pmf *= (lines - k) / (k + 1) * p / (1.0 - p)
    return total


class PowerPacing:
    over_dials = True

    def __init__(self, context: PluginContext | None = None) -> None:
        self.context = context

    def calls_to_launch(self, snapshot: PacingSnapshot) -> int:
        return self.decide(snapshot).launch

    def decide(self, snapshot: PacingSnapshot) -> PacingDecision:
        settings = snapshot.settings
        free = max(0, snapshot.free_slots)
        room = max(0, min(snapshot.free_ports, snapshot.global_max - snapshot.in_flight))
        unresolved = snapshot.calls.unresolved
        asked = min(MAX_LINES, max(MIN_LINES, settings.lines_per_agent))
        cap = max(MIN_LINES, settings.max_lines_per_agent)
        lines = min(asked, cap)
        reason = "max_lines" if asked > cap else POWER
        why = f"{lines:g} lines per free agent"
        if reason == "max_lines":
            why += f" (asked {asked:g}, capped by max_lines_per_agent)"
        stats = snapshot.stats
        p = (
            stats.answer_probability
            if stats.outcomes >= TRUSTED_OUTCOMES
            else PRIOR_ANSWER_PROBABILITY
        )
        target_share = max(0.0, settings.abandon_target_pct) / 100.0
        offered = math.floor(lines * free + 1e-9)
        # A round's abandons: the people beyond the free agents (busy ones not freeing
        # in time), and at least the target's share of the people it reaches.
        round_abandons = max(expected_unserved(offered, p, free), target_share * offered * p)
        if lines > MIN_LINES and round_abandons > 0.0:
            left = snapshot.abandon.allowed_more
            reserve = max(
                (BUDGET_ROUNDS - 1.0) * round_abandons,
                target_share * _handed_per_s(snapshot) * RESERVE_S,
            )
            share = min(1.0, max(0.0, (left - round_abandons) / reserve))
            if share < 1.0:
                lines = MIN_LINES + (lines - MIN_LINES) * share
                reason = "abandon_budget"
                why = (
                    f"{lines:.2f} lines per free agent: {left:.1f} abandons left in the "
                    f"{snapshot.abandon.window} window, {round_abandons:.2f} expected per round"
                )
        target = math.floor(lines * free + 1e-9)
        wanted = max(0, target - unresolved)
        launch = min(wanted, room)
        if free == 0:
            reason, why = "no_agents", "no free agent"
        elif launch < wanted:
            reason = "capacity"
            why += f"; capacity: {room} more calls allowed by ports and the node's cap"
        why += f"; {free} free x {lines:.2f} = {target} lines, {unresolved} unresolved"
        return PacingDecision(
            launch=launch,
            dial_level=lines,
            predicted_free_agents=float(free),
            reason=reason,
            detail=why,
        )


@hookimpl
def register_pacing_modes() -> Mapping[str, PacingModeFactory]:
    return {POWER: PowerPacing}
