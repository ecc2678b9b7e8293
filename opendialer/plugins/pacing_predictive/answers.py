"""How likely each unresolved call is to need an agent, and when.

From the campaign's recent outcomes (``OutcomeStats``):

* ``p``, the chance an attempt is answered by a person: the recent figure, blended
  with the figure of the current local hour once that hour has enough calls of its
  own (so a collapse or a rise at a given hour is followed within minutes, not after
  the few hundred recent calls have turned over);
* for a call still ringing after ``t`` seconds, the chance a person answers it
  within the next ``r`` seconds, from the ring times of live answers (``ring_live_s``)
  and of the other calls (``ring_other_s``)::

      p * (S_live(t) - S_live(t + r)) / (p * S_live(t) + (1 - p) * S_other(t))

  where ``S`` are survival functions (a call that has rung longer than most live
  answers take is probably not going to be one);
* for an answered call whose AMD verdict is pending, P(person | answered).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from opendialer.sdk.pacing import OutcomeStats, PacingSnapshot

Vector = npt.NDArray[np.float64]

#: Outcomes of the current hour at which its own answer rate weighs as much as the
#: recent one's.
HOUR_HALF_WEIGHT = 100.0


def survival(sorted_samples: Vector, x: Vector) -> Vector:
    """P(X > x) from sorted samples, with half a sample of tail so it is never 0."""
    n = len(sorted_samples)
    above = n - np.searchsorted(sorted_samples, x, side="right")
    return np.asarray((above + 0.5) / (n + 1.0), dtype=np.float64)


class AnswerRate:
    """P(live answer) per attempt now; remembers when the local hour began."""

    def __init__(self) -> None:
        self._hour: int | None = None
        self._launched_at_hour_start = 0
        self.launched = 0

    def estimate(self, snapshot: PacingSnapshot) -> float:
        stats = snapshot.stats
        if snapshot.local_hour != self._hour:
            self._hour = snapshot.local_hour
            self._launched_at_hour_start = self.launched
        recent = stats.answer_probability
        this_hour = stats.answer_probability_by_hour.get(snapshot.local_hour)
        if this_hour is None:
            return recent
        # Calls of this hour that have ended: launched since it began, less those still
        # unresolved (the per-hour figure counts ended calls only).
        ended = max(0, self.launched - self._launched_at_hour_start - snapshot.calls.unresolved)
        weight = ended / (ended + HOUR_HALF_WEIGHT)
        return weight * this_hour + (1.0 - weight) * recent


def human_if_answered(stats: OutcomeStats) -> float:
    """P(a person | answered), for calls whose AMD verdict is pending."""
    answered_with_amd = len(stats.amd_delay_s)
    if answered_with_amd < stats.live_answers or answered_with_amd == 0:
        return 1.0  # AMD on some calls only: count every pending one as a person
    return min(1.0, stats.live_answers / answered_with_amd)


def person_verdict_s(stats: OutcomeStats) -> float:
    """Mean seconds from the answer to a HUMAN verdict. The statistics mix every
    answered call's verdict time; a person's greeting is short and a machine's long,
    so the people are taken as the fastest P(person | answered) share of them."""
    samples = stats.amd_delay_s.samples
    if not samples:
        return 0.0
    fastest = samples[: max(1, round(human_if_answered(stats) * len(samples)))]
    return sum(fastest) / len(fastest)


@dataclass(frozen=True, slots=True)
class RecentOutcomes:
    """The arrays a decision needs from ``OutcomeStats``, made once per statistics
    object (the engine refreshes them far less often than it decides)."""

    stats: OutcomeStats
    ring_live: Vector
    ring_other: Vector
    #: Seconds within which each of the levels' share of live answers are answered.
    reach: Vector
    #: Mean seconds from answer to the AMD verdict (0 without AMD).
    amd_s: float
    human_if_answered: float
    #: Recent busy times, sorted (empty when the target does not tell).
    talk: Vector

    @classmethod
    def of(cls, stats: OutcomeStats, levels: Vector) -> RecentOutcomes:
        ring_live = np.asarray(stats.ring_live_s.samples, dtype=np.float64)
        return cls(
            stats=stats,
            ring_live=ring_live,
            ring_other=np.asarray(stats.ring_other_s.samples, dtype=np.float64),
            reach=np.quantile(ring_live, levels) if len(ring_live) else np.zeros(len(levels)),
            amd_s=person_verdict_s(stats),
            human_if_answered=human_if_answered(stats),
            talk=np.asarray(stats.talk_s.samples, dtype=np.float64),
        )


@dataclass(frozen=True, slots=True)
class AnswerModel:
    """What the recent outcomes say about the calls in flight, at answer rate ``p``."""

    outcomes: RecentOutcomes
    p: float

    def ringing_live_within(self, ages: Vector, within: Vector) -> npt.NDArray[np.float64]:
        """For each horizon ``within[j]`` and ringing call ``i`` (rung ``ages[i]`` s):
        P(a person answers it in the next ``within[j]`` seconds). Shape (horizons, calls)."""
        if len(ages) == 0:
            return np.zeros((len(within), 0))
        p = min(1.0, max(0.0, self.p))
        live, other = self.outcomes.ring_live, self.outcomes.ring_other
        live_now = survival(live, ages)
        other_now = survival(other, ages) if len(other) else np.zeros(len(ages))
        still_ringing = p * live_now + (1.0 - p) * other_now
        live_later = survival(live, ages[None, :] + within[:, None])
        answered = p * np.maximum(0.0, live_now[None, :] - live_later)
        result: npt.NDArray[np.float64] = answered / np.maximum(still_ringing, 1e-12)[None, :]
        return np.clip(result, 0.0, 1.0)


__all__ = ["AnswerModel", "AnswerRate", "RecentOutcomes", "human_if_answered", "survival"]
