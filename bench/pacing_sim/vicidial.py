"""VICIdial's adaptive predictive dialing, re-implemented from what VICIdial does.

A baseline for the bench, not a product plugin. The facts below were read in
VICIdial 2.14's own sources and documents (AGPLv2; read, not copied):
``bin/AST_VDauto_dial.pl`` (the dial loop), ``bin/AST_VDadapt.pl`` (the adapt
loop and the drop statistics), ``docs/PREDICTIVE.txt`` (the campaign fields) and
``extras/MySQL_AST_CREATE_tables.sql`` (the fields' defaults, the statuses). What
the simulation has to map onto VICIdial's states is marked **settled**.

Agent states. VICIdial's live agents are READY (waiting for a call), QUEUE (a
call is being put through: our hand-over), INCALL (on a call: a person, or a
machine AMD passed, until the agent hangs up) and PAUSED. An agent on the
disposition screen after a call is PAUSED (the realtime report shows it as
"DISPO"), so our **wrap-up is PAUSED**; an agent on a break is PAUSED and still
logged in (**settled**: breaks are pause codes, not log-offs). An INCALL agent
whose customer has hung up ("DEAD") is left out of the dial loop's count; here
the agent goes to wrap-up at once, so there are none.

Dial loop, every 2.5 s (``AST_VDauto_dial``)::

    agents = READY + QUEUE + INCALL (with a live call)     # not PAUSED
    goal   = round(L × agents)                             # Perl's %.0f: half to even
    launch = max(0, goal − calls)

* ``agents`` with Available Only Tally = N (the default; Y would count READY
  only). The Dial Level Difference Target is *not* added here: it is, only
  with ``dl_diff_target_method = CALLS_PLACED``; the default is
  ``ADAPT_CALC_ONLY`` (the target only steers the adapt loop).
* ``calls``: the campaign's rows in ``vicidial_auto_calls`` with status SENT,
  RINGING, LIVE, XFER or CLOSER — every call placed and not hung up, **including
  the calls connected to agents** (XFER). Here: ringing, in AMD, waiting for an
  agent, being handed over, connected (people and machines AMD passed). A
  dropped call goes to its drop message and out of that count (**settled**).
  So ``L`` counts lines per agent including the ones talking: at ``L = 1`` only
  free agents get calls (progressive-like), and ``L × agents − talking`` lines
  ring for the free agents.

Adapt loop (``AST_VDadapt``). Once a second it samples, campaign-wide, the
agents READY (or DONE, a status not in use), the calls LIVE (answered, waiting
for an agent) and *all* logged-in agents of every status, PAUSED included
(here: logged on plus on a break); every 15 s, from the last 15 samples::

    m  = (mean(ready) − mean(waiting) + dl_diff_target) / mean(all agents)
    m' = m × (1 + I/100)        if m ≥ 0     # I: Adapt Intensity Modifier
    m' = m × |I/100 − 1|        if m < 0
    L' = round(L × (1 + m'), 3), then capped at the Maximum Adapt Dial Level (3.0)
         and raised to 1.0

so with ``I = 0`` (the default) ``m' = m``. Its fixed point is mean(ready) =
mean(waiting) − dl_diff_target: with the target 0 it pushes ``L`` up until agents
no longer wait for calls, and only a queue of answered calls pulls it down — one
that lasts at most the drop timer (here 2 s), so the pull is weak: at the
headline scenario (N=25, p=0.15, talk 120 s) the loop alone keeps ``L`` between 2
and 3 at 50 % abandons. What keeps the drops in check is the day's drop rule
below — with it ``L`` mostly holds 1.0 while the day's % is over the limit and
climbs ×(1 + ready/agents) every 15 s, to 2-3 within a minute, when it dips under.
That is VICIdial's design, kept; a negative Dial Level Difference Target (agents
kept waiting) gives the loop a fixed point short of that.

Drop statistics, refreshed once a minute (the adapt loop uses the last ones):
calls, answers and drops since midnight and in the last minute. A *call* is
any attempt logged (``vicidial_log``; here: every attempt that ended — no
answer, busy, machine, hung up by AMD, put through, dropped); a *drop* is status
DROP (our abandon: nobody within the drop timer; machines AMD passed included);
*answers* are the human-answered statuses — the dispositions of people put
through and DROP, not the answering-machine ones (A, AA). So the day's drop % is
drops ÷ (people put through + drops). (**Settled**: a person counts when put
through; VICIdial's status is set at the disposition, a talk later.)

Then, in this order:

1. *the last minute*: if more than 20 calls were logged in it and over 50 % of
   them (of all calls, not of answers) were dropped, ``L' ← L' / 2``;
2. *the day*: if more than 50 calls were logged today and the day's drop %
   exceeds the Drop Percentage Limit ``D`` (3 %):

   * ``ADAPT_HARD_LIMIT``: ``L' ← 1.0``;
   * ``ADAPT_AVERAGE``: ``L' ← L' / 2`` (the document's "tries to maintain an
     average" is, in the code, a halving at each adapt step while over);
   * ``ADAPT_TAPERED`` (**the default here**): ``L' ← L' × r`` with
     ``r = 1`` if the Latest Server Time is more than ``1000`` ahead and
     ``r = (latest − now) / 1000`` otherwise, both *HHMM numbers* (at 09:00 with
     latest 1700: ``(1700 − 900)/1000 = 0.8``; at 12:59: ``0.441``; at 13:00:
     ``0.4``); past the latest time ``L' ← 1.0``. Applied at every adapt step
     while over the limit, so ``L`` settles where ``(1 + m) × r = 1``: over the
     limit it keeps about ``1/r − 1`` of its agents waiting (25 % at 09:00), and
     from 12:00 (``r ≤ 0.5``) it holds 1.0. Latest Server Time: the campaign's
     stop (17:00 here), as the document tells the admin to set it (the field's
     default, 2100, would leave a 9-to-5 day unchecked until 11:00);
3. ``L ← max(1.0, L')``.

The level starts at 1.0 on the first day and is kept from day to day (VICIdial
stores it in the campaign). VICIdial's drop % is today's: it does not see a
30-day window.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from .policies import Policy
from .sim import ON_BREAK, WRAPPING

if TYPE_CHECKING:
    from .sim import DaySim

METHODS = ("ADAPT_TAPERED", "ADAPT_HARD_LIMIT", "ADAPT_AVERAGE")
ADAPT_EVERY_S = 15.0
SAMPLES = 15
DROP_STATS_EVERY_S = 60.0
LAST_MINUTE_S = 60.0
#: The drop rules act only on more calls than these (VICIdial's thresholds).
MIN_CALLS_LAST_MINUTE = 20
MIN_CALLS_TODAY = 50
LAST_MINUTE_DROP_PCT = 50.0


def hhmm(seconds_of_day: float) -> int:
    """The server's time as VICIdial reads it: hour and minute as one number (9:05 → 905)."""
    minutes = int(seconds_of_day // 60)
    return (minutes // 60) * 100 + minutes % 60


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
        latest_server_time: int | None = None,
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
        #: HHMM; None: the scenario's shift end.
        self.latest_server_time = latest_server_time
        self.latest = latest_server_time or 1700
        self.level = start_level
        self.base = 0.0
        self.samples: deque[tuple[int, int, int]] = deque(maxlen=SAMPLES)
        #: (time, attempts ended today, drops today), one a second over the last minute.
        self.counts: deque[tuple[float, int, int]] = deque()
        # The drop statistics as last refreshed.
        self.calls_today = self.answers_today = self.drops_today = 0
        self.calls_one = self.drops_one = 0
        self.next_adapt = self.next_drop_stats = 0.0
        self.levels: list[float] = []

    def start_day(self, sim: DaySim) -> None:
        self.samples.clear()
        self.counts.clear()
        self.calls_today = self.answers_today = self.drops_today = 0
        self.calls_one = self.drops_one = 0
        self.base = sim.base
        if self.latest_server_time is None:
            self.latest = hhmm(sim.close_s - sim.base)
        self.next_adapt = sim.open_s + ADAPT_EVERY_S
        self.next_drop_stats = sim.open_s
        self.levels = [self.level]

    def observe(self, sim: DaySim) -> None:
        t, r = sim.t, sim.r
        on_break = sim.state.count(ON_BREAK)
        self.samples.append((len(sim.ready), len(sim.waiting), sim.logged_on + on_break))
        self.counts.append((t, r.ended, r.abandoned_counted))
        while len(self.counts) > 1 and self.counts[1][0] <= t - LAST_MINUTE_S:
            self.counts.popleft()
        if not sim.open_s <= t < sim.close_s:
            return
        if t >= self.next_drop_stats:
            self.next_drop_stats += DROP_STATS_EVERY_S
            self.drop_stats(r.ended, r.people_connected, r.abandoned_counted)
        if t >= self.next_adapt:
            self.next_adapt += ADAPT_EVERY_S
            self.adapt(t)

    def drop_stats(self, calls: int, people_put_through: int, drops: int) -> None:
        self.calls_today, self.drops_today = calls, drops
        self.answers_today = people_put_through + drops
        _, calls_then, drops_then = self.counts[0] if self.counts else (0.0, 0, 0)
        self.calls_one, self.drops_one = calls - calls_then, drops - drops_then

    def decide(self, sim: DaySim) -> int:
        agents = sim.logged_on - sim.state.count(WRAPPING)
        goal = round(self.level * agents)
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
        m = m * abs(i - 1.0) if m < 0 else m * (i + 1.0)
        level = round(self.level * (1.0 + m), 3)
        level = max(1.0, min(self.max_level, level))

        if (
            self.calls_one > MIN_CALLS_LAST_MINUTE
            and 100.0 * self.drops_one / self.calls_one > LAST_MINUTE_DROP_PCT
        ):
            level /= 2.0
        if self.calls_today > MIN_CALLS_TODAY and self.day_drop_pct > self.drop_limit_pct:
            if self.method == "ADAPT_HARD_LIMIT":
                level = 1.0
            elif self.method == "ADAPT_AVERAGE":
                level /= 2.0
            else:
                left = self.latest - hhmm(t - self.base)
                level = 1.0 if left < 0 else level * min(1.0, left / 1000.0)
        self.level = max(1.0, level)
        self.levels.append(self.level)

    def day_extra(self) -> dict[str, Any]:
        return {
            "level_min": min(self.levels),
            "level_max": max(self.levels),
            "level_mean": sum(self.levels) / len(self.levels),
            "level_end": self.level,
        }


__all__ = ["METHODS", "Vicidial", "hhmm"]
