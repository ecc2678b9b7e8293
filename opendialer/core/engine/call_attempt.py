"""One call's state on this node, from the claim to its stored outcome.

A :class:`CallAttempt` moves through its :class:`CallPhase` forwards only::

    CLAIMED ─► DNC_CHECK ─► LAUNCHING ─► ON_PLATFORM ─► IN_AMD ─► WAITING_FOR_AGENT ─► WITH_AGENT
       │      (skipped with    (attempt     (ringing)     (answered,  (over-dialing      (an agent
       │       no DNC service)  recorded)                  no verdict)  only)              holds it)
       │                                         └──────────────┴─► HANGING_UP (machine, abandoned)
       │                                   every phase on the platform ─► SETTLING ─► DONE
       └──────────── blocked, lease lost, refused, failed ──────────────────────────► DONE

The phases on the platform follow the ``CallRequest`` callbacks (``on_answered``,
the verdict, ``claim_agent``); a platform that does not call ``on_answered`` leaves
a call ON_PLATFORM until its verdict. The runner keeps its calls in a
:class:`CallBook`; what the pacer, metrics and Diagnostics count comes from it
(calls not yet on the platform, ringing, answered, waiting for an agent, calls
only storing their outcome), kept per phase as calls move, with the time each
call entered its phase.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum

from opendialer.core.engine.claims import ClaimedLead
from opendialer.core.engine.records import Attempt
from opendialer.sdk.contracts import RoutingTarget


class CallPhase(Enum):
    #: The lead is leased to this node (or, with no DNC check, its attempt already
    #: started in the claim's transaction); its routing slot is reserved.
    CLAIMED = "claimed"
    #: Its number is being checked against the campaign's DNC service.
    DNC_CHECK = "dnc_check"
    #: The attempt is being recorded; the call is about to be handed to the platform.
    LAUNCHING = "launching"
    #: ``platform.originate`` is running and the far end has not answered: ringing.
    ON_PLATFORM = "on_platform"
    #: Answered; AMD has not decided yet (with AMD off, the hand-over comes next).
    IN_AMD = "in_amd"
    #: A person is on the line and no agent is held for the call yet (over-dialing
    #: pacing: ``claim_agent`` is waiting up to the campaign's abandon timeout).
    WAITING_FOR_AGENT = "waiting_for_agent"
    #: An agent is held for the call: the transfer is under way (or done, while the
    #: platform finishes the call).
    WITH_AGENT = "with_agent"
    #: Answered and going nowhere: the verdict said hang up (a machine), or no agent
    #: came in time and the call is abandoned (safe-harbour message, then BYE).
    HANGING_UP = "hanging_up"
    #: Over on the platform, routing slot released; its outcome is being stored.
    SETTLING = "settling"
    DONE = "done"


#: Launched and not yet handed to the platform (they will take a port soon).
NOT_YET_ON_PLATFORM = (CallPhase.CLAIMED, CallPhase.DNC_CHECK, CallPhase.LAUNCHING)
#: Handed to the platform and not over there yet.
ON_THE_PLATFORM = (
    CallPhase.ON_PLATFORM,
    CallPhase.IN_AMD,
    CallPhase.WAITING_FOR_AGENT,
    CallPhase.WITH_AGENT,
    CallPhase.HANGING_UP,
)


@dataclass(eq=False, slots=True)
class CallAttempt:
    call_id: str
    lead: ClaimedLead
    routing: RoutingTarget
    #: When the pacer was woken for the round that launched it (latency figures).
    woken_at: float
    #: The started attempt (its call record); None until it is recorded.
    attempt: Attempt | None = None
    phase: CallPhase = CallPhase.CLAIMED
    task: asyncio.Task[None] | None = None
    #: The platform transferred the call (the routing target keeps its slot busy).
    transferred: bool = False
    #: The transferred call ended before ``originate`` returned: freed on release.
    ended_early: bool = False
    #: A routing slot is held for the call (progressive: from its launch; over-dialing:
    #: from the moment ``claim_agent`` got an agent) and is given back on release.
    holds_slot: bool = False
    #: Launched by an over-dialing pacing mode: no slot held while it rings.
    over_dialed: bool = False
    #: Monotonic seconds (the engine's clock) when the call entered its phase.
    since: float = 0.0
    _book: CallBook | None = field(default=None, repr=False)

    def enter(self, phase: CallPhase) -> None:
        """Move to ``phase`` (the book's counts and the phase's start time follow)."""
        if self._book is not None:
            self._book.moved(self, self.phase, phase)
        self.phase = phase

    @property
    def released(self) -> bool:
        """Its routing slot was given back (SETTLING or DONE)."""
        return self.phase in (CallPhase.SETTLING, CallPhase.DONE)


class CallBook:
    """The calls of one campaign on this node that are not DONE, by call id.

    ``monotonic`` is the engine's clock: each call's :attr:`CallAttempt.since`."""

    def __init__(self, monotonic: Callable[[], float] | None = None) -> None:
        self._calls: dict[str, CallAttempt] = {}
        self._counts: Counter[CallPhase] = Counter()
        self._monotonic = monotonic or (lambda: 0.0)

    def add(self, call: CallAttempt) -> None:
        call._book = self
        call.since = self._monotonic()
        self._calls[call.call_id] = call
        self._counts[call.phase] += 1

    def moved(self, call: CallAttempt, old: CallPhase, new: CallPhase) -> None:
        call.since = self._monotonic()
        self._counts[old] -= 1
        if new is CallPhase.DONE:
            self._calls.pop(call.call_id, None)
            call._book = None
        else:
            self._counts[new] += 1

    def get(self, call_id: str) -> CallAttempt | None:
        return self._calls.get(call_id)

    def count(self, *phases: CallPhase) -> int:
        """How many calls are in any of ``phases`` (all of them if none is given)."""
        if not phases:
            return len(self._calls)
        return sum(self._counts[p] for p in phases)

    def ages(self, phase: CallPhase, now: float) -> tuple[float, ...]:
        """Seconds each call in ``phase`` has been in it, at monotonic ``now``."""
        return tuple(max(0.0, now - c.since) for c in self._calls.values() if c.phase is phase)

    def ids(self, *phases: CallPhase) -> frozenset[str]:
        return frozenset(c.call_id for c in self._calls.values() if c.phase in phases)

    def as_dict(self) -> dict[str, CallAttempt]:
        return dict(self._calls)

    def tasks(self) -> list[asyncio.Task[None]]:
        return [c.task for c in self._calls.values() if c.task is not None]

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[CallAttempt]:
        return iter(list(self._calls.values()))


__all__ = ["NOT_YET_ON_PLATFORM", "ON_THE_PLATFORM", "CallAttempt", "CallBook", "CallPhase"]
