"""The state-based binomial reference: a controller that knows the true state.

It knows what no dialer knows: the true live-answer probability now, the ring,
AMD and talk-time distributions, whether each answered call in AMD is a person,
and what every agent is doing and since when (not the future: not how long a
call will ring or a talk last, only their distributions given the time elapsed).

At each decision it launches the largest ``K`` with

    E[(A − V)+] ≤ ε · E[A],   ε = 0.03

* ``A``, the calls that will need an agent: every call in flight plus the ``K``
  new ones, each a Bernoulli of its conditional probability of a HUMAN verdict —
  ringing for ``e`` s: P(a person or a machine AMD passes, answers | no answer by
  ``e``); in AMD: ``1 − fp`` for a person, ``fn`` for a machine; waiting: 1;
* ``V``, the agents available: free now, plus each busy agent freeing within the
  horizon ``H`` (mean ring time of a person + mean greeting and AMD release, the
  time a new call takes to need an agent) with its conditional probability given
  its time in talk (talk + wrap-up) or wrap-up; agents due for a break or log-off
  count 0.

``E[(A − V)+]`` is taken from the normal approximation of ``A − V`` (means and
variances of the Bernoulli sums). Capped, like the product, at 3 calls not yet
with an agent per agent logged on.

``state-based-counts`` is the same controller knowing only what an OSCC queue and
the engine could know with perfect statistics: the true answer probability and
distributions still, but not which answered call in AMD is a person (each counts
P(HUMAN verdict | answered)) nor each agent's time in talk or coming break (the
busy agents free as a Poisson count at busy ÷ mean busy time per second). The two
bound what the product's ``predictive`` mode can reach with full information and
with counts only (docs/pacing.md, "How close to the bound").
"""

from __future__ import annotations

import math
from collections import Counter
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from .policies import Policy
from .scenario import Scenario
from .sim import HANDING_OVER, LIVE, TALKING, WRAPPING
from .traces import lognormal_params

if TYPE_CHECKING:
    from .sim import DaySim

STEP = 0.1  # seconds per cell of the ringing table
SQRT2 = math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@cache
def ring_survival(s: Scenario) -> tuple[list[float], list[float], list[float]]:
    """P(ring > e) of people, machines and busy calls, per ``STEP`` up to the timeout."""
    g = np.random.default_rng(12345)
    n = 200_000
    mu_l, sg_l = lognormal_params(s.ring_live_mean_s, 0.45)
    mu_m, sg_m = lognormal_params(s.ring_machine_mean_s, 0.35)
    live = np.sort(np.clip(g.lognormal(mu_l, sg_l, n), 1.5, s.no_answer_timeout_s - 0.5))
    machine = np.sort(np.clip(g.lognormal(mu_m, sg_m, n), 3.0, s.no_answer_timeout_s - 0.5))
    busy = np.sort(g.uniform(s.busy_min_s, s.busy_max_s, n))
    grid = np.arange(0.0, s.no_answer_timeout_s + 10 * STEP, STEP)

    def survival(x: np.ndarray) -> list[float]:
        return (1.0 - np.searchsorted(x, grid, side="right") / n).tolist()

    return survival(live), survival(machine), survival(busy)


@cache
def free_within(s: Scenario, horizon: float) -> tuple[float, list[float]]:
    """Seconds per cell and P(talk + wrap ≤ e + H | talk > e) per cell of elapsed talk."""
    g = np.random.default_rng(54321)
    n = 50_000
    mu, sg = lognormal_params(s.talk_mean_s, s.talk_sigma)
    talk = np.clip(g.lognormal(mu, sg, n), 5.0, 20 * s.talk_mean_s)
    total = talk + (g.exponential(s.wrap_mean_s, n) if s.wrap_mean_s > 0 else 0.0)
    step = max(1.0, s.talk_mean_s / 60.0)
    cells = []
    for e in np.arange(0.0, float(np.quantile(talk, 0.999)) + step, step):
        alive = talk > e
        cells.append(float(np.mean(total[alive] <= e + horizon)) if alive.any() else 1.0)
    return step, cells


class StateBased(Policy):
    name = "state-based"

    def __init__(
        self, scenario: Scenario, epsilon: float = 0.03, *, counts_only: bool = False
    ) -> None:
        s = self.s = scenario
        self.epsilon = epsilon
        self.counts_only = counts_only
        self.horizon = s.ring_live_mean_s + (
            (s.greeting_onset_min_s + s.greeting_onset_max_s) / 2
            + s.greeting_word_mean_s
            + s.amd_release_median_s
        )
        self.survival = ring_survival(s)
        self.talk_step, self.talk_free = free_within(s, self.horizon)
        self.wrap_free = 1.0 - math.exp(-self.horizon / s.wrap_mean_s) if s.wrap_mean_s else 1.0
        self._table_p = -1.0
        self._q: list[float] = []

    def _ringing_table(self, p: float) -> list[float]:
        """P(the call will need an agent | ringing e s), per cell, at answer probability p."""
        if abs(p - self._table_p) > 0.002:
            s = self.s
            live, machine, busy = self.survival
            m, na, b = ((1.0 - p) * x for x in (s.machine_share, s.no_answer_share, s.busy_share))
            fp, fn = s.amd_false_positive, s.amd_false_negative
            q = []
            for i in range(len(live)):
                ringing_on = na if i * STEP < s.no_answer_timeout_s else 0.0
                alive = p * live[i] + m * machine[i] + ringing_on + b * busy[i]
                q.append((p * live[i] * (1 - fp) + m * machine[i] * fn) / alive if alive else 0.0)
            self._q, self._table_p = q, p
        return self._q

    def decide(self, sim: DaySim) -> int:
        t, s = sim.t, self.s
        q = self._ringing_table(sim.answer_probability())
        mean_a = var_a = 0.0
        # Calls launched in one decision share their launch time: one lookup per group
        # (the table reaches past the no-answer timeout, the longest a call rings).
        for launched, count in Counter(sim.ringing.values()).items():
            x = q[int((t - launched) * 10.0)]
            mean_a += count * x
            var_a += count * x * (1.0 - x)
        fp, fn = s.amd_false_positive, s.amd_false_negative
        if self.counts_only:
            h = self._human_if_answered(sim.answer_probability())
            pending = len(sim.in_amd)
            mean_a += pending * h + len(sim.waiting)
            var_a += pending * h * (1 - h)
            return self._largest(sim, q[0], mean_a, var_a, *self._freeing_counts(sim))
        people = sum(1 for call in sim.in_amd if call.kind == LIVE)
        machines = len(sim.in_amd) - people
        mean_a += people * (1 - fp) + machines * fn + len(sim.waiting)
        var_a += people * fp * (1 - fp) + machines * fn * (1 - fn)

        mean_v = float(len(sim.ready))
        var_v = 0.0
        talk_free, step, cells = self.talk_free, self.talk_step, len(self.talk_free) - 1
        pending, calls, wrap_free = sim.pending, sim.agent_call, self.wrap_free
        for agent, state in enumerate(sim.state):
            if state < HANDING_OVER or state > WRAPPING or pending[agent] is not None:
                continue  # off, ready (counted), reserved, on a break, or leaving when free
            if state == TALKING:
                call = calls[agent]
                if call is None or call.kind != LIVE:
                    x = 1.0  # a machine: dropped in a few seconds
                else:
                    i = int((t - call.t_connect) / step)
                    x = talk_free[i if i < cells else cells]
            elif state == WRAPPING:
                x = wrap_free
            else:  # HANDING_OVER: the talk is about to start
                x = talk_free[0]
            mean_v += x
            var_v += x * (1.0 - x)

        return self._largest(sim, q[0], mean_a, var_a, mean_v, var_v)

    def _human_if_answered(self, p: float) -> float:
        s = self.s
        machines = (1.0 - p) * s.machine_share
        human = p * (1.0 - s.amd_false_positive) + machines * s.amd_false_negative
        return human / (p + machines) if p + machines > 0 else 1.0

    def _freeing_counts(self, sim: DaySim) -> tuple[float, float]:
        """Free agents, plus the busy ones freeing within the horizon as a Poisson count."""
        busy = sum(1 for state in sim.state if HANDING_OVER <= state <= WRAPPING)
        freeing = busy * self.horizon / (self.s.talk_mean_s + self.s.wrap_mean_s)
        return float(len(sim.ready)) + freeing, freeing

    def _largest(
        self, sim: DaySim, q_new: float, mean_a: float, var_a: float, mean_v: float, var_v: float
    ) -> int:
        """The excess grows with K: the largest K keeping it under ε·E[A], by bisection."""
        cap = min(3 * sim.logged_on - sim.unresolved, self.s.ports - sim.in_flight)
        lo, hi = 0, cap + 1  # lo: allowed; hi: not allowed (or past the cap)
        while hi - lo > 1:
            k = (lo + hi) // 2
            if self._allowed(k, mean_a, var_a, mean_v, var_v, q_new):
                lo = k
            else:
                hi = k
        return lo

    def _allowed(
        self, k: int, mean_a: float, var_a: float, mean_v: float, var_v: float, q_new: float
    ) -> bool:
        """E[(A − V)+] ≤ ε·E[A] with ``k`` more calls (normal approximation)."""
        ea = mean_a + k * q_new
        sigma = math.sqrt(var_a + k * q_new * (1 - q_new) + var_v) or 1e-9
        mu = ea - mean_v
        z = mu / sigma
        excess = sigma * INV_SQRT_2PI * math.exp(-0.5 * z * z) + mu * 0.5 * (
            1.0 + math.erf(z / SQRT2)
        )
        return excess <= self.epsilon * ea


__all__ = ["StateBased", "free_within", "ring_survival"]
