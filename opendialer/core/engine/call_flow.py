"""One call's way through, phase by phase (the task the runner starts per call).

::

    CLAIMED ─► DNC_CHECK ─► LAUNCHING ─► ON_PLATFORM … ─► SETTLING ─► DONE

DNC_CHECK runs when the campaign has a DNC service (a blocked number gets its
record and no call); LAUNCHING records the attempt, unless a contact limit puts the
lead off now (``contact_limits.py``) (already done by the claim
when there was nothing to check); from ON_PLATFORM on, ``platform.originate`` runs
and the request's callbacks move the call (ringing → in AMD → waiting for an agent
→ with an agent, or hanging up: ``call_attempt.py``); SETTLING frees the routing
slot and stores the outcome; the hooks run last.

An over-dialed call gets ``claim_agent`` (``agent_claims.py``) and the campaign's
safe-harbour message: the platform awaits the claim when a person answers, and
plays the message and hangs up (ABANDONED) when it answers False.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from opendialer.core.domain import LeadStatus
from opendialer.core.engine.call_attempt import CallAttempt, CallPhase
from opendialer.core.engine.call_events import announce, log_call_outcome
from opendialer.core.engine.claims import release_leases
from opendialer.core.engine.contact_limits import ContactLimits, Deferral
from opendialer.core.engine.dnc_outage import hold_for_dnc
from opendialer.core.engine.message_point import tracker_for
from opendialer.core.engine.outcome_writer import closing_columns
from opendialer.core.engine.outcomes import status_for_outcome
from opendialer.core.engine.records import (
    Attempt,
    DncCheck,
    Finished,
    Outcome,
    cancel_attempt,
    record_dnc_block,
    release_unchecked,
    start_attempt,
)
from opendialer.sdk.contracts import (
    AmdDecision,
    CallAction,
    CallDisposition,
    CallOutcome,
    CallRequest,
    DncUnavailable,
    PlatformUnavailable,
    TracksTransferredCalls,
)

if TYPE_CHECKING:
    from opendialer.core.engine.runner import CampaignRunner

log = logging.getLogger("opendialer.engine.calls")


def run_call(runner: CampaignRunner, call: CallAttempt) -> asyncio.Task[None]:
    """Start the call's task."""
    return asyncio.create_task(_call(runner, call), name=f"call-{call.call_id}")


async def _call(runner: CampaignRunner, call: CallAttempt) -> None:
    finished: Finished | None = None
    try:
        if call.attempt is None:
            finished = await _check_and_start(runner, call)
        if call.attempt is not None:
            finished = await _dial(runner, call)
    except Exception:
        log.exception(
            "call_failed campaign=%s lead=%s call_id=%s",
            runner.campaign_id,
            call.lead.id,
            call.call_id,
        )
    finally:
        if not call.released:  # never reached the platform, or it raised
            _call_over(runner, call)
        call.enter(CallPhase.DONE)
    if finished is not None:
        await announce(runner.engine.pm, finished)


def _call_over(runner: CampaignRunner, call: CallAttempt) -> None:
    """The call is over on the platform: free its routing slot and wake the pacer at
    once — before its outcome is stored, which may queue behind other writes."""
    call.enter(CallPhase.SETTLING)
    try:
        if call.holds_slot:
            call.routing.release(call.call_id, call.transferred)
        if call.transferred and call.ended_early:
            _transferred_ended(call)
    except Exception:
        log.exception("routing_release_failed call_id=%s", call.call_id)
    runner.engine.wake()


def _on_transferred_ended(runner: CampaignRunner, call: CallAttempt) -> Callable[[], None]:
    """The callback a platform calls when a call it transferred has ended (the
    caller left the agent or the IVR): the routing target frees that slot."""

    def ended() -> None:
        if not call.released:
            call.ended_early = True  # before originate returned: on release
            return
        try:
            _transferred_ended(call)
        except Exception:
            log.exception("transferred_call_ended_failed call_id=%s", call.call_id)
        runner.engine.wake()

    return ended


def _on_answered(
    runner: CampaignRunner, call: CallAttempt, amd_on: bool
) -> Callable[[datetime], None]:
    """The far end answered: AMD decides next; with AMD off the hand-over comes now."""

    def answered(at: datetime) -> None:
        if call.phase is not CallPhase.ON_PLATFORM:
            return
        if amd_on:
            call.enter(CallPhase.IN_AMD)
        else:
            _handing_over(runner, call)

    return answered


def _following_verdict(
    runner: CampaignRunner, call: CallAttempt, on_verdict: Callable[[AmdDecision], CallAction]
) -> Callable[[AmdDecision], CallAction]:
    """The campaign's verdict → action, moving the call on: to an agent, or hanging up."""

    def verdict(decision: AmdDecision) -> CallAction:
        action = on_verdict(decision)
        if call.phase in (CallPhase.ON_PLATFORM, CallPhase.IN_AMD):
            if action is CallAction.TRANSFER:
                _handing_over(runner, call)
            else:  # a machine: hung up on, or left a message first
                call.enter(CallPhase.HANGING_UP)
                if action is CallAction.LEAVE_MESSAGE:
                    _free_slot_now(runner, call)
        return action

    return verdict


def _free_slot_now(runner: CampaignRunner, call: CallAttempt) -> None:
    """Voicemail drop keeps the call up for the greeting and the message (up to a
    minute): the agent a progressive call held since its launch is not needed, so it
    goes back to the routing target now, not when the call ends."""
    if not call.holds_slot:
        return
    call.holds_slot = False
    try:
        call.routing.release(call.call_id, False)
    except Exception:
        log.exception("routing_release_failed call_id=%s", call.call_id)
    runner.engine.wake()


def _handing_over(runner: CampaignRunner, call: CallAttempt) -> None:
    """A person is to be handed over: an over-dialed call now waits for an agent (its
    ``claim_agent`` follows); a progressive one has held its agent since its launch."""
    if call.over_dialed:
        call.enter(CallPhase.WAITING_FOR_AGENT)
    else:
        call.enter(CallPhase.WITH_AGENT)
        runner.pacing.handed_over += 1


def _transferred_ended(call: CallAttempt) -> None:
    if isinstance(call.routing, TracksTransferredCalls):
        call.routing.transferred_call_ended(call.call_id)


async def _check_and_start(runner: CampaignRunner, call: CallAttempt) -> Finished | None:
    """DNC check (if the campaign has a service), then the attempt is counted and its
    record inserted (or not): ``call.attempt`` is set when the call may be dialed."""
    engine = runner.engine
    campaign = runner.campaign
    lead, call_id = call.lead, call.call_id
    dnc: DncCheck | None = None
    if campaign.dnc_service is not None:
        call.enter(CallPhase.DNC_CHECK)
        started = time.perf_counter()  # wall time, whatever the engine's clock
        try:
            dnc = await engine.dnc.check(
                campaign.dnc_service,
                lead.phone,
                max_age_days=campaign.compliance.dnc_max_age_days,
            )
        except DncUnavailable as exc:
            await release_unchecked(
                engine.db,
                lead,
                node=engine.node_id,
                service_id=campaign.dnc_service,
                reason=str(exc),
                at=engine.clock.now(),
            )
            await hold_for_dnc(runner, str(exc))
            return None
        dnc = replace(dnc, elapsed_ms=(time.perf_counter() - started) * 1000)
        if dnc.blocked:
            finished = await record_dnc_block(
                engine.db, lead, node=engine.node_id, call_id=call_id, dnc=dnc
            )
            if finished is not None:
                engine.metrics.outcomes[LeadStatus.DO_NOT_CALL.value] += 1
                log_call_outcome(
                    {
                        "campaign": runner.campaign_id,
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
            return finished
    if not runner.dialing:  # the schedule closed or DNC failed while we checked
        await release_leases([lead.id], node=engine.node_id)
        return None
    call.enter(CallPhase.LAUNCHING)
    begun = await start_attempt(
        engine.db,
        lead,
        node=engine.node_id,
        call_id=call_id,
        now=engine.clock.now(),
        dnc=dnc,
        limits=ContactLimits.of(campaign),
        window=runner.entry.window if runner.entry is not None else None,
    )
    if isinstance(begun, Deferral):
        return None  # another campaign called the number since the claim: put off
    call.attempt = begun
    if call.attempt is None:
        log.warning(
            "lease_lost campaign=%s lead=%s: another node took it", runner.campaign_id, lead.id
        )
    return None


def _message_ms(ulaw: bytes | None) -> int | None:
    """How long a G.711 µ-law message plays (8,000 bytes a second); None: no message."""
    return None if not ulaw else round(len(ulaw) * 1000 / 8000)


async def _dial(runner: CampaignRunner, call: CallAttempt) -> Finished | None:
    """Originate, map the outcome, store it (lead and record in one transaction)."""
    engine = runner.engine
    campaign = runner.campaign
    attempt: Attempt | None = call.attempt
    assert attempt is not None
    lead, call_id = attempt.lead, attempt.call_id
    call.enter(CallPhase.LAUNCHING)
    session, amd_on, on_verdict = engine.amd.for_call(campaign)
    over = call.over_dialed
    request = CallRequest(
        call_id=call_id,
        number=lead.phone,
        caller_id=campaign.caller_id,
        transfer_to=campaign.pilot_number,
        no_answer_timeout_s=campaign.no_answer_timeout_s,
        amd_session=session,
        on_verdict=_following_verdict(runner, call, on_verdict),
        on_answered=_on_answered(runner, call, amd_on),
        amd_enabled=amd_on,
        on_transferred_ended=_on_transferred_ended(runner, call),
        claim_agent=runner.agents.claim_for(call) if over else None,
        safe_harbour_ulaw=runner.pacing.message.audio if over else None,
        voicemail_ulaw=runner.pacing.voicemail.audio,
        message_point=(lambda: tracker_for(session)) if session is not None else None,
    )
    call.enter(CallPhase.ON_PLATFORM)
    latency = max(0.0, engine.clock.monotonic() - call.woken_at)
    engine.metrics.latencies.append(latency)
    # Counted at hand-over (originate returns only when the call is over); a
    # refusal below is counted apart, so originated = outcomes + refused + in flight.
    engine.metrics.originated += 1
    engine.pm.notify_now(
        "call_originated",
        call_id=call_id,
        campaign_id=runner.campaign_id,
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
            campaign_id=runner.campaign_id,
            node=engine.node_id,
            reason=str(exc),
        )
        log.warning(
            "platform_unavailable",
            extra={"campaign": runner.campaign_id, "lead": lead.id, "detail": str(exc)},
        )
        await cancel_attempt(
            engine.db, attempt, due_at=lead.due_at, at=engine.clock.now(), reason=str(exc)
        )
        return None
    except Exception as exc:  # a platform bug: the call may have gone out
        outcome = CallOutcome(
            disposition=CallDisposition.UNKNOWN,
            port="",
            created_at=attempt.created_at,
            ended_at=engine.clock.now(),
            detail=f"platform error: {type(exc).__name__}: {exc}",
        )
    call.transferred = outcome.disposition is CallDisposition.TRANSFERRED
    _call_over(runner, call)
    status = status_for_outcome(outcome)
    next_at = engine.retry.next_attempt_at(
        status=status,
        attempts=attempt.number,
        max_attempts=campaign.max_attempts,
        ended_at=outcome.ended_at,
        retry_after_minutes=campaign.retry_after_minutes,
    )
    finished = None
    for delay in (0.0, 0.5, 2.0, 5.0):
        if delay:
            await asyncio.sleep(delay)
        try:
            finished = await engine.outcomes.finish(
                Outcome(
                    attempt,
                    outcome,
                    status=status,
                    next_attempt_at=next_at,
                    safe_harbour_ms=_message_ms(request.safe_harbour_ulaw),
                    voicemail_ms=_message_ms(request.voicemail_ulaw),
                )
            )
            break
        except Exception:
            log.exception("finish_attempt_failed call_id=%s (retrying)", call_id)
    engine.metrics.outcomes[status.value] += 1
    if outcome.disposition is CallDisposition.ABANDONED:
        engine.metrics.abandoned += 1
    elif outcome.disposition is CallDisposition.MESSAGE_LEFT:
        engine.metrics.messages_left += 1
    runner.pacing.count_outcome(outcome)
    dnc = attempt.dnc
    log_call_outcome(
        {
            "campaign": runner.campaign_id,
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
    return finished
