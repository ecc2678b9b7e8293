"""The ``predictive`` pacing mode: a state-based expected-abandon controller.

At each decision it looks at every call that may still need an agent — waiting
(certain), AMD pending (P(person | answered)), ringing (P(a person answers it soon),
given how long it has rung), being launched (like a new call) — and at the agents
free now and expected to free (busy times, or the freeing rate). It then launches
the most calls such that the *last* one launched, if a person answers it, finds no
agent with a probability of at most the allowed risk (``allowance.py``):

    risk(k) = mean over horizons h of P(W + X_h(k) >= F + Y_h)

where, for a new call answered ``h`` seconds from now (``h`` at five quantiles of the
live answers' ring times), ``W`` is the people waiting, ``X_h(k)`` the people answering
before it among the calls in flight and the ``k - 1`` other new calls, ``F`` the agents
free now and ``Y_h`` the agents freeing by then (plus AMD, hand-over and the campaign's
``abandon_timeout_ms``, for which a person may wait). Launching while the marginal call's
risk is under a threshold is what maximises talk time for a given abandon rate; the
threshold follows the target, the measured rate and the budget left.

Every decision is a :class:`PacingDecision` whose ``reason`` says what bound it.
"""

from __future__ import annotations

import math

import numpy as np

from opendialer.plugins.pacing_predictive.agents import (
    AgentForecast,
    AgentHistory,
    agents_counted,
)
from opendialer.plugins.pacing_predictive.allowance import (
    AIM,
    Allowance,
    Calibration,
    allowance,
    target_fraction,
)
from opendialer.plugins.pacing_predictive.answers import (
    AnswerModel,
    AnswerRate,
    RecentOutcomes,
    Vector,
)
from opendialer.plugins.pacing_predictive.counts import DifferenceTails, bernoulli_sum_rows
from opendialer.sdk import Distribution, PacingDecision, PacingSnapshot, PluginContext

#: Quantiles of the live answers' ring times at which a new call is looked at.
HORIZON_LEVELS = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
#: A team of fewer agents is dialed one call per free agent: with so few, one person
#: finding no agent is a large share of the hour, and the gain over progressive small
#: (the bench's N=5 campaigns: +0.13 occupancy for 2.6 % abandons against none). Only
#: when the target tells its agents logged on: from free counts alone a team's size
#: cannot be told (5 agents on 1-minute calls look like 10 on 2-minute ones), and the
#: estimate's errors cost more than the rule saves (the bench's grid, 2026-12-07).
SMALL_TEAM = 8
#: Seconds a call launched holding no agent may stay unresolved (ring, AMD, the wait):
#: until then the mode's held calls leave room for it.
UNHELD_TAIL_S = 120.0
#: Outcomes and live answers the statistics need before the mode over-dials.
COLD_START_OUTCOMES = 50
COLD_START_LIVE = 10
#: Seconds from the AMD verdict to an agent taking the call.
HANDOVER_S = 0.5
#: Fewer agents than this expected free over the horizon is "no agents".
NO_AGENTS_BELOW = 0.5
#: Calls whose risk is computed to sum a decision's predicted risk, at most.
TOTAL_SAMPLES = 6
CALIBRATE = True


class _Risk:
    """risk(k) for one decision: the in-flight calls' part computed once, the new
    calls' added for each k tried."""

    def __init__(
        self,
        snapshot: PacingSnapshot,
        model: AnswerModel,
        forecast: AgentForecast,
    ) -> None:
        calls = snapshot.calls
        reach = model.outcomes.reach
        ringing = model.ringing_live_within(np.asarray(calls.ringing_s, dtype=np.float64), reach)
        h = model.outcomes.human_if_answered
        amd = len(calls.in_amd_s)
        mean = ringing.sum(axis=1) + amd * h
        variance = (ringing * (1.0 - ringing)).sum(axis=1) + amd * h * (1.0 - h)
        in_flight = bernoulli_sum_rows(mean, variance, len(calls.ringing_s) + amd)
        self.tails = DifferenceTails(in_flight, forecast.freeing)
        self.new_live = model.p * HORIZON_LEVELS  # a new call live before one at level u
        self.launching = calls.launching
        self.shortfall = forecast.free_now - calls.waiting_for_agent
        self._known: dict[int, float] = {}

    def of(self, k: int) -> float:
        """P(no agent for the k-th new call's person), averaged over the horizons."""
        known = self._known.get(k)
        if known is None:
            others = k - 1 + self.launching
            at = self.tails.prob_at_least(self.shortfall, others, self.new_live)
            known = self._known[k] = float(at.mean())
        return known

    def total(self, low: int, high: int) -> float:
        """The risks of the calls k in (low, high] summed (sampled when many)."""
        if high <= low:
            return 0.0
        if high - low <= TOTAL_SAMPLES:
            return sum(self.of(k) for k in range(low + 1, high + 1))
        ks = np.linspace(low + 1, high, TOTAL_SAMPLES).round().astype(int)
        return float(np.mean([self.of(int(k)) for k in ks])) * (high - low)

    def most_calls(self, low: int, high: int, allowed: float) -> tuple[int, float]:
        """The largest k in [low, high] whose risk is within ``allowed`` (``low`` is
        taken as safe), and the risk of one call more."""
        if low >= high:
            return low, self.of(low + 1)
        step = 1
        good = low
        bad = high + 1
        while good + step <= high:  # gallop, then bisect
            risk = self.of(good + step)
            if risk > allowed:
                bad = good + step
                break
            good += step
            step *= 2
        while bad - good > 1:
            middle = (good + bad) // 2
            if self.of(middle) <= allowed:
                good = middle
            else:
                bad = middle
        return good, self.of(good + 1)


class PredictivePacing:
    """Launches calls ahead of free agents, keeping each call's abandon risk in check."""

    over_dials = True

    def __init__(self, context: PluginContext | None = None) -> None:
        self.context = context
        self._history = AgentHistory()
        self._answer_rate = AnswerRate()
        self._outcomes: RecentOutcomes | None = None
        self._calibration = Calibration()
        #: Until when calls launched holding no agent may still be unresolved.
        self._unheld_until = -math.inf
        self._busy_source: Distribution | None = None
        self._busy_array: Vector = np.zeros(0)
        self.last: PacingDecision | None = None

    def calls_to_launch(self, snapshot: PacingSnapshot) -> int:
        return self.decide(snapshot).launch

    def decide(self, snapshot: PacingSnapshot) -> PacingDecision:
        decision = self._decide(snapshot)
        if decision.launch > 0 and not decision.holds_agents:
            self._unheld_until = snapshot.now_s + UNHELD_TAIL_S
        self._answer_rate.launched += decision.launch
        self.last = decision
        return decision

    def _busy_times(self, snapshot: PacingSnapshot) -> Vector:
        """Recent busy times, sorted: the target's own when it tells them, else those the
        call statistics carry (none from the engine's records)."""
        history = snapshot.agent_busy_history
        if history is None:
            return self._outcomes.talk if self._outcomes is not None else np.zeros(0)
        if self._busy_source is not history:
            self._busy_source = history
            self._busy_array = np.asarray(history.samples, dtype=np.float64)
        return self._busy_array

    def _decide(self, snapshot: PacingSnapshot) -> PacingDecision:
        calls = snapshot.calls
        free = max(0, snapshot.free_slots)
        room = max(0, min(snapshot.free_ports, snapshot.global_max - snapshot.in_flight))
        self._history.add(snapshot.agent_history, snapshot.now_s)
        p = self._answer_rate.estimate(snapshot)
        agents = agents_counted(snapshot, self._history)
        unresolved = calls.unresolved
        progressive = max(0, free - unresolved)
        # One call per free agent, held: the free count is net of the agents held, so
        # only calls launched holding none (over-dialed lately) are taken off it.
        held = progressive if snapshot.now_s < self._unheld_until else free
        if agents <= 0 or snapshot.agents_logged_on == 0:
            return _no_agents(agents, unresolved, "no agent logged on")
        if snapshot.agents_logged_on is not None and agents < SMALL_TEAM:
            why = (
                f"{agents} agents: a team under {SMALL_TEAM} is dialed one call per free "
                "agent (one person finding none would be a large share of its abandons)"
            )
            return _one_per_free_agent(held, room, agents, unresolved, "small_team", why)
        stats = snapshot.stats
        if stats.outcomes < COLD_START_OUTCOMES or stats.live_answers < COLD_START_LIVE or p <= 0.0:
            why = (
                f"cold start: {stats.outcomes} calls ended, {stats.live_answers} live "
                f"(over-dialing needs {COLD_START_OUTCOMES} and {COLD_START_LIVE}); "
                "one call per free agent"
            )
            return _one_per_free_agent(held, room, agents, unresolved, "cold_start", why)
        if self._outcomes is None or self._outcomes.stats is not stats:
            self._outcomes = RecentOutcomes.of(stats, HORIZON_LEVELS)
        outcomes = self._outcomes
        timeout_s = max(0, snapshot.settings.abandon_timeout_ms) / 1000.0
        until_needed = outcomes.reach + outcomes.amd_s + HANDOVER_S + timeout_s
        busy_times = self._busy_times(snapshot)
        forecast = AgentForecast.of(snapshot, self._history, busy_times, until_needed)
        freeing_mid = float(forecast.expected_freeing[len(HORIZON_LEVELS) // 2])
        if free == 0 and forecast.expected_freeing[-1] < NO_AGENTS_BELOW:
            why = (
                f"no free agent and {forecast.expected_freeing[-1]:.2f} expected to free "
                f"within {until_needed[-1]:.0f} s"
            )
            return _no_agents(agents, unresolved, why, predicted=freeing_mid)
        live_per_s = forecast.expected_freeing[-1] / float(until_needed[-1])
        allowed = allowance(snapshot.settings, snapshot.abandon, live_per_s)
        if allowed.risk <= 0.0:
            budget = snapshot.abandon
            why = (
                f"abandon budget: {budget.abandoned} abandoned of {budget.live_answered} "
                f"live in the {budget.window} window ({budget.rate_pct:.2f} %, target "
                f"{snapshot.settings.abandon_target_pct:.2f} %); one call per free agent"
            )
            return _one_per_free_agent(
                held, room, agents, unresolved, "abandon_budget", why, free + freeing_mid
            )
        cap_room = max(
            0, math.floor(snapshot.settings.max_lines_per_agent * agents + 1e-9) - unresolved
        )
        limit = min(room, cap_room)
        risk = _Risk(snapshot, AnswerModel(outcomes, p), forecast)
        low = min(progressive, limit + 1)
        allowed_risk = allowed.risk * self._calibration.scale
        wanted, next_risk = risk.most_calls(low, limit + 1, allowed_risk)
        launch = min(wanted, limit)
        if not allowed.budget_limited and CALIBRATE:
            aim = AIM * target_fraction(snapshot.settings, snapshot.abandon) * allowed.scale
            self._calibration.observe(risk.total(low, launch), launch, aim)
        reason = _reason(wanted, room, cap_room, allowed)
        why = (
            f"p(live)={p:.3f}; {free} free, {freeing_mid:.1f} expected to free within "
            f"{until_needed[len(HORIZON_LEVELS) // 2]:.0f} s ({forecast.basis}); "
            f"{unresolved} unresolved; one call more would find no agent "
            f"{next_risk:.1%} of the time (allowed {allowed_risk:.2%})"
        )
        if reason == "capacity":
            why += f"; capacity: {room} more calls allowed by ports and the node's cap"
        elif reason == "max_lines":
            why += f"; max_lines: {snapshot.settings.max_lines_per_agent:g} lines x {agents} agents"
        elif reason == "abandon_budget":
            why += (
                f"; abandon budget: {snapshot.abandon.allowed_more:.1f} abandons left "
                f"in the {snapshot.abandon.window} window"
            )
        return PacingDecision(
            launch=launch,
            dial_level=(unresolved + launch) / agents,
            predicted_free_agents=free + freeing_mid,
            reason=reason,
            detail=why,
        )


def _reason(wanted: int, room: int, cap_room: int, allowed: Allowance) -> str:
    if wanted > room and room <= cap_room:
        return "capacity"
    if wanted > cap_room:
        return "max_lines"
    if allowed.budget_limited:
        return "abandon_budget"
    return "predictive"


def _no_agents(agents: int, unresolved: int, why: str, predicted: float = 0.0) -> PacingDecision:
    return PacingDecision(
        launch=0,
        dial_level=unresolved / agents if agents else 0.0,
        predicted_free_agents=predicted,
        reason="no_agents",
        detail=why,
    )


def _one_per_free_agent(
    progressive: int,
    room: int,
    agents: int,
    unresolved: int,
    reason: str,
    why: str,
    predicted: float | None = None,
) -> PacingDecision:
    """One call per free agent, each holding its agent from the launch (the engine
    launches it as progressive's): ``progressive`` counts the free agents not already
    covered by calls that hold none."""
    launch = min(progressive, room)
    if room < progressive:
        reason = "capacity"
        why += f"; capacity: {room} more calls allowed by ports and the node's cap"
    return PacingDecision(
        launch=launch,
        dial_level=(unresolved + launch) / agents if agents else 1.0,
        predicted_free_agents=float(progressive + unresolved) if predicted is None else predicted,
        reason=reason,
        detail=why,
        holds_agents=True,
    )


__all__ = ["COLD_START_LIVE", "COLD_START_OUTCOMES", "SMALL_TEAM", "PredictivePacing"]
