"""What a campaign carries from one simulated day to the next within a seed.

The engine keeps one pacing-mode instance per campaign, reads the last few
hundred call outcomes from the call records and counts the abandon budget in the
campaign's window in the database; here a :class:`Campaign` holds the same: the
policy (one instance for all the seed's days), the last :data:`RECENT_CALLS`
ended attempts, each past day's live-answered and abandoned counts, and the
lead list with its due redials.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING

from opendialer.sdk.pacing import AbandonBudget, Distribution, EndedCall, OutcomeStats

from .scenario import Scenario
from .traces import CallDraws

if TYPE_CHECKING:
    from .policies import Policy, VirtualClock

#: Ended attempts the statistics are made of (the engine reads about as many).
RECENT_CALLS = 500
#: Completed busy times an IVR-like target reports (``--target-info full``).
BUSY_TIMES = 300
#: The statistics are recomputed (``OutcomeStats.from_calls``) at most this often.
STATS_REFRESH_S = 60.0
WINDOW_DAYS = {"24h": 1, "30d": 30, "campaign": 10**9}


class Leads:
    """The list being dialed: due redials first (oldest due first), then fresh leads.

    Unsuccessful attempts (no answer, busy, machine, a person hung up on by AMD,
    abandoned) are redialed ``retry_after_s`` later, up to ``max_attempts``
    (the product's defaults: 60 min, 5). Unlike the product, which dials leads
    oldest-due first and so finishes a freshly imported list before any redial,
    redials here come before fresh leads from an endless list: redials then
    happen within a day (attempts per lead per day means something) and no
    policy runs out of leads."""

    __slots__ = ("due", "max_attempts", "next_fresh", "retry_after_s")

    def __init__(self, retry_after_s: float, max_attempts: int) -> None:
        self.retry_after_s = retry_after_s
        self.max_attempts = max_attempts
        self.next_fresh = 0
        self.due: list[tuple[float, int, int]] = []  # (due at, lead, attempt index)

    def take(self, now: float) -> tuple[int, int]:
        if self.due and self.due[0][0] <= now:
            _, lead, attempt = heapq.heappop(self.due)
            return lead, attempt
        lead = self.next_fresh
        self.next_fresh += 1
        return lead, 0

    def finished(self, lead: int, attempt: int, now: float, final: bool) -> None:
        if not final and attempt + 1 < self.max_attempts:
            heapq.heappush(self.due, (now + self.retry_after_s, lead, attempt + 1))


class Campaign:
    """One campaign over the consecutive days of one seed."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        policy: Policy,
        clock: VirtualClock,
        *,
        target_pct: float = 3.0,
        window: str = "30d",
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.policy = policy
        self.target_pct = target_pct
        self.window = window
        self.draws = CallDraws(scenario, seed)
        self.leads = Leads(scenario.retry_after_s, scenario.max_attempts)
        self.recent: deque[EndedCall] = deque(maxlen=RECENT_CALLS)
        self._stats = OutcomeStats()
        self._stats_at = float("-inf")
        self._stats_dirty = False
        #: (live-answered, abandoned) of each finished day, as the dialer counts them.
        self.past_days: list[tuple[int, int]] = []
        self.day_live = 0
        self.day_abandoned = 0
        self._window_live = 0  # the window's days before today
        #: The modes' clock: it reads the time of the day being simulated.
        self.clock = clock
        self._window_abandoned = 0
        self._budget = AbandonBudget(window, target_pct)
        #: How long agents' recent calls kept them busy (what an IVR-like target
        #: reports), and its Distribution, remade with the statistics.
        self.busy_times: deque[float] = deque(maxlen=BUSY_TIMES)
        self._busy_history: Distribution | None = None
        self._busy_dirty = False
        self._busy_at = float("-inf")

    def agent_freed(self, busy_s: float) -> None:
        self.busy_times.append(busy_s)
        self._busy_dirty = True

    def busy_history(self, now: float) -> Distribution | None:
        """The recent busy times, remade as often as the statistics (None: none yet)."""
        if self._busy_dirty and now - self._busy_at >= STATS_REFRESH_S:
            self._busy_history = Distribution.of(self.busy_times)
            self._busy_at = now
            self._busy_dirty = False
        return self._busy_history

    def ended(self, call: EndedCall) -> None:
        self.recent.append(call)
        self._stats_dirty = True

    def stats(self, now: float) -> OutcomeStats:
        if self._stats_dirty and now - self._stats_at >= STATS_REFRESH_S:
            self._stats = OutcomeStats.from_calls(self.recent)
            self._stats_at = now
            self._stats_dirty = False
        return self._stats

    def budget(self) -> AbandonBudget:
        """The abandon budget in the window: today so far and the window's earlier days
        (whole days: the partial day at the window's far edge is left out, which only
        matters once more days than the window's length have run)."""
        live = self.day_live + self._window_live
        abandoned = self.day_abandoned + self._window_abandoned
        if live != self._budget.live_answered or abandoned != self._budget.abandoned:
            self._budget = AbandonBudget(self.window, self.target_pct, live, abandoned)
        return self._budget

    def close_day(self) -> None:
        self.past_days.append((self.day_live, self.day_abandoned))
        self.day_live = self.day_abandoned = 0
        earlier = WINDOW_DAYS[self.window] - 1
        days = self.past_days[-earlier:] if earlier > 0 else []
        self._window_live = sum(live for live, _ in days)
        self._window_abandoned = sum(abandoned for _, abandoned in days)


__all__ = ["RECENT_CALLS", "STATS_REFRESH_S", "Campaign", "Leads"]
