"""What a simulated contact-center day is made of: the scenario's parameters.

Every duration is in seconds, every time of day in seconds after midnight of the
campaign's local time (the virtual clock's UTC: the campaign's zone is UTC).

The defaults were settled so that a plain day at N=25, p=0.15, talk 120 s gives
the issue's reference figures (progressive ≈ 0.56 occupancy, the state-based
reference ≈ 0.87); the ring, AMD and agent figures come from ``docs/amd.md``
(human→machine 0.7-2.2 %, machine→human 8-14 %, people released ~0.6 s after
their greeting ends) and ordinary contact-center practice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

HOUR = 3600.0

#: Shape of the live-answer probability over the day (knots at 09:00 … 17:00,
#: mean 1): fewer people at home mid-morning, more around lunch and late afternoon.
ANSWER_PROFILE = (0.90, 0.88, 0.95, 1.12, 1.10, 0.96, 0.98, 1.03, 1.08)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    agents: int
    #: The day's mean probability that an attempt is answered by a person.
    answer_rate: float
    talk_mean_s: float
    #: Lognormal shape of the talk time (its sigma).
    talk_sigma: float = 0.6
    #: Wrap-up after a talk (exponential); 0 by default, like the plain simulation the
    #: issue's reference figures come from (``--wrap-mean`` sets it).
    wrap_mean_s: float = 0.0
    # -- the day --------------------------------------------------------------
    shift_start_s: float = 9 * HOUR
    shift_end_s: float = 17 * HOUR
    #: Agents log on uniformly over this after the shift starts (and off up to
    #: ``logoff_spread_s`` before it ends).
    logon_spread_s: float = 600.0
    logoff_spread_s: float = 600.0
    #: Two 15-minute breaks and a 30-minute lunch per agent, staggered.
    breaks: tuple[tuple[float, float, float], ...] = (
        # (earliest start, latest start, duration)
        (10.25 * HOUR, 11.0 * HOUR, 900.0),
        (12.0 * HOUR, 13.5 * HOUR, 1800.0),
        (14.75 * HOUR, 15.5 * HOUR, 900.0),
    )
    #: Per-day noise of each hourly knot of the answer profile (lognormal sigma).
    hourly_noise: float = 0.08
    # -- calls ----------------------------------------------------------------
    no_answer_timeout_s: float = 30.0
    #: Shares of the attempts no person answers (they sum to 1).
    machine_share: float = 0.20
    no_answer_share: float = 0.27
    busy_share: float = 0.53  # busy, congestion, unobtainable: short
    ring_live_mean_s: float = 9.0
    ring_machine_mean_s: float = 15.0
    busy_min_s: float = 1.0
    busy_max_s: float = 6.0
    # -- AMD ------------------------------------------------------------------
    #: A person judged a machine and hung up on (an Ofcom abandon).
    amd_false_positive: float = 0.01
    #: A machine judged a person and passed to an agent.
    amd_false_negative: float = 0.10
    #: A person's greeting ends this long after the answer (onset + "Hello?").
    greeting_onset_min_s: float = 0.3
    greeting_onset_max_s: float = 2.5
    greeting_word_mean_s: float = 0.7
    #: AMD releases a person this long after their greeting ends (median).
    amd_release_median_s: float = 0.6
    #: AMD's verdict on a machine comes this long after the answer.
    amd_machine_min_s: float = 3.0
    amd_machine_max_s: float = 8.0
    #: An agent handed a machine drops it after this long.
    machine_drop_min_s: float = 3.0
    machine_drop_max_s: float = 8.0
    # -- the product's semantics ---------------------------------------------
    abandon_timeout_s: float = 2.0
    safe_harbour_s: float = 6.0
    #: The agent's phone rings and connects this long after the claim.
    handover_min_s: float = 0.3
    handover_max_s: float = 0.8
    #: Pacing round after a wake-up (an agent freed): the engine's reaction.
    reaction_s: float = 0.1
    retry_after_s: float = 3600.0
    max_attempts: int = 5
    # -- shocks ---------------------------------------------------------------
    #: "Bad day": the answer rate halves at noon; a third of the agents log off at 15:00.
    bad_day: bool = False

    @property
    def ports(self) -> int:
        """The node's cap of concurrent calls for the campaign (ports and max_calls)."""
        return 4 * self.agents + 20

    def with_(self, **changes: object) -> Scenario:
        return replace(self, **changes)  # type: ignore[arg-type]


def scenario(agents: int, answer_rate: float, talk_mean_s: float, **extra: object) -> Scenario:
    name = f"N={agents} p={answer_rate:.2f} talk={talk_mean_s:.0f}s"
    return Scenario(name, agents, answer_rate, talk_mean_s).with_(**extra)


HEADLINE = scenario(25, 0.15, 120.0)

GRID_AGENTS = (5, 10, 25, 50, 100)
GRID_ANSWER = (0.10, 0.15, 0.30)
GRID_TALK = (60.0, 120.0, 300.0)


def bad_day(base: Scenario = HEADLINE) -> Scenario:
    return base.with_(name=f"bad day ({base.name})", bad_day=True)


def amd_fp(base: Scenario = HEADLINE) -> Scenario:
    return base.with_(name=f"amd_fp 5% ({base.name})", amd_false_positive=0.05)


def grid() -> list[Scenario]:
    cells = [scenario(n, p, t) for n in GRID_AGENTS for p in GRID_ANSWER for t in GRID_TALK]
    return [*cells, bad_day(), amd_fp()]


def quick_grid() -> list[Scenario]:
    """The reduced grid of ``--quick``: N ∈ {5, 25}, p=0.15, talk 120 s, and the two shocks."""
    return [scenario(5, 0.15, 120.0), HEADLINE, bad_day(), amd_fp()]


__all__ = [
    "ANSWER_PROFILE",
    "HEADLINE",
    "HOUR",
    "Scenario",
    "amd_fp",
    "bad_day",
    "grid",
    "quick_grid",
    "scenario",
]
