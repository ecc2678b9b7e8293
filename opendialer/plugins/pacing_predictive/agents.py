"""Agents who will be free over the next seconds, from what the routing target tells.

Two cases (``PacingSnapshot`` leaves ``None`` what a target cannot tell):

* **full information** (IVR channels, the simulator): each busy agent's elapsed busy
  time and the recent busy times (``agent_busy_history``) give each agent's chance to free
  within ``s`` seconds — the residual life of its call:
  ``(S(b) - S(b + s)) / S(b)`` — and the count that will is their Poisson-binomial;
* **counts only** (an OSCC queue): the rate agents free at, measured from the
  readings of the last minutes — freed over an interval = Δfree + Δhanded_over —
  and the count freeing within ``s`` seconds taken as Poisson. The rate is the
  smaller of that and the rate calls were handed over: a burst of log-ons raises the
  free count without anyone finishing a call, and must not read as agents freeing;
  a burst of log-offs lowers it, and does read as fewer agents freeing.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass

import numpy as np

from opendialer.plugins.pacing_predictive.answers import Vector, survival
from opendialer.plugins.pacing_predictive.counts import Rows, bernoulli_sum_rows, poisson_rows
from opendialer.sdk.pacing import AgentSample, PacingSnapshot

#: Readings kept (seconds), and the interval the freeing rate is measured over.
HISTORY_S = 700.0
RATE_WINDOW_S = 600.0
#: A rate measured over less than this is not a rate yet.
MIN_RATE_SPAN_S = 20.0
#: Busy agents whose elapsed time fewer recent calls reached than this are given the
#: memoryless residual life of the mean (the samples say too little about the tail).
MIN_TAIL_SAMPLES = 5
#: Busy time assumed when counting agents for the cap if the target tells none.
DEFAULT_TALK_S = 180.0


class AgentHistory:
    """Free-agent readings of the last few minutes (the snapshot brings about one)."""

    def __init__(self) -> None:
        self._samples: deque[AgentSample] = deque()

    def add(self, samples: tuple[AgentSample, ...], now_s: float) -> None:
        if self._samples and samples and samples[-1].at_s < self._samples[-1].at_s - 1.0:
            self._samples.clear()  # the clock went back: another engine run
        for sample in samples:
            if not self._samples or sample.at_s > self._samples[-1].at_s:
                self._samples.append(sample)
        while self._samples and self._samples[0].at_s < now_s - HISTORY_S:
            self._samples.popleft()

    def _first_since(self, at_s: float) -> AgentSample:
        """The oldest reading at or after ``at_s`` (readings are kept in time order: a
        binary search, not a walk through the ~3,500 readings of HISTORY_S, which was
        what a decision spent most on)."""
        return self._samples[bisect_left(self._samples, at_s, key=lambda s: s.at_s)]

    def _since(self, window_s: float) -> tuple[AgentSample, AgentSample] | None:
        if not self._samples:
            return None
        last = self._samples[-1]
        first = self._first_since(last.at_s - window_s)
        if last.at_s - first.at_s < MIN_RATE_SPAN_S:
            return None
        return first, last

    def freeing_rate(self) -> float | None:
        """Agents freed per second lately (None: too few readings yet)."""
        ends = self._since(RATE_WINDOW_S)
        if ends is None:
            return None
        first, last = ends
        span = last.at_s - first.at_s
        handed = last.handed_over - first.handed_over
        freed = (last.free - first.free) + handed
        return max(0.0, min(freed, handed)) / span

    def handed_within(self, window_s: float) -> int:
        """Calls handed to agents in the last ``window_s`` seconds of readings."""
        if not self._samples:
            return 0
        last = self._samples[-1]
        first = self._first_since(last.at_s - window_s)
        return max(0, last.handed_over - first.handed_over)


def residual_free_probabilities(talk: Vector, busy_s: Vector, within: Vector) -> Vector:
    """P(agent j frees within ``within[u]`` seconds | busy for ``busy_s[j]``), shape
    (horizons, agents), from the recent busy times ``talk`` (sorted)."""
    if len(busy_s) == 0:
        return np.zeros((len(within), 0))
    mean = float(talk.mean())
    now = survival(talk, busy_s)
    later = survival(talk, busy_s[None, :] + within[:, None])
    empirical = 1.0 - later / now[None, :]
    reached = len(talk) - np.searchsorted(talk, busy_s, side="right")
    memoryless = 1.0 - np.exp(-within[:, None] / max(mean, 1.0)) + 0.0 * busy_s[None, :]
    result = np.where(reached[None, :] >= MIN_TAIL_SAMPLES, empirical, memoryless)
    return np.clip(result, 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class AgentForecast:
    """Agents free now, and the distribution of how many more free within each horizon."""

    free_now: int
    #: Row u: P(k more agents free within horizon u).
    freeing: Rows
    expected_freeing: Vector
    #: How the freeing was estimated: ``busy_times``, ``rate`` or ``none``.
    basis: str

    @classmethod
    def of(
        cls, snapshot: PacingSnapshot, history: AgentHistory, talk: Vector, within: Vector
    ) -> AgentForecast:
        """``talk``: the recent busy times, sorted; ``within``: the horizons (seconds)."""
        free_now = max(0, snapshot.free_slots)
        busy = snapshot.agent_busy_s
        if busy is not None and len(talk) >= MIN_TAIL_SAMPLES:
            probs = residual_free_probabilities(talk, np.asarray(busy, dtype=np.float64), within)
            means = probs.sum(axis=1)
            variances = (probs * (1.0 - probs)).sum(axis=1)
            rows = bernoulli_sum_rows(means, variances, len(busy))
            return cls(free_now, rows, means, "busy_times")
        rate = history.freeing_rate()
        if rate is None or rate <= 0.0:
            none = np.zeros(len(within))
            return cls(free_now, poisson_rows(none), none, "none")
        means = rate * within
        return cls(free_now, poisson_rows(means), means, "rate")


def agents_counted(snapshot: PacingSnapshot, history: AgentHistory) -> int:
    """The agents the cap and the dial level count: logged on when the target tells;
    else free now, plus those holding this node's transfers, plus the calls handed
    over within one mean busy time (an estimate of those busy with this campaign)."""
    if snapshot.agents_logged_on is not None:
        return max(0, snapshot.agents_logged_on)
    talk = snapshot.stats.talk_s
    busy_time = talk.mean if len(talk) else DEFAULT_TALK_S
    busy = history.handed_within(busy_time if math.isfinite(busy_time) else DEFAULT_TALK_S)
    return max(0, snapshot.free_slots) + snapshot.calls.with_agent + busy


__all__ = [
    "AgentForecast",
    "AgentHistory",
    "agents_counted",
    "residual_free_probabilities",
]
