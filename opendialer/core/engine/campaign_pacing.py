"""One campaign's pacing on this node: what its mode is told, and what it decided.

The :class:`~opendialer.sdk.pacing.PacingSnapshot` holds what the contract
promises and nothing of the engine's insides:

* free agents now (the routing target's ``free_slots``; for an over-dialing campaign
  its fair share, ``fair_share.py``) and about a minute of :class:`AgentSample`;
* the campaign's calls on this node by phase (``CallBook``: launching, ringing, in
  AMD, waiting for an agent, with an agent); with a share, the other participants'
  calls beyond their share are counted as launching here (they will take agents of
  this share when answered). While another participant may not have counted this one
  in yet, the share is nothing: no free agent, none logged on;
* its outcome statistics over its last 500 ended calls (every node's), read every
  :data:`STATS_REFRESH_S`; its abandon budget in its window, read every
  :data:`BUDGET_REFRESH_S` (one budget for all nodes) plus this node's own calls
  ended since that read;
* agents logged on and how long each busy one has been busy, when the target tells
  (``sdk.ReportsAgents``), scaled to the share.

Every decision that launches or changes the reason or dial level, and at least
one every :data:`LOG_EVERY_S`, is logged as a ``pacing_decision`` line.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from opendialer.core.engine.call_attempt import NOT_YET_ON_PLATFORM, CallBook, CallPhase
from opendialer.core.engine.campaign_view import CampaignView
from opendialer.core.engine.fair_share import Share
from opendialer.core.engine.pacing_data import (
    VOICEMAIL,
    BudgetCounter,
    SafeHarbourMessage,
    abandon_budget,
    recent_outcome_stats,
)
from opendialer.core.engine.pacing_mode import CampaignMode
from opendialer.core.engine.window import TimeZoneError, zone
from opendialer.core.plugins import PluginManager
from opendialer.core.services.abandon_rate import is_live_answered
from opendialer.sdk.contracts import (
    AgentsState,
    CallDisposition,
    CallOutcome,
    CampaignPacingState,
    PluginContext,
    ReportsAgents,
    RoutingRequest,
    RoutingTarget,
)
from opendialer.sdk.pacing import (
    AbandonBudget,
    AgentSample,
    CallsInFlight,
    Distribution,
    OutcomeStats,
    PacingDecision,
    PacingSnapshot,
)

log = logging.getLogger("opendialer.engine.pacing")

#: A call in these phases may still need an agent (``CallsInFlight.unresolved``).
UNRESOLVED = (
    *NOT_YET_ON_PLATFORM,
    CallPhase.ON_PLATFORM,
    CallPhase.IN_AMD,
    CallPhase.WAITING_FOR_AGENT,
)

#: Seconds of agent samples a snapshot carries, and the least spacing between two.
HISTORY_S = 60.0
SAMPLE_EVERY_S = 0.5
#: How often the statistics, the abandon budget and the safe-harbour message's stamp
#: are read from the database (seconds; never per decision).
STATS_REFRESH_S = 10.0
BUDGET_REFRESH_S = 3.0
MESSAGE_REFRESH_S = 10.0
#: A decision that changes nothing is logged at least this often per campaign.
LOG_EVERY_S = 10.0


@dataclass(frozen=True, slots=True)
class Capacity:
    """What the engine lets the campaign use now, whatever the mode says."""

    free_ports: int
    global_max: int
    in_flight: int


class CampaignPacing:
    def __init__(
        self,
        pm: PluginManager,
        context: PluginContext,
        monotonic: Callable[[], float],
        campaign_id: int,
    ) -> None:
        self.campaign_id = campaign_id
        self._monotonic = monotonic
        self.mode = CampaignMode(pm, context, monotonic, campaign_id)
        #: Calls of this campaign on this node given an agent so far (a running total).
        self.handed_over = 0
        self.history: deque[AgentSample] = deque(maxlen=int(HISTORY_S / SAMPLE_EVERY_S) * 4)
        self.stats = OutcomeStats()
        self.message = SafeHarbourMessage(campaign_id)
        #: The message left on machines (voicemail drop), read with the other.
        self.voicemail = SafeHarbourMessage(campaign_id, VOICEMAIL)
        self._budget = AbandonBudget()
        self._counter = BudgetCounter(campaign_id)
        #: This node's live answers and abandons since the budget was last read.
        self._live_since = 0
        self._abandoned_since = 0
        self._read_at = {"stats": float("-inf"), "budget": float("-inf"), "message": float("-inf")}
        self.last: CampaignPacingState | None = None
        #: Read once from the database: the campaign's first decision waits for it (an
        #: over-dialed call must not go out before its safe-harbour message is known).
        self.ready = False
        self.agents: AgentsState | None = None
        self._busy_seen: tuple[float, ...] = ()
        self._busy_distribution: Distribution | None = None
        self._logged: tuple[str, float] | None = None
        self._logged_at = float("-inf")
        #: Participants of the fair share at the last snapshot (1: all the free agents);
        #: the fewest at a decision that launched since the calls were last looked at;
        #: per unresolved call, at its launch.
        self._among = 1
        self._launches_among: int | None = None
        self._launched_among: dict[str, int] = {}

    # -- database reads (housekeeping, not the pacer) --------------------------------

    async def refresh(self, campaign: CampaignView, now: datetime) -> None:
        """Read what is due: the abandon budget, the statistics, the message's stamp (any
        campaign's: one switched to an over-dialing mode has its message at once)."""
        mono = self._monotonic()
        read = self._read_at
        if mono - read["budget"] >= BUDGET_REFRESH_S:
            read["budget"] = mono
            live, abandoned = self._live_since, self._abandoned_since
            self._budget = await abandon_budget(self._counter, campaign.pacing, now, mono)
            # Counted here before the read began: the read holds them now.
            self._live_since -= live
            self._abandoned_since -= abandoned
        if mono - read["stats"] >= STATS_REFRESH_S:
            read["stats"] = mono
            self.stats = await recent_outcome_stats(campaign.id, campaign.timezone)
        if mono - read["message"] >= MESSAGE_REFRESH_S:
            read["message"] = mono
            await self.message.refresh()
            await self.voicemail.refresh()

    def count_outcome(self, outcome: CallOutcome) -> None:
        """A call of this node ended: counted in the budget until the next read holds it."""
        live = is_live_answered(
            outcome.answered_at is not None,
            outcome.disposition.value,
            outcome.amd.label.value if outcome.amd is not None else None,
        )
        self._live_since += live
        self._abandoned_since += outcome.disposition is CallDisposition.ABANDONED

    def budget(self, campaign: CampaignView) -> AbandonBudget:
        settings = campaign.pacing
        return replace(
            self._budget,
            window=settings.abandon_window,
            target_pct=settings.abandon_target_pct,
            live_answered=self._budget.live_answered + self._live_since,
            abandoned=self._budget.abandoned + self._abandoned_since,
        )

    # -- the snapshot -------------------------------------------------------------

    def snapshot(
        self,
        campaign: CampaignView,
        calls: CallBook,
        routing: RoutingTarget,
        request: RoutingRequest,
        capacity: Capacity,
        free: int,
        share: Share | None,
        now: datetime,
    ) -> PacingSnapshot:
        """``free``: the target's free slots; ``share``: the campaign's fair share of them
        (over-dialing), None: all of them."""
        mono = self._monotonic()
        beyond = 0
        self._among = share.participants if share is not None else 1
        if share is not None:
            free, beyond = (0 if share.waiting else share.free), share.beyond
        self._sample(mono, free)
        logged_on, busy_s = self._agents(routing, request, share)
        return PacingSnapshot(
            free_slots=free,
            free_ports=capacity.free_ports,
            global_max=capacity.global_max,
            in_flight=capacity.in_flight,
            settings=campaign.pacing,
            now_s=mono,
            local_hour=_local_hour(now, campaign.timezone),
            agent_history=tuple(self.history),
            agents_logged_on=logged_on,
            agent_busy_s=busy_s,
            agent_busy_history=self._busy_history(),
            calls=CallsInFlight(
                launching=calls.count(*NOT_YET_ON_PLATFORM) + beyond,
                ringing_s=calls.ages(CallPhase.ON_PLATFORM, mono),
                in_amd_s=calls.ages(CallPhase.IN_AMD, mono),
                waiting_for_agent=calls.count(CallPhase.WAITING_FOR_AGENT),
                with_agent=calls.count(CallPhase.WITH_AGENT),
            ),
            stats=self.stats,
            abandon=self.budget(campaign),
        )

    def _sample(self, mono: float, free: int) -> None:
        history = self.history
        if history and mono - history[-1].at_s < SAMPLE_EVERY_S and history[-1].free == free:
            return
        history.append(AgentSample(at_s=mono, free=free, handed_over=self.handed_over))
        while history and history[0].at_s < mono - HISTORY_S:
            history.popleft()

    def _agents(
        self, routing: RoutingTarget, request: RoutingRequest, share: Share | None
    ) -> tuple[int | None, tuple[float, ...] | None]:
        """Agents logged on and busy times, when the target tells; a share's part of them."""
        self.agents = None
        if not isinstance(routing, ReportsAgents):
            return None, None
        try:
            state = routing.agents_state(request)
        except Exception:
            log.exception("routing_agents_state_failed campaign=%s", self.campaign_id)
            return None, None
        self.agents = state
        if state is None:
            return None, None
        if share is not None and share.waiting:
            return 0, ()
        if share is None or share.participants == 1:
            return state.logged_on, tuple(state.busy_s)
        n, position = share.participants, share.position
        busy = tuple(sorted(state.busy_s)[position::n])
        return round(state.logged_on / n), busy

    def _busy_history(self) -> Distribution | None:
        """The target's recent busy times, one object while they do not change (modes
        cache what they derive from it by identity)."""
        state = self.agents
        if state is None or not state.recent_busy_s:
            return None
        if state.recent_busy_s != self._busy_seen:
            self._busy_seen = tuple(state.recent_busy_s)
            self._busy_distribution = Distribution.of(self._busy_seen)
        return self._busy_distribution

    def unresolved(self, calls: CallBook) -> tuple[int, int]:
        """This campaign's calls that may still need an agent, and the fewest participants
        of the fair share any of them was launched among (``fair_share.py``). Read by
        housekeeping: a call not seen before was launched by a decision since the last
        read, at the fewest participants of those decisions."""
        ids = calls.ids(*UNRESOLVED)
        known = self._launched_among
        for call_id in known.keys() - ids:
            del known[call_id]
        among = self._launches_among if self._launches_among is not None else self._among
        for call_id in ids - known.keys():
            known[call_id] = among
        self._launches_among = None
        return len(ids), min(known.values(), default=self._among)

    @property
    def occupancy(self) -> float | None:
        """Busy agents ÷ agents logged on, when the target tells (else None)."""
        state = self.agents
        if state is None or state.logged_on <= 0:
            return None
        return min(1.0, len(state.busy_s) / state.logged_on)

    # -- the decision -------------------------------------------------------------

    def decided(
        self, campaign: CampaignView, decision: PacingDecision, launched: int, now: datetime
    ) -> None:
        """Keep the decision (``launched``: the calls that went out) and log it."""
        kept = replace(decision, launch=launched)
        if launched > 0:
            self._launches_among = min(self._launches_among or self._among, self._among)
        budget = self.budget(campaign)
        self.last = CampaignPacingState(
            campaign_id=campaign.id,
            mode=campaign.pacing.mode,
            decision=kept,
            abandon=budget,
            decided_at=now,
        )
        mono = self._monotonic()
        key = (kept.reason, round(kept.dial_level, 1))
        if launched <= 0 and key == self._logged and mono - self._logged_at < LOG_EVERY_S:
            return
        self._logged, self._logged_at = key, mono
        log.info(
            "pacing_decision",
            extra={
                "campaign": campaign.id,
                "mode": campaign.pacing.mode,
                "launch": launched,
                "dial_level": round(kept.dial_level, 2),
                "predicted_free_agents": round(kept.predicted_free_agents, 2),
                "abandon_rate": f"{budget.rate_pct:.2f}%",
                "window": budget.window,
                "reason": kept.reason,
                "why": kept.detail or None,
            },
        )


def _local_hour(now: datetime, timezone: str) -> int:
    try:
        return now.astimezone(zone(timezone)).hour
    except TimeZoneError:
        return now.hour


__all__ = ["CampaignPacing", "Capacity"]
