"""VICIdial's adaptive predictive dialing, re-implemented from its description.

A baseline for the bench, not a product plugin. Written from VICIdial's admin
documentation of the campaign fields (Dial Method ADAPT_*, Auto Dial Level,
Adapt Intensity Modifier, Dial Level Difference Target, Drop Percentage Limit,
Maximum Adapt Dial Level, Latest Server Time, Available Only Tally) and the
published outline of its two loops; where the description leaves a detail open,
the choice made here is stated (**settled**).

Dial loop, every 2.5 s (``AST_VDauto_dial``)::

    goal   = round(L × agents)            # round half up
    launch = max(0, goal − calls)

* ``agents``: agents logged on and not paused — ready, being handed a call,
  talking, or in wrap-up ("DONE": the disposition screen). Agents on a break are
  paused. (Available Only Tally = N, VICIdial's default.)
* ``calls``: the campaign's calls not yet over, *including calls with agents*:
  ringing, in AMD, waiting for an agent, being handed over, connected to an
  agent (a person talking, or a machine AMD passed, until the agent drops it).
  Abandoned calls playing the safe-harbour message are not counted.

Adapt loop, every 15 s (``AST_VDadapt``), from one sample a second of the
campaign's ready agents, calls waiting for an agent and agents (as above), over
the last 15 samples::

    m  = (mean(ready) − mean(waiting) + dl_diff_target) / mean(agents)
    m' = m × (1 + I/100)        if m ≥ 0     # I: Adapt Intensity Modifier
    m' = m × |I/100 − 1|        if m < 0
    L  ← L × (1 + m')

so with ``I = 0`` (VICIdial's default, used here) ``m' = m``; a positive ``I``
raises the level faster and lowers it slower, a negative one the opposite.
``dl_diff_target`` (default 0) is how many agents to keep waiting (−1: one agent
free on average; +1: one call waiting).

Then, in this order (**settled**):

1. *last minute*: if more than 50 % of the HUMAN-verdict calls resolved in the
   last 60 s were dropped, ``L ← L_before / 2`` (the current level halved,
   whatever step 0 suggested);
2. *the day's drop %* (drops ÷ HUMAN-verdict calls resolved today, VICIdial's
   ``drops_today_pct``; VICIdial's drop is our abandon: nobody within the drop
   timer, here the same 2 s) against the Drop Percentage Limit ``D`` (3 %):

   * ``ADAPT_HARD_LIMIT``: above ``D``, ``L`` may not exceed 1.0 (it can still go
     down) until the day's % is back under ``D``;
   * ``ADAPT_TAPERED`` (**the default here**, the most cautious over a day): the
     allowance runs from ``2 × D`` at the shift's start down to ``D`` at its end
     (Latest Server Time = the campaign's stop, 17:00), linearly —
     ``allowed = D × (1 + time left ÷ shift length)``; above it, ``L ≤ 1.0``;
   * ``ADAPT_AVERAGE``: above ``D``, ``L`` is scaled by ``D ÷ day %`` (pulled
     back in proportion to the excess, not to 1.0);
3. clamp ``L`` to [1.0, Maximum Adapt Dial Level = 3.0].

The level starts at 1.0 on the first day and is kept from day to day (VICIdial
stores it in the campaign). VICIdial's drop % is today's: it does not see a
30-day window. It knows its agents (logged on, ready): it is given them.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from .policies import Policy

if TYPE_CHECKING:
    from .sim import DaySim

METHODS = ("ADAPT_TAPERED", "ADAPT_HARD_LIMIT", "ADAPT_AVERAGE")
ADAPT_EVERY_S = 15.0
SAMPLES = 15
LAST_MINUTE_S = 60.0


class Vicidial(Policy):
    over_dials = True
    period_s = 2.5
    reacts = False

    def __init__(
        self,
        method: str = "ADAPT_TAPERED",
        *,
        intensity: float = 0.0,
        dl_diff_target: float = 0.0,
        max_level: float = 3.0,
        drop_limit_pct: float = 3.0,
        start_level: float = 1.0,
    ) -> None:
        if method not in METHODS:
            raise ValueError(
                f"unknown VICIdial dial method {method!r}; one of {', '.join(METHODS)}"
            )
        self.method = method
        self.name = "vicidial" if method == "ADAPT_TAPERED" else f"vicidial {method}"
        self.intensity = intensity
        self.dl_diff_target = dl_diff_target
        self.max_level = max_level
        self.drop_limit_pct = drop_limit_pct
        self.level = start_level
        self.samples: deque[tuple[int, int, int]] = deque(maxlen=SAMPLES)
        self.last_minute: deque[tuple[float, bool]] = deque()
        self.answers_today = 0
        self.drops_today = 0
        self.next_adapt = 0.0
        self.levels: list[float] = []

    def start_day(self, sim: DaySim) -> None:
        self.samples.clear()
        self.last_minute.clear()
        self.answers_today = self.drops_today = 0
        self.next_adapt = sim.open_s + ADAPT_EVERY_S
        self.open_s, self.close_s = sim.open_s, sim.close_s
        self.levels = [self.level]

    def resolved(self, t: float, abandoned: bool) -> None:
        self.answers_today += 1
        self.drops_today += abandoned
        self.last_minute.append((t, abandoned))

    def observe(self, sim: DaySim) -> None:
        self.samples.append((len(sim.ready), len(sim.waiting), sim.logged_on))
        if sim.t >= self.next_adapt:
            self.next_adapt += ADAPT_EVERY_S
            if sim.open_s <= sim.t < sim.close_s:
                self.adapt(sim.t)

    def decide(self, sim: DaySim) -> int:
        goal = int(self.level * sim.logged_on + 0.5)
        calls = sim.unresolved + sim.handing_over + sim.with_agent
        return max(0, goal - calls)

    @property
    def day_drop_pct(self) -> float:
        return 100.0 * self.drops_today / self.answers_today if self.answers_today else 0.0

    def adapt(self, t: float) -> None:
        n = len(self.samples)
        if not n:
            return
        ready = sum(s[0] for s in self.samples) / n
        waiting = sum(s[1] for s in self.samples) / n
        agents = sum(s[2] for s in self.samples) / n
        if agents <= 0:
            return
        m = (ready - waiting + self.dl_diff_target) / agents
        i = self.intensity / 100.0
        m = m * (1.0 + i) if m >= 0 else m * abs(i - 1.0)
        level = self.level * (1.0 + m)

        while self.last_minute and self.last_minute[0][0] < t - LAST_MINUTE_S:
            self.last_minute.popleft()
        if self.last_minute:
            drops = sum(1 for _, dropped in self.last_minute if dropped)
            if drops / len(self.last_minute) > 0.5:
                level = self.level / 2.0

        limit, today = self.drop_limit_pct, self.day_drop_pct
        if self.method == "ADAPT_HARD_LIMIT" and today > limit:
            level = min(level, 1.0)
        elif self.method == "ADAPT_TAPERED":
            left = max(0.0, (self.close_s - t) / (self.close_s - self.open_s))
            if today > limit * (1.0 + left):
                level = min(level, 1.0)
        elif self.method == "ADAPT_AVERAGE" and today > limit:
            level *= limit / today
        self.level = min(self.max_level, max(1.0, level))
        self.levels.append(self.level)

    def day_extra(self) -> dict[str, Any]:
        return {
            "level_min": min(self.levels),
            "level_max": max(self.levels),
            "level_mean": sum(self.levels) / len(self.levels),
            "level_end": self.level,
        }


__all__ = ["METHODS", "Vicidial"]
