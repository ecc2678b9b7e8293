"""The policies a simulated day can be dialed with.

* the product's pacing modes (``progressive``, ``power``, ``predictive`` and any
  other registered one), got as the engine gets them: from the plugin manager's
  ``pacing_modes`` factories by name, built once per campaign as
  ``factory(context=...)`` with a :class:`~opendialer.core.plugin_context.DialerContext`
  whose clock is the simulation's virtual clock, and asked ``decide(snapshot)``
  with a :class:`~opendialer.sdk.pacing.PacingSnapshot` built from what the
  engine could know (``view.snapshot``);
* baselines that read the simulation directly: :class:`FixedRatio` (the oracle
  searched per scenario), ``vicidial.Vicidial`` and ``reference.StateBased``.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from opendialer.core.plugin_context import DialerContext
from opendialer.core.plugins import PluginManager
from opendialer.sdk.pacing import ExplainsPacing, PacingSettings, decide, over_dials

from .cpu import cpu_ns, spent_ns
from .scenario import Scenario
from .view import snapshot

if TYPE_CHECKING:
    from .sim import DaySim

#: Day 0's midnight on the virtual clock (a Monday; the campaign's zone is UTC).
EPOCH = datetime(2026, 3, 2, tzinfo=UTC)


class VirtualClock:
    """The engine's clock protocol on the simulation's time (``now``, ``monotonic``)."""

    def __init__(self) -> None:
        self.sim: DaySim | None = None

    def monotonic(self) -> float:
        return self.sim.t if self.sim is not None else 0.0

    def now(self) -> datetime:
        return EPOCH + timedelta(seconds=self.monotonic())

    async def sleep(self, seconds: float) -> None:
        """Nothing awaits in the simulation; a mode that sleeps gets no time from it."""

    def wake(self) -> None:
        if self.sim is not None:
            self.sim.wake()


class Policy:
    """What the simulation asks of a policy; the defaults suit the engine's cadence."""

    name = ""
    #: Calls hold no agent while they ring (see ``sdk/pacing.py``).
    over_dials = True
    #: The last decision's calls hold their agents all the same (``holds_agents``).
    holds_agents = False
    #: Seconds between timed decisions.
    period_s = 1.0
    #: Also decides ``reaction_s`` after an agent frees.
    reacts = True
    #: Nanoseconds of the last decision's own work (0: the simulation times the call).
    last_ns = 0
    #: Reads the campaign's outcome statistics (the simulation keeps ended attempts).
    reads_stats = False

    def start_day(self, sim: DaySim) -> None:
        """A day starts (the same instance dials all the seed's days)."""

    def observe(self, sim: DaySim) -> None:
        """Once a second, before the timed decision."""

    def resolved(self, t: float, abandoned: bool) -> None:
        """A call with a HUMAN verdict got an agent or was abandoned."""

    def decide(self, sim: DaySim) -> int:
        raise NotImplementedError

    def day_extra(self) -> dict[str, Any]:
        """Figures of the day particular to this policy (kept in ``DayResult.extra``)."""
        return {}


@cache
def pacing_factories() -> dict[str, Any]:
    """The installed pacing modes by name, as the engine's plugin manager lists them."""
    return PluginManager().load_all().factories("pacing_modes")


class ModePolicy(Policy):
    """A product pacing mode, driven through the SDK pacing contract."""

    reads_stats = True

    def __init__(
        self, name: str, settings: PacingSettings, clock: VirtualClock, *, full_info: bool = False
    ) -> None:
        factories = pacing_factories()
        if name not in factories:
            known = ", ".join(sorted(factories))
            raise KeyError(f"no pacing mode named {name!r} is installed (installed: {known})")
        context = DialerContext(clock, {"node_id": "bench-pacing"}, clock.wake)
        self.name = name
        self.mode = factories[name](context=context)
        self.over_dials = over_dials(self.mode)
        # What ``sdk.pacing.decide`` calls, looked up once: its runtime Protocol check
        # costs ~14 µs a call (Python 3.11), more than the progressive mode itself.
        explains = isinstance(self.mode, ExplainsPacing)
        self._decide = self.mode.decide if explains else partial(decide, self.mode)
        self.settings = settings
        self.full_info = full_info
        self.reasons: Counter[str] = Counter()
        self.level_sum = 0.0

    def start_day(self, sim: DaySim) -> None:
        self.reasons = Counter()
        self.level_sum = 0.0

    def decide(self, sim: DaySim) -> int:
        snap = snapshot(sim, self.settings, full_info=self.full_info)
        started = cpu_ns()
        decision = self._decide(snap)
        self.last_ns = spent_ns(started)
        self.holds_agents = decision.holds_agents
        self.reasons[decision.reason] += 1
        self.level_sum += decision.dial_level
        return max(0, int(decision.launch))

    def day_extra(self) -> dict[str, Any]:
        n = sum(self.reasons.values())
        return {
            "reasons": dict(self.reasons),
            "mean_dial_level": self.level_sum / n if n else 0.0,
        }


class FixedRatio(Policy):
    """The oracle baseline: a fixed *total lines per logged-on agent* (VICIdial's RATIO
    dial level): launch up to ``floor(ratio × agents logged on, not on a break)`` minus
    every call of the campaign not yet over with an agent (ringing, in AMD, waiting,
    being handed over, talking). The best ratio is searched per scenario."""

    def __init__(self, ratio: float) -> None:
        self.ratio = ratio
        self.name = f"fixed {ratio:.2f}"

    def decide(self, sim: DaySim) -> int:
        lines = int(self.ratio * sim.logged_on + 1e-9)
        calls = sim.unresolved + sim.handing_over + sim.with_agent
        return max(0, lines - calls)


def product_settings(
    name: str, lines_per_agent: float, target_pct: float, scenario: Scenario
) -> PacingSettings:
    """The campaign's pacing fields: the product's defaults, the scenario's timeout."""
    return PacingSettings(
        mode=name,
        lines_per_agent=lines_per_agent,
        abandon_target_pct=target_pct,
        abandon_window="30d",
        abandon_timeout_ms=round(scenario.abandon_timeout_s * 1000),
        max_lines_per_agent=3.0,
    )


__all__ = [
    "EPOCH",
    "FixedRatio",
    "ModePolicy",
    "Policy",
    "VirtualClock",
    "pacing_factories",
    "product_settings",
]
