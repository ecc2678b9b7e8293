"""The random side of a simulated day, drawn so that every policy meets the same one.

Common random numbers: what a call does is drawn per *(lead, attempt)*, not per
launch, so the 7th attempt on lead 4,012 rings, is answered and talks the same
whichever policy launched it and whenever (only the live-answer draw is compared
with the answer probability of the moment it is launched). Agents' shifts and
breaks are drawn per *(seed, day, agent)*, the day's answer curve per
*(seed, day)*. Draws come from numpy in blocks of leads (``numpy.random.SeedSequence``
keyed by the seed and the block), kept as ``array('d')``: a call reads plain
floats.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

import numpy as np

from .scenario import ANSWER_PROFILE, HOUR, Scenario

BLOCK = 2048  # leads per block of draws

#: Where each drawn quantity sits in a block (one list per quantity).
U_KIND, RING_LIVE, RING_MACHINE, BUSY, GREETING, RELEASE = range(6)
AMD_MACHINE, U_AMD, TALK, WRAP, HANDOVER, MACHINE_DROP = range(6, 12)
QUANTITIES = 12

_STREAM_CALLS, _STREAM_AGENTS, _STREAM_CURVE = 1, 2, 3


def lognormal_params(mean: float, sigma: float) -> tuple[float, float]:
    """(mu, sigma) of the lognormal of this mean and shape."""
    return math.log(mean) - sigma * sigma / 2, sigma


class CallDraws:
    """Per (lead, attempt): every quantity a call may need, drawn once per block of leads."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self.attempts = scenario.max_attempts
        self._blocks: dict[int, list[array[float]]] = {}

    def block(self, lead: int) -> tuple[list[array[float]], int]:
        """The block holding ``lead`` and the row of its first attempt in each list."""
        number = lead // BLOCK
        found = self._blocks.get(number)
        if found is None:
            found = self._blocks[number] = self._draw(number)
            # Redials reach back hours, not 64 blocks; an evicted block a redial needs
            # is drawn again, identically (same seed, same block number).
            self._blocks.pop(number - 64, None)
        return found, (lead - number * BLOCK) * self.attempts

    def _draw(self, number: int) -> list[array[float]]:
        s = self.scenario
        g = np.random.default_rng([self.seed, _STREAM_CALLS, number])
        n = BLOCK * self.attempts
        timeout = s.no_answer_timeout_s
        mu_l, sg_l = lognormal_params(s.ring_live_mean_s, 0.45)
        mu_m, sg_m = lognormal_params(s.ring_machine_mean_s, 0.35)
        mu_t, sg_t = lognormal_params(s.talk_mean_s, s.talk_sigma)
        mu_w, sg_w = lognormal_params(s.greeting_word_mean_s, 0.5)
        out = [np.empty(0)] * QUANTITIES
        out[U_KIND] = g.random(n)
        out[RING_LIVE] = np.clip(g.lognormal(mu_l, sg_l, n), 1.5, timeout - 0.5)
        out[RING_MACHINE] = np.clip(g.lognormal(mu_m, sg_m, n), 3.0, timeout - 0.5)
        out[BUSY] = g.uniform(s.busy_min_s, s.busy_max_s, n)
        # Seconds from the answer to the end of the person's greeting.
        out[GREETING] = g.uniform(s.greeting_onset_min_s, s.greeting_onset_max_s, n) + np.clip(
            g.lognormal(mu_w, sg_w, n), 0.2, 2.5
        )
        out[RELEASE] = np.clip(g.lognormal(math.log(s.amd_release_median_s), 0.35, n), 0.3, 1.5)
        out[AMD_MACHINE] = g.uniform(s.amd_machine_min_s, s.amd_machine_max_s, n)
        out[U_AMD] = g.random(n)
        out[TALK] = np.clip(g.lognormal(mu_t, sg_t, n), 5.0, 20 * s.talk_mean_s)
        out[WRAP] = g.exponential(s.wrap_mean_s, n) if s.wrap_mean_s > 0 else np.zeros(n)
        out[HANDOVER] = g.uniform(s.handover_min_s, s.handover_max_s, n)
        out[MACHINE_DROP] = g.uniform(s.machine_drop_min_s, s.machine_drop_max_s, n)
        # Compact (8 bytes a value) and read as plain floats.
        return [array("d", a.astype(np.float64).tobytes()) for a in out]


@dataclass(frozen=True, slots=True)
class AgentDay:
    """One agent's planned day: log-on, log-off and breaks (start, duration), sorted."""

    logon_s: float
    logoff_s: float
    breaks: tuple[tuple[float, float], ...]


def agent_days(scenario: Scenario, seed: int, day: int) -> list[AgentDay]:
    """Every agent's plan for ``day`` (seconds after that day's midnight)."""
    s = scenario
    g = np.random.default_rng([seed, _STREAM_AGENTS, day])
    n = s.agents
    logon = s.shift_start_s + g.uniform(0, s.logon_spread_s, n)
    logoff = s.shift_end_s - g.uniform(0, s.logoff_spread_s, n)
    starts = [g.uniform(lo, hi, n) for lo, hi, _ in s.breaks]
    early = set()
    if s.bad_day:  # a third of the agents leave at 15:00, unannounced
        early = {int(a) for a in g.permutation(n)[: n // 3]}
    plans = []
    for a in range(n):
        off = 15 * HOUR if a in early else float(logoff[a])
        breaks = tuple(
            (float(start[a]), duration)
            for start, (_, _, duration) in zip(starts, s.breaks, strict=True)
            if start[a] < off
        )
        plans.append(AgentDay(float(logon[a]), off, breaks))
    return plans


class AnswerCurve:
    """The day's live-answer probability: the profile's hourly knots × per-day noise,
    scaled to the scenario's mean, linear between knots (halved from noon on a bad day)."""

    def __init__(self, scenario: Scenario, seed: int, day: int) -> None:
        g = np.random.default_rng([seed, _STREAM_CURVE, day])
        knots = np.array(ANSWER_PROFILE) * g.lognormal(
            0.0, scenario.hourly_noise, len(ANSWER_PROFILE)
        )
        knots *= scenario.answer_rate / knots.mean()
        self.knots = [min(0.95, float(k)) for k in knots]
        self.start_s = scenario.shift_start_s
        self.bad_day = scenario.bad_day

    def at(self, second_of_day: float) -> float:
        x = (second_of_day - self.start_s) / HOUR
        last = len(self.knots) - 1
        if x <= 0:
            p = self.knots[0]
        elif x >= last:
            p = self.knots[last]
        else:
            i = int(x)
            p = self.knots[i] + (self.knots[i + 1] - self.knots[i]) * (x - i)
        if self.bad_day and second_of_day >= 12 * HOUR:
            p *= 0.5
        return p


__all__ = [
    "AMD_MACHINE",
    "BUSY",
    "GREETING",
    "HANDOVER",
    "MACHINE_DROP",
    "RELEASE",
    "RING_LIVE",
    "RING_MACHINE",
    "TALK",
    "U_AMD",
    "U_KIND",
    "WRAP",
    "AgentDay",
    "AnswerCurve",
    "CallDraws",
    "agent_days",
    "lognormal_params",
]
