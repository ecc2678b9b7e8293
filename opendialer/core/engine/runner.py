"""One campaign on one node: how many calls now, and each call's way through.

``pace()`` asks the pacing plugin for capacity (routing slots, free ports,
the node's global cap, calls in flight), claims that many due leads and starts
a task per lead: DNC check → attempt recorded → ``platform.originate`` →
outcome recorded → hooks. Slots are reserved with the routing target the
moment a lead is claimed, so the next ``pace()`` never counts them again.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opendialer.core import amd_settings, held
from opendialer.core.contracts import (
    AmdDecision,
    CallAction,
    CallDisposition,
    CallOutcome,
    CallRequest,
    ClaimsSlots,
    DncUnavailable,
    PacingSnapshot,
    PlatformUnavailable,
    RoutingRequest,
    RoutingTarget,
    TracksTransferredCalls,
)
from opendialer.core.domain import LeadStatus, ScheduleState
from opendialer.core.engine.claims import ClaimedLead, claim_due_leads, release_leases
from opendialer.core.engine.outcomes import status_for_outcome
from opendialer.core.engine.records import (
    Attempt,
    DncCheck,
    Finished,
    Outcome,
    announce,
    cancel_attempt,
    claim_and_start_attempts,
    closing_columns,
    log_call_outcome,
    record_dnc_block,
    start_attempt,
)
from opendialer.core.engine.scheduler import DialableEntry, set_schedule_reason
from opendialer.core.held import Hold, hold

if TYPE_CHECKING:
    from opendialer.core.engine.engine import Engine

log = logging.getLogger("opendialer.engine.calls")


def verdict_action(amd_params: Mapping[str, Any]) -> Any:
    """The campaign's verdict → action (``on_machine`` ... ``on_notsure``, core/amd_settings)."""
    actions = amd_settings.verdict_actions(amd_params)

    def decide(decision: AmdDecision) -> CallAction:
        # an unknown label: a person may be there, never drop them on a guess
        return actions.get(decision.label, CallAction.TRANSFER)

    return decide


class CampaignRunner:
    def __init__(self, engine: Engine, campaign_id: int) -> None:
        self.engine = engine
        self.campaign_id = campaign_id
        self.campaign: dict[str, Any] = {}
        self.entry: DialableEntry | None = None
        self.in_flight: dict[str, asyncio.Task[None]] = {}
        self.pending: set[str] = set()  # launched, not yet handed to the platform
        #: Over on the platform, slot released, outcome not yet stored.
        self.settling: set[str] = set()
        #: Transferred calls whose end was signalled before ``originate`` returned.
        self._ended_early: set[str] = set()
        self.throttle_reason = ""

    # -- pacing --------------------------------------------------------------

    def update(self, entry: DialableEntry | None) -> None:
        self.entry = entry
        if entry is not None:
            self.campaign = entry.campaign
            self.throttle_reason = entry.reason

    @property
    def dialing(self) -> bool:
        return self.entry is not None and self.entry.state == ScheduleState.RUNNING.value

    def routing_request(self) -> RoutingRequest:
        c = self.campaign
        return RoutingRequest(
            campaign_id=self.campaign_id,
            campaign_type=c["type"],
            queue=c["queue"],
            pilot_number=c["pilot_number"],
        )

    async def pace(self, now: datetime, woken_at: float) -> int:
        """Launch as many calls as pacing allows now; how many were launched."""
        if not self.dialing:
            return 0
        engine = self.engine
        routing, why = await engine.routing_for(self.campaign)
        if routing is None:
            await self._throttle(why)
            return 0
        request = self.routing_request()
        health = routing.health(request)
        free_slots = routing.free_slots(request)
        platform = engine.platform.health()
        if not health.ok:
            why = hold(
                held.ROUTING_UNHEALTHY,
                target=engine.routing_name(self.campaign),
                detail=health.detail,
            )
        elif not platform.ok and getattr(engine.platform, "nothing_chosen", False):
            why = hold(held.PLATFORM_NOT_CHOSEN)  # a new install: a Master must choose one
        elif not platform.ok:
            why = hold(held.PLATFORM_DOWN, detail=platform.detail)
        await self._throttle(why)
        others = engine.calls_up_total() - self.calls_up()
        snapshot = PacingSnapshot(
            free_slots=free_slots,
            free_ports=max(0, engine.platform.free_ports() - engine.pending_total()),
            global_max=max(0, engine.max_calls - others),
            in_flight=self.calls_up(),
        )
        wanted = engine.pacing.calls_to_launch(snapshot)
        if wanted <= 0:
            return 0
        granted: list[str] = []
        if isinstance(routing, ClaimsSlots):
            # Several nodes share the slots: launch only the calls whose slot the
            # target claimed in the database (exact across nodes).
            granted = await routing.claim_slots(request, [uuid.uuid4().hex for _ in range(wanted)])
            if not granted:
                return 0
            wanted = len(granted)
        new_call_id: Callable[[], str] = (
            iter(granted).__next__ if granted else (lambda: uuid.uuid4().hex)
        )
        launches: list[tuple[ClaimedLead, str, Attempt | None]] = []
        try:
            if self.campaign.get("dnc_service"):
                # Each number is checked before its attempt starts (in the call's task).
                leads = await claim_due_leads(
                    engine.db,
                    campaign_id=self.campaign_id,
                    node=engine.node_id,
                    now=now,
                    limit=wanted,
                    lease_s=engine.lease_s,
                )
                launches = [(lead, new_call_id(), None) for lead in leads]
            else:
                # Nothing to check: claim and start the whole batch in one transaction,
                # committed before any INVITE goes out.
                attempts = await claim_and_start_attempts(
                    engine.db,
                    campaign_id=self.campaign_id,
                    node=engine.node_id,
                    now=now,
                    limit=wanted,
                    new_call_id=new_call_id,
                )
                launches = [(a.lead, a.call_id, a) for a in attempts]
        finally:
            if granted:  # fewer due leads than slots claimed: give the rest back
                used = {call_id for _, call_id, _ in launches}
                for call_id in granted:
                    if call_id not in used:
                        routing.release(call_id, False)
        log.debug(
            "pace_round campaign=%s wanted=%d launched=%d since_wake_ms=%.1f",
            self.campaign_id,
            wanted,
            len(launches),
            (engine.clock.monotonic() - woken_at) * 1000,
        )
        for lead, call_id, attempt in launches:
            routing.reserve(request, call_id)
            self.pending.add(call_id)
            engine.metrics.launched += 1
            self.in_flight[call_id] = asyncio.create_task(
                self._call(lead, call_id, routing, woken_at, attempt), name=f"call-{call_id}"
            )
        return len(launches)

    def calls_up(self) -> int:
        """Calls launched and not yet over on the platform (outcomes being stored excluded)."""
        return len(self.in_flight) - len(self.settling)

    async def _throttle(self, why: Hold | None) -> None:
        """Store why the campaign is held (a code, core/held.py) in today's schedule
        row, or clear it; the web reads it from there (core/services/dialing.py)."""
        reason = why.encode() if why is not None else ""
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

    # -- one call ------------------------------------------------------------

    async def _call(
        self,
        lead: ClaimedLead,
        call_id: str,
        routing: RoutingTarget,
        woken_at: float,
        attempt: Attempt | None,
    ) -> None:
        transferred, finished = False, None
        try:
            if attempt is None:
                attempt, finished = await self._check_and_start(lead, call_id)
            if attempt is not None:
                transferred, finished = await self._dial(attempt, woken_at, routing)
        except Exception:
            log.exception(
                "call_failed campaign=%s lead=%s call_id=%s", self.campaign_id, lead.id, call_id
            )
        finally:
            if call_id not in self.settling:  # never reached the platform, or it raised
                self._call_over(call_id, routing, transferred)
            self.settling.discard(call_id)
            self._ended_early.discard(call_id)
            self.in_flight.pop(call_id, None)
        if finished is not None:
            await announce(self.engine.pm, finished)

    def _call_over(self, call_id: str, routing: RoutingTarget, transferred: bool) -> None:
        """The call is over on the platform: free its routing slot and wake the pacer at
        once — before its outcome is stored, which may queue behind other writes."""
        self.pending.discard(call_id)
        self.settling.add(call_id)
        try:
            routing.release(call_id, transferred)
            if transferred and call_id in self._ended_early:
                self._transferred_ended(call_id, routing)
        except Exception:
            log.exception("routing_release_failed call_id=%s", call_id)
        self.engine.wake()

    def _on_transferred_ended(self, call_id: str, routing: RoutingTarget) -> Callable[[], None]:
        """The callback a platform calls when a call it transferred has ended (the
        caller left the agent or the IVR): the routing target frees that slot."""

        def ended() -> None:
            if call_id in self.in_flight and call_id not in self.settling:
                self._ended_early.add(call_id)  # before originate returned: on release
                return
            try:
                self._transferred_ended(call_id, routing)
            except Exception:
                log.exception("transferred_call_ended_failed call_id=%s", call_id)
            self.engine.wake()

        return ended

    @staticmethod
    def _transferred_ended(call_id: str, routing: RoutingTarget) -> None:
        if isinstance(routing, TracksTransferredCalls):
            routing.transferred_call_ended(call_id)

    async def _check_and_start(
        self, lead: ClaimedLead, call_id: str
    ) -> tuple[Attempt | None, Finished | None]:
        """DNC check, then the attempt is counted and its record inserted (or not)."""
        engine = self.engine
        campaign = self.campaign
        dnc: DncCheck | None = None
        if campaign.get("dnc_service"):
            started = time.perf_counter()  # wall time, whatever the engine's clock
            try:
                dnc = await engine.dnc.check(campaign["dnc_service"], lead.phone)
            except DncUnavailable as exc:
                await release_leases([lead.id], node=engine.node_id)
                await engine.dnc_out_of_service(self, str(exc))
                return None, None
            dnc = replace(dnc, elapsed_ms=(time.perf_counter() - started) * 1000)
            if dnc.blocked:
                finished = await record_dnc_block(
                    engine.db, lead, node=engine.node_id, call_id=call_id, dnc=dnc
                )
                if finished is not None:
                    engine.metrics.outcomes[LeadStatus.DO_NOT_CALL.value] += 1
                    log_call_outcome(
                        {
                            "campaign": self.campaign_id,
                            "lead": lead.id,
                            "call_id": call_id,
                            "node": engine.node_id,
                            "status": LeadStatus.DO_NOT_CALL.value,
                            "disposition": "dnc_blocked",
                            "dnc_service": dnc.service,
                            "dnc_result": dnc.result,
                            **finished.extra,  # attempt, detail
                        },
                        dnc_ms=dnc.elapsed_ms,
                    )
                return None, finished
        if not self.dialing:  # the schedule closed or DNC failed while we checked
            await release_leases([lead.id], node=engine.node_id)
            return None, None
        attempt = await start_attempt(
            engine.db, lead, node=engine.node_id, call_id=call_id, now=engine.clock.now(), dnc=dnc
        )
        if attempt is None:
            log.warning(
                "lease_lost campaign=%s lead=%s: another node took it", self.campaign_id, lead.id
            )
        return attempt, None

    async def _dial(
        self, attempt: Attempt, woken_at: float, routing: RoutingTarget
    ) -> tuple[bool, Finished | None]:
        """Originate, map the outcome, store it (lead and record in one transaction)."""
        engine = self.engine
        campaign = self.campaign
        lead, call_id = attempt.lead, attempt.call_id
        session, amd_on, on_verdict = engine.amd_for(campaign)
        request = CallRequest(
            call_id=call_id,
            number=lead.phone,
            caller_id=campaign.get("caller_id"),
            transfer_to=campaign["pilot_number"],
            no_answer_timeout_s=float(campaign.get("no_answer_timeout_s") or 30),
            amd_session=session,
            on_verdict=on_verdict,
            amd_enabled=amd_on,
            on_transferred_ended=self._on_transferred_ended(call_id, routing),
        )
        self.pending.discard(call_id)
        latency = max(0.0, engine.clock.monotonic() - woken_at)
        engine.metrics.latencies.append(latency)
        # Counted at hand-over (originate returns only when the call is over); a
        # refusal below is counted apart, so originated = outcomes + refused + in flight.
        engine.metrics.originated += 1
        engine.pm.notify_now(
            "call_originated",
            call_id=call_id,
            campaign_id=self.campaign_id,
            attempt=attempt.number,
            node=engine.node_id,
        )
        try:
            outcome = await engine.platform.originate(request)
        except PlatformUnavailable as exc:
            # Nothing was sent: the attempt is undone and the lead dialed later.
            engine.metrics.refused += 1
            engine.pm.notify_now(
                "call_refused",
                call_id=call_id,
                campaign_id=self.campaign_id,
                node=engine.node_id,
                reason=str(exc),
            )
            log.warning(
                "platform_unavailable",
                extra={"campaign": self.campaign_id, "lead": lead.id, "detail": str(exc)},
            )
            await cancel_attempt(engine.db, attempt, due_at=lead.due_at)
            return False, None
        except Exception as exc:  # a platform bug: the call may have gone out
            now = engine.clock.now()
            outcome = CallOutcome(
                disposition=CallDisposition.UNKNOWN,
                port="",
                created_at=attempt.created_at,
                ended_at=now,
                detail=f"platform error: {type(exc).__name__}: {exc}",
            )
        transferred = outcome.disposition is CallDisposition.TRANSFERRED
        self._call_over(call_id, routing, transferred)
        status = status_for_outcome(outcome)
        next_at = engine.retry.next_attempt_at(
            status=status,
            attempts=attempt.number,
            max_attempts=campaign["max_attempts"],
            ended_at=outcome.ended_at,
            retry_after_minutes=campaign["retry_after_minutes"],
        )
        finished = None
        for delay in (0.0, 0.5, 2.0, 5.0):
            if delay:
                await asyncio.sleep(delay)
            try:
                finished = await engine.outcomes.finish(
                    Outcome(attempt, outcome, status=status, next_attempt_at=next_at)
                )
                break
            except Exception:
                log.exception("finish_attempt_failed call_id=%s (retrying)", call_id)
        engine.metrics.outcomes[status.value] += 1
        dnc = attempt.dnc
        log_call_outcome(
            {
                "campaign": self.campaign_id,
                "lead": lead.id,
                "attempt": attempt.number,
                "call_id": call_id,
                "node": engine.node_id,
                "created_at": outcome.created_at,
                "dnc_service": dnc.service if dnc else None,
                "dnc_result": dnc.result if dnc else None,
                **closing_columns(outcome, status),
            },
            dnc_ms=dnc.elapsed_ms if dnc else None,
            originate_latency_ms=latency * 1000,
            next_attempt_at=next_at,
        )
        return transferred, finished


__all__ = ["CampaignRunner", "verdict_action"]
