"""The pacing contract: what a pacing mode sees, and what it answers.

A pacing mode is asked, several times a second per running campaign, how many
calls to launch now. It sees a :class:`PacingSnapshot` — free agents now and how
that count moved, the campaign's calls in flight by phase, the campaign's recent
outcome statistics and the abandon budget left in its window — and answers with
a :class:`PacingDecision` (``decide``) or a plain count (``calls_to_launch``,
the older form; the engine accepts either). Nothing of the engine's insides is
here: the same modes are driven by the engine and by ``bench/pacing.py``'s
simulated day through this one module.

Two families of modes:

* a mode whose ``over_dials`` is False (``progressive``) launches at most one
  call per free agent; each call holds an agent from its launch;
* a mode whose ``over_dials`` is True (``power``, ``predictive``) may launch more
  calls than free agents. Its calls hold no agent while they ring: when a person
  answers, the engine waits up to the campaign's ``abandon_timeout_ms`` for a free
  agent; if none frees, the call is **abandoned** (the safe-harbour message is
  played and the call hung up) and counts against the abandon budget.

What a contact center tells us differs: an OSCC queue gives only the count of
free agents; IVR channels and the simulator also know how many agents are logged
on and how long each busy one has been busy. Fields a target cannot fill are
``None``; a mode must work with counts alone.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

#: The pacing modes the dialer ships (built-in plugins of these names).
PROGRESSIVE = "progressive"
POWER = "power"
PREDICTIVE = "predictive"

#: Abandon windows a campaign may choose: the last 24 hours (UK Ofcom), the last
#: 30 days (US TSR), or the campaign's whole life.
ABANDON_WINDOWS = ("24h", "30d", "campaign")


@dataclass(frozen=True, slots=True)
class PacingSettings:
    """The campaign's pacing fields, as the admin set them."""

    mode: str = PROGRESSIVE
    #: ``power``: calls launched per free agent (1.0-5.0).
    lines_per_agent: float = 1.5
    #: Abandoned calls allowed, in percent of live-answered calls in the window.
    abandon_target_pct: float = 3.0
    #: One of :data:`ABANDON_WINDOWS`.
    abandon_window: str = "30d"
    #: A person not handed to an agent within this after the AMD verdict is abandoned.
    abandon_timeout_ms: int = 2000
    #: Cap: calls not yet with an agent per agent (VICIdial's "dial level" cap).
    max_lines_per_agent: float = 3.0


@dataclass(frozen=True, slots=True)
class AgentSample:
    """One reading of the routing target: free agents at ``at_s`` (monotonic seconds),
    and how many of this campaign's calls had been handed to agents by then (a running
    total: freed agents over an interval = Δfree + Δhanded_over)."""

    at_s: float
    free: int
    handed_over: int


@dataclass(frozen=True, slots=True)
class CallsInFlight:
    """The campaign's calls on this node that have not reached an agent, by phase."""

    #: Claimed, DNC check or being recorded: not yet sent.
    launching: int = 0
    #: Seconds since each ringing call was sent (INVITE out, no answer yet).
    ringing_s: tuple[float, ...] = ()
    #: Answered, AMD still deciding: seconds since each was answered.
    in_amd_s: tuple[float, ...] = ()
    #: A person is on the line and no agent is free yet (over-dialing modes only).
    waiting_for_agent: int = 0
    #: Handed to an agent and still on this node's platform (transfer under way).
    with_agent: int = 0

    @property
    def unresolved(self) -> int:
        """Calls that may still need an agent: launching, ringing, in AMD, waiting."""
        return self.launching + len(self.ringing_s) + len(self.in_amd_s) + self.waiting_for_agent


@dataclass(frozen=True, slots=True)
class Distribution:
    """Recent samples of one duration (seconds), sorted; empty when nothing is known."""

    samples: tuple[float, ...] = ()

    @classmethod
    def of(cls, values: Iterable[float]) -> Distribution:
        return cls(tuple(sorted(float(v) for v in values)))

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else math.nan

    def quantile(self, q: float) -> float:
        if not self.samples:
            return math.nan
        index = min(len(self.samples) - 1, max(0, round(q * (len(self.samples) - 1))))
        return self.samples[index]

    def cdf(self, t: float) -> float:
        """P(X ≤ t) over the samples (0.0 when empty)."""
        if not self.samples:
            return 0.0
        return bisect_right(self.samples, t) / len(self.samples)


@dataclass(frozen=True, slots=True)
class EndedCall:
    """One finished attempt as the statistics need it (the engine reads these from the
    call records, the bench from its simulated calls)."""

    #: The campaign's local hour (0-23) the call was launched in.
    hour: int
    #: A person answered (HUMAN verdict, or answered with AMD off): it needed an agent.
    live: bool
    #: Seconds from sending to the answer (answered calls) or to the end (others).
    ring_s: float
    #: The call was answered (by a person or a machine).
    answered: bool = False
    #: Seconds from the answer to the AMD verdict (None: no AMD on this call).
    amd_s: float | None = None
    #: Seconds the agent was busy with it, when the target tells (None: unknown).
    talk_s: float | None = None
    #: The person was abandoned (no agent within the timeout).
    abandoned: bool = False


@dataclass(frozen=True, slots=True)
class OutcomeStats:
    """The campaign's recent outcomes (the engine keeps the last few hundred calls)."""

    #: Ended attempts these figures come from.
    outcomes: int = 0
    live_answers: int = 0
    #: P(live answer) per attempt, over all the recent outcomes.
    answer_probability: float = 0.0
    #: P(live answer) per attempt by the campaign's local hour (hours with outcomes only).
    answer_probability_by_hour: Mapping[int, float] = field(default_factory=dict)
    #: Seconds to answer of the calls a person answered.
    ring_live_s: Distribution = field(default_factory=Distribution)
    #: Seconds to the end of the calls no person answered (no answer, busy, machine...).
    ring_other_s: Distribution = field(default_factory=Distribution)
    #: Seconds an agent was busy with a call, when the target tells (else empty).
    talk_s: Distribution = field(default_factory=Distribution)
    #: Seconds from the answer to the AMD verdict.
    amd_delay_s: Distribution = field(default_factory=Distribution)

    @classmethod
    def from_calls(cls, calls: Sequence[EndedCall]) -> OutcomeStats:
        """The statistics of ``calls`` (the most recent last; all of them are used)."""
        if not calls:
            return cls()
        live = [c for c in calls if c.live]
        by_hour: dict[int, list[int]] = {}
        for c in calls:
            tally = by_hour.setdefault(c.hour, [0, 0])
            tally[0] += 1
            tally[1] += c.live
        return cls(
            outcomes=len(calls),
            live_answers=len(live),
            answer_probability=len(live) / len(calls),
            answer_probability_by_hour={h: n_live / n for h, (n, n_live) in by_hour.items()},
            ring_live_s=Distribution.of(c.ring_s for c in live),
            ring_other_s=Distribution.of(c.ring_s for c in calls if not c.live),
            talk_s=Distribution.of(c.talk_s for c in calls if c.talk_s is not None),
            amd_delay_s=Distribution.of(c.amd_s for c in calls if c.amd_s is not None),
        )


@dataclass(frozen=True, slots=True)
class AbandonBudget:
    """Abandoned and live-answered calls of the campaign in its window (all engine
    nodes: counted in the database), against its target."""

    window: str = "30d"
    target_pct: float = 3.0
    live_answered: int = 0
    abandoned: int = 0

    @property
    def rate_pct(self) -> float:
        return 100.0 * self.abandoned / self.live_answered if self.live_answered else 0.0

    @property
    def allowed_more(self) -> float:
        """Abandons still allowed now without the window's rate passing the target
        (negative: over it). Grows as live answers come in."""
        return self.target_pct / 100.0 * self.live_answered - self.abandoned


@dataclass(frozen=True, slots=True)
class PacingSnapshot:
    """Everything a pacing mode is told for one decision about one campaign."""

    #: Free agents (OSCC) or free IVR channels the routing target reports for this
    #: campaign, net of the agents this node already holds for its calls; with several
    #: campaigns on one queue or several engine nodes, this campaign's share.
    free_slots: int
    #: Free ports of the platform (calls it can still place now).
    free_ports: int
    #: The node's cap of concurrent calls left for this campaign.
    global_max: int
    #: This campaign's calls on this node not yet over on the platform.
    in_flight: int
    settings: PacingSettings = field(default_factory=PacingSettings)
    #: Monotonic seconds of this decision (the engine's clock; the bench's virtual one).
    now_s: float = 0.0
    #: The campaign's local hour (0-23), for ``answer_probability_by_hour``.
    local_hour: int = 0
    #: Recent readings of free agents, oldest first (about the last minute).
    agent_history: tuple[AgentSample, ...] = ()
    #: Agents (or IVR channels) logged on in the campaign's share, when the target
    #: knows; None for an OSCC queue (only free counts are known).
    agents_logged_on: int | None = None
    #: Seconds each busy agent has been busy, when the target knows (else None).
    agent_busy_s: tuple[float, ...] | None = None
    #: How long the agents' recent calls kept them busy (completed), when the target
    #: knows (else None); the same object from one snapshot to the next until it changes.
    agent_busy_history: Distribution | None = None
    calls: CallsInFlight = field(default_factory=CallsInFlight)
    stats: OutcomeStats = field(default_factory=OutcomeStats)
    abandon: AbandonBudget = field(default_factory=AbandonBudget)


@dataclass(frozen=True, slots=True)
class PacingDecision:
    """How many calls to launch now, and why (logged, and shown as metrics)."""

    launch: int
    #: Lines per agent the decision aims at (calls not yet with an agent ÷ agents
    #: counted; 1.0 is progressive).
    dial_level: float = 1.0
    #: Agents the mode expects to be free when the calls it counts are answered.
    predicted_free_agents: float = 0.0
    #: A short code: ``progressive``, ``cold_start``, ``small_team``, ``power``, ``predictive``,
    #: ``abandon_budget`` (held back to keep under the target), ``max_lines`` (the cap),
    #: ``no_agents``, ``capacity`` (ports or the node's cap)...
    reason: str = PROGRESSIVE
    #: One English sentence for the log (``pacing_decision ... why=...``).
    detail: str = ""
    #: An over-dialing mode's calls of this decision hold an agent from their launch,
    #: as progressive's do (its one-call-per-free-agent fallbacks: learning, a small
    #: team): a person they reach never waits, so they never abandon. ``launch`` then
    #: counts the free agents, which are net of the agents held.
    holds_agents: bool = False


class PacingMode(Protocol):
    """Decides how many calls to launch now. Constructed as ``factory(context)``.

    A mode may also define ``decide(snapshot) -> PacingDecision`` (preferred: the
    engine logs and exports its dial level and reason) and a class attribute
    ``over_dials = True`` when it launches calls without an agent held for each
    (see the module's docstring). The engine makes one instance per campaign, so a
    mode may keep state between decisions (a dial level it adapts)."""

    def calls_to_launch(self, snapshot: PacingSnapshot) -> int: ...


@runtime_checkable
class ExplainsPacing(Protocol):
    def decide(self, snapshot: PacingSnapshot) -> PacingDecision: ...


def decide(mode: PacingMode, snapshot: PacingSnapshot) -> PacingDecision:
    """Ask ``mode`` for a decision, whichever form it answers in."""
    if isinstance(mode, ExplainsPacing):
        return mode.decide(snapshot)
    return PacingDecision(launch=max(0, int(mode.calls_to_launch(snapshot))))


def over_dials(mode: PacingMode) -> bool:
    """The mode launches calls without an agent held for each (``over_dials = True``)."""
    return bool(getattr(mode, "over_dials", False))


__all__ = [
    "ABANDON_WINDOWS",
    "POWER",
    "PREDICTIVE",
    "PROGRESSIVE",
    "AbandonBudget",
    "AgentSample",
    "CallsInFlight",
    "Distribution",
    "EndedCall",
    "ExplainsPacing",
    "OutcomeStats",
    "PacingDecision",
    "PacingMode",
    "PacingSettings",
    "PacingSnapshot",
    "decide",
    "over_dials",
]
