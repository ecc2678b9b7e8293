"""One campaign on one node: how many calls now, and each call's way through.

``pace()`` asks the campaign's own pacing mode (``campaign_pacing.py``: a
:class:`~opendialer.sdk.pacing.PacingSnapshot` in, a decision out, within the
engine's edges of ``pacing_mode.py``), claims that many due leads and starts a
task per lead. Each call is a :class:`~opendialer.core.engine.call_attempt.CallAttempt`
going through its phases — DNC check (skipped when the campaign has no DNC
service) → attempt recorded → ``platform.originate`` → outcome recorded →
hooks — on one path (:mod:`opendialer.core.engine.call_flow`).

A progressive launch reserves a routing slot per call the moment its lead is
claimed, so the next ``pace()`` never counts it again. An over-dialing launch
reserves nothing: the call takes an agent when a person answers
(``agent_claims.py``), or is abandoned.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from opendialer.core import held
from opendialer.core.domain import ScheduleState
from opendialer.core.engine.agent_claims import AgentClaims
from opendialer.core.engine.call_attempt import (
    NOT_YET_ON_PLATFORM,
    CallAttempt,
    CallBook,
    CallPhase,
)
from opendialer.core.engine.call_flow import run_call
from opendialer.core.engine.campaign_pacing import CampaignPacing, Capacity
from opendialer.core.engine.campaign_view import CampaignView, verdict_action
from opendialer.core.engine.claims import claim_due_leads
from opendialer.core.engine.contact_limits import ContactLimits
from opendialer.core.engine.fair_share import Pool
from opendialer.core.engine.local_hours import (
    CampaignZones,
    open_keys,
    policy_limits_zones,
    zone_keys,
)
from opendialer.core.engine.pacing_mode import SHARE_PENDING, guarded_decision, waits_for_agents
from opendialer.core.engine.records import (
    cancel_attempt,
    claim_and_start_attempts,
    release_leases,
)
from opendialer.core.engine.scheduler import DialableEntry, set_schedule_reason
from opendialer.core.held import Hold, hold
from opendialer.sdk.contracts import ClaimsSlots, RoutingRequest, RoutingTarget
from opendialer.sdk.pacing import over_dials

if TYPE_CHECKING:
    from opendialer.core.engine.engine import Engine

log = logging.getLogger("opendialer.engine.calls")


def _release_quietly(routing: RoutingTarget, call_id: str) -> None:
    try:
        routing.release(call_id, False)
    except Exception:
        log.exception("routing_release_failed call_id=%s", call_id)


#: Seconds a campaign's pacing rounds must keep failing before it is shown held for it.
FAULT_AFTER_S = 5.0
#: While they fail, its rounds are tried again this often (not at every wake: a round
#: that failed after its claim committed would claim more leads each time).
FAULT_RETRY_S = 1.0


class CampaignRunner:
    def __init__(self, engine: Engine, entry: DialableEntry) -> None:
        self.engine = engine
        self.campaign_id = entry.campaign.id
        self.campaign: CampaignView = entry.campaign
        self.entry: DialableEntry | None = None
        #: This campaign's calls on this node, each with its phase.
        self.calls = CallBook(engine.clock.monotonic)
        self.throttle_reason = ""
        #: Since when (monotonic) its pacing rounds fail, and the reason stored for it.
        self._failing_since: float | None = None
        self._fault_detail = ""  # the first error of the run of failures
        self._fault_reason = ""
        self._retry_at = -math.inf
        #: Its pacing mode, what the mode is told, its last decision.
        self.pacing = CampaignPacing(
            engine.pm, engine.context, engine.clock.monotonic, self.campaign_id
        )
        #: Its answered over-dialed calls waiting for an agent.
        self.agents = AgentClaims(self)
        #: Its last claim found every lead it asked for (False: none left due now, so
        #: it takes no share of the free agents until a claim finds some again).
        self.leads_left = True
        #: Its leads' zone keys (local hours), read again every minute.
        self.zones = CampaignZones()
        self.update(entry)

    # -- what others read (pacer, metrics, Diagnostics, benches) -----------------

    @property
    def in_flight(self) -> dict[str, CallAttempt]:
        """Calls launched and not finished (from the DNC check to the stored outcome)."""
        return self.calls.as_dict()

    @property
    def pending(self) -> frozenset[str]:
        """Launched, not yet handed to the platform."""
        return self.calls.ids(*NOT_YET_ON_PLATFORM)

    @property
    def settling(self) -> frozenset[str]:
        """Over on the platform, slot released, outcome not yet stored."""
        return self.calls.ids(CallPhase.SETTLING)

    def calls_up(self) -> int:
        """Calls launched and not yet over on the platform (outcomes being stored excluded)."""
        return len(self.calls) - self.calls.count(CallPhase.SETTLING)

    def calls_pending(self) -> int:
        return self.calls.count(*NOT_YET_ON_PLATFORM)

    # -- pacing --------------------------------------------------------------

    def update(self, entry: DialableEntry | None) -> None:
        self.entry = entry
        if entry is not None:
            self.campaign = entry.campaign
            self.throttle_reason = entry.reason
        if not self.dialing:  # no rounds now: a later failure starts a run of its own
            self._failing_since = None
            self._retry_at = -math.inf

    def may_pace(self, monotonic: float) -> bool:
        """False while its rounds fail and the next try is not due (FAULT_RETRY_S)."""
        return monotonic >= self._retry_at

    @property
    def dialing(self) -> bool:
        return self.entry is not None and self.entry.state == ScheduleState.RUNNING.value

    def routing_request(self) -> RoutingRequest:
        return self.campaign.routing_request()

    def over_dials_now(self) -> bool:
        """Dialing now with an over-dialing mode, on a platform that waits for agents."""
        if not (self.dialing and self.pacing.ready):
            return False
        mode, _ = self.pacing.mode.current(self.campaign.pacing.mode)
        return mode is not None and over_dials(mode) and waits_for_agents(self.engine.platform)

    def shares_agents(self) -> bool:
        """One of its pool's participants in the fair share: over-dialing now, with leads
        left (a campaign with none due takes no part of the free agents)."""
        return self.leads_left and self.over_dials_now()

    @property
    def pool(self) -> Pool:
        """Campaigns with the same pool share their agents (fair_share.py)."""
        return (self.campaign.routing_target, self.campaign.queue)

    async def pace(self, now: datetime, woken_at: float) -> int:
        """Launch as many calls as pacing allows now; how many were launched."""
        if not self.dialing or not self.pacing.ready:
            return 0
        engine = self.engine
        mode, why = self.pacing.mode.current(self.campaign.pacing.mode)
        if mode is None:
            await self._throttle(why)
            return 0
        routing, why = await engine.routing.target_for(self.campaign)
        if routing is None:
            await self._throttle(why)
            return 0
        request = self.routing_request()
        health = routing.health(request)
        platform = engine.platform.health()
        if not health.ok:
            why = hold(
                held.ROUTING_UNHEALTHY, target=self.campaign.routing_target, detail=health.detail
            )
        elif not platform.ok and getattr(engine.platform, "nothing_chosen", False):
            why = hold(held.PLATFORM_NOT_CHOSEN)  # a new install: a Master must choose one
        elif not platform.ok:
            why = hold(held.PLATFORM_DOWN, detail=platform.detail)
        if why is None:
            why = engine.short_calls.hold_for(self.campaign)
            if why is not None:  # its caller ID's calls are too short today: none launched
                await self._throttle(why)
                return 0
        zones: list[str | None] | None = None
        if why is None:
            zones, why = await self._open_zones(now)
            if zones is not None and not zones:
                await self._throttle(why)
                return 0
        await self._throttle(why)
        waits = waits_for_agents(engine.platform)
        free = routing.free_slots(request)
        share = None
        if over_dials(mode) and waits:
            share = engine.shares.share(
                self.campaign_id, free, engine.over_dialing_campaigns(self.pool), now.timestamp()
            )
        others = engine.calls_up_total() - self.calls_up()
        capacity = Capacity(
            free_ports=max(0, engine.platform.free_ports() - engine.pending_total()),
            global_max=max(0, engine.max_calls - others),
            in_flight=self.calls_up(),
        )
        snapshot = self.pacing.snapshot(
            self.campaign, self.calls, routing, request, capacity, free, share, now
        )
        decision, over = guarded_decision(mode, snapshot, platform_waits=waits, all_free=free)
        if share is not None and share.waiting and over and decision.launch == 0:
            decision = replace(
                decision,
                reason=SHARE_PENDING,
                detail="waiting until the other engine nodes pacing this campaign's pool "
                "count this node in, so the free agents are not over-dialed twice",
            )
        calls = await self._launch(
            now, decision.launch, routing, request, woken_at, over=over, zones=zones
        )
        self.pacing.decided(self.campaign, decision, len(calls), now)
        return len(calls)

    async def _open_zones(self, now: datetime) -> tuple[list[str | None] | None, Hold | None]:
        """The zone keys whose leads may be called now (None: all), and why the campaign
        waits when none may (``local_hours_closed``)."""
        policy = self.campaign.compliance
        if not policy_limits_zones(policy):
            return None, None
        clock = self.engine.clock.monotonic()
        if self.zones.stale(clock):
            self.zones.keys = await zone_keys(self.campaign_id)
            self.zones.read_at = clock
        keys = self.zones.keys
        allowed = open_keys(policy, keys, self.campaign.timezone, now)
        if allowed is None or allowed:
            return allowed, None
        when = self.zones.next_opening_text(policy, self.campaign.timezone, now)
        return allowed, hold(held.LOCAL_HOURS_CLOSED, opens=when or "-")

    async def _launch(
        self,
        now: datetime,
        wanted: int,
        routing: RoutingTarget,
        request: RoutingRequest,
        woken_at: float,
        *,
        over: bool,
        zones: list[str | None] | None = None,
    ) -> list[CallAttempt]:
        """Claim up to ``wanted`` leads and start their calls. Progressive: a routing slot
        per call, held from now (claimed across nodes first where the target shares
        them). Over-dialing: none; a call takes an agent when a person answers."""
        if wanted <= 0:
            return []
        engine = self.engine
        granted: list[str] = []
        if not over and isinstance(routing, ClaimsSlots):
            # Several nodes share the slots: launch only the calls whose slot the
            # target claimed in the database (exact across nodes).
            granted = await routing.claim_slots(request, [uuid.uuid4().hex for _ in range(wanted)])
            if not granted:
                return []
            wanted = len(granted)
        new_call_id: Callable[[], str] = (
            iter(granted).__next__ if granted else (lambda: uuid.uuid4().hex)
        )
        calls: list[CallAttempt] = []
        try:
            calls = await self._claim(now, wanted, new_call_id, routing, woken_at, zones)
            self.leads_left = len(calls) >= wanted
        finally:
            if granted:  # fewer due leads than slots claimed: give the rest back
                used = {call.call_id for call in calls}
                for call_id in granted:
                    if call_id not in used:
                        routing.release(call_id, False)
        log.debug(
            "pace_round campaign=%s wanted=%d launched=%d over_dialing=%s since_wake_ms=%.1f",
            self.campaign_id,
            wanted,
            len(calls),
            over,
            (engine.clock.monotonic() - woken_at) * 1000,
        )
        for index, call in enumerate(calls):
            if over:
                call.over_dialed = True
            else:
                try:
                    routing.reserve(request, call.call_id)
                except Exception:
                    # claimed (and started) but not sent: given back, or the leads would
                    # stay leased with open records until the node restarts
                    unsent = calls[index:]
                    for left in unsent:
                        if left.call_id in granted:
                            _release_quietly(routing, left.call_id)
                    await self._give_back(unsent, now, "routing target failed to reserve")
                    raise
                call.holds_slot = True
            self.calls.add(call)
            engine.metrics.launched += 1
            call.task = run_call(self, call)
        return calls

    async def _give_back(self, calls: list[CallAttempt], now: datetime, reason: str) -> None:
        """Calls claimed that will not be launched: each attempt undone (due again as
        before), each lead claimed for a DNC check released."""
        engine = self.engine
        for call in calls:
            if call.attempt is not None:
                await cancel_attempt(
                    engine.db, call.attempt, due_at=call.lead.due_at, at=now, reason=reason
                )
        unstarted = [call.lead for call in calls if call.attempt is None]
        if unstarted:
            await release_leases(engine.db, unstarted, node=engine.node_id)

    async def _claim(
        self,
        now: datetime,
        wanted: int,
        new_call_id: Callable[[], str],
        routing: RoutingTarget,
        woken_at: float,
        zones: list[str | None] | None = None,
    ) -> list[CallAttempt]:
        """Claim up to ``wanted`` due leads (of the open ``zones`` only, None: any): the
        calls to launch, phase CLAIMED.

        With a DNC service each number is checked before its attempt starts (in
        the call's task, phase DNC_CHECK). With none there is nothing to do
        between the claim and the start, so the claim starts the whole batch in
        its transaction, committed before any INVITE goes out (the calls skip
        the check and their start). Either way the claim puts off the leads whose
        number a contact limit forbids now (``contact_limits.py``)."""
        engine = self.engine
        limits = ContactLimits.of(self.campaign)
        if self.campaign.dnc_service is not None:
            leads = await claim_due_leads(
                engine.db,
                campaign_id=self.campaign_id,
                node=engine.node_id,
                now=now,
                limit=wanted,
                lease_s=engine.lease_s,
                zones=zones,
                limits=limits,
            )
            return [CallAttempt(new_call_id(), lead, routing, woken_at) for lead in leads]
        attempts = await claim_and_start_attempts(
            engine.db,
            campaign_id=self.campaign_id,
            node=engine.node_id,
            now=now,
            limit=wanted,
            new_call_id=new_call_id,
            zones=zones,
            limits=limits,
            window=self.entry.window if self.entry is not None else None,
        )
        return [CallAttempt(a.call_id, a.lead, routing, woken_at, attempt=a) for a in attempts]

    async def failed(self, exc: Exception) -> None:
        """A pacing round of this campaign raised (an engine bug, a broken plugin): the
        engine's other campaigns go on. Logged with its stack when a run of failures
        starts; held as ``engine_fault`` once failing for :data:`FAULT_AFTER_S` (a
        database hiccup of one round is not shown as a fault)."""
        now = self.engine.clock.monotonic()
        self._retry_at = now + FAULT_RETRY_S
        if self._failing_since is None:
            self._failing_since = now
            # the run's first error is the one shown: a message that changes every round
            # (an id, an address) would rewrite the reason every round
            self._fault_detail = f"{type(exc).__name__}: {exc}"[:300]
            log.error(
                "pacing_round_failed campaign=%s node=%s",
                self.campaign_id,
                self.engine.node_id,
                exc_info=exc,
            )
        if now - self._failing_since < FAULT_AFTER_S:
            return
        fault = hold(held.ENGINE_FAULT, node=self.engine.node_id, detail=self._fault_detail)
        self._fault_reason = fault.encode()
        await self._throttle(fault)

    async def completed(self) -> None:
        """A pacing round of this campaign ended without raising: a fault it was held
        for is over."""
        self._failing_since = None
        self._retry_at = -math.inf
        if self._fault_reason:
            stale = self.throttle_reason == self._fault_reason
            self._fault_reason = ""
            if stale:
                await self._throttle(None)

    async def _throttle(self, why: Hold | None) -> None:
        """Store why the campaign is held (a code, core/held.py) in today's schedule
        row, or clear it; the web reads it from there (core/services/dialing.py)."""
        reason = why.encode() if why is not None else ""
        if self._fault_reason and self.throttle_reason == self._fault_reason and why is None:
            return  # only a round that ends (completed) clears a fault, not one midway
        if self._fault_reason and self._failing_since is not None and why is not None:
            if why.code != held.ENGINE_FAULT:
                return  # nor does another hold met midway in a round that may raise
        if reason == self.throttle_reason or self.entry is None:
            return
        self.throttle_reason = reason
        await set_schedule_reason(self.entry.schedule_id, reason)
        if why is not None:
            log.warning(
                "dialing_held campaign=%s code=%s reason=%r",
                self.campaign_id,
                why.code,
                why.english(),
            )
        else:
            log.info("dialing_resumed campaign=%s", self.campaign_id)


__all__ = ["FAULT_AFTER_S", "CampaignRunner", "verdict_action"]
