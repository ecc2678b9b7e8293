"""A person answered an over-dialed call: wait for an agent, else the safe-harbour message.

Over-dialing pacing (power, predictive) launches calls with no agent held for them.
When a person answers (the verdict's action is TRANSFER, or AMD is off) the call
awaits ``CallRequest.claim_agent`` — the engine waits up to the campaign's abandon
timeout (~2 s) for a free agent:

* True: an agent is held, the call is transferred as usual (``SipCall._transfer``);
* False (or the claim raised: logged): nobody is free. The safe-harbour message is
  played in the call's own RTP stream (``RtpEndpoint.play``: 20 ms packets paced by
  the platform's ticker, PCMU as given or transcoded to PCMA), a short tail for the
  far end's jitter buffer, then BYE — disposition ABANDONED;
* the far end hangs up while we wait: FAR_END_HANGUP (a person who left before the
  hand-over, live-answered but not abandoned in the rate's terms); during the
  message: still ABANDONED — nobody was there for them, and the rate counts it.

While the claim is pending the media path stays as it was: the socket is read (and
the packets dropped, AMD has decided), and the stream of 20 ms G.711 silence frames
the call sends from the answer on carries on (``rtp_send``), so the far end hears the
same quiet line it heard while AMD listened — no RTP gap an SBC could take for a dead
call. The claim is never cancelled because the far end hung up: it settles by itself
within the abandon timeout, and the outcome is returned only then, so an agent it
held is released by the engine with the call (the disposition is not TRANSFERRED).
Only a claim still pending after ``agent_wait_max_s`` (a fault) is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from opendialer.plugins.platform_sip import outcome_details as details
from opendialer.plugins.platform_sip.rtp import FRAME_S, SAMPLES_PER_FRAME
from opendialer.sdk import AmdDecision, CallDisposition, CallOutcome

if TYPE_CHECKING:
    from opendialer.plugins.platform_sip.call import SipCall

log = logging.getLogger(__name__)

SAMPLE_RATE = 8000
#: How much longer than its own length a message may take before it is cut short
#: (the far end put the call on hold mid-message, or the loop stalled).
MESSAGE_GRACE_S = 2.0


async def wait_for_agent(call: SipCall) -> bool | None:
    """True: an agent is held for the call. False: none (abandon it). None: the far end
    hung up while we waited (the claim was let settle first)."""
    claim = call.request.claim_agent
    assert claim is not None
    call_id = call.request.call_id
    claimed = asyncio.ensure_future(_settled(claim, call_id))
    far_end_gone = asyncio.ensure_future(call.ended_by_far_end.wait())
    limit = call.setup.tunables.agent_wait_max_s
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    try:
        waiting: set[asyncio.Future[Any]] = {claimed, far_end_gone}
        await asyncio.wait(waiting, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        if not claimed.done():  # the far end left first: the claim settles by itself …
            await asyncio.wait({claimed}, timeout=max(0.0, deadline - loop.time()))
    except asyncio.CancelledError:  # the call itself is cancelled (shutdown): so is the claim
        claimed.cancel()
        raise
    finally:
        far_end_gone.cancel()
    if not claimed.done():  # … or is a fault
        claimed.cancel()
        log.error("sip.agent_claim_stuck call=%s pending after %.1f s: cancelled", call_id, limit)
        return None if call.ended_by_far_end.is_set() else False
    if call.ended_by_far_end.is_set():
        return None
    return claimed.result()


async def _settled(claim: Callable[[], Awaitable[bool]], call_id: str) -> bool:
    """The claim's answer; a claim that raises is a "no" (the person hears the message)."""
    try:
        return bool(await claim())
    except Exception:
        log.exception("sip.agent_claim_error call=%s: treated as no agent free", call_id)
        return False


async def play_message(call: SipCall, message: bytes) -> tuple[int, int]:
    """Play ``message`` in the call's own RTP stream until it ends, the far end hangs
    up or it overruns its length by MESSAGE_GRACE_S; a whole message gets a tail for
    the far end's jitter buffer. (packets sent, packets in the message)."""
    frames = -(-len(message) // SAMPLES_PER_FRAME)
    playing = call.rtp.play(message)
    far_end_gone = asyncio.ensure_future(call.ended_by_far_end.wait())
    try:
        waiting: set[asyncio.Future[Any]] = {playing, far_end_gone}
        timeout = frames * FRAME_S + MESSAGE_GRACE_S
        await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if not playing.done():  # on hold, or a stall: cut it short
            call.rtp.stop_sending()
        sent = await playing
        if sent == frames and not call.ended_by_far_end.is_set():
            # the last packet left just now: let the far end's jitter buffer play it out
            await asyncio.wait({far_end_gone}, timeout=call.setup.tunables.message_tail_s)
    finally:
        far_end_gone.cancel()
    return sent, frames


async def abandon(call: SipCall, sip_code: int, decision: AmdDecision | None) -> CallOutcome:
    """No agent for a person: play the safe-harbour message, hang up; ABANDONED."""
    message = call.request.safe_harbour_ulaw
    call_id = call.request.call_id
    if not message:
        await call.send_bye()
        log.info("sip.abandoned call=%s no safe-harbour message", call_id)
        return call.outcome(
            CallDisposition.ABANDONED,
            sip_code=sip_code,
            amd=decision,
            detail_code=details.ABANDONED_NO_MESSAGE,
        )
    seconds = {"s": f"{len(message) / SAMPLE_RATE:.1f}"}
    sent, frames = await play_message(call, message)
    played = {"played": f"{sent * FRAME_S:.1f}", **seconds}
    if sent == frames:  # (a BYE during the tail came after the whole message)
        code, params = details.ABANDONED_MESSAGE_PLAYED, seconds
    elif call.ended_by_far_end.is_set():
        code, params = details.ABANDONED_HUNG_UP_DURING_MESSAGE, played
    else:
        code, params = details.ABANDONED_MESSAGE_CUT, played
    await call.send_bye()
    log.info("sip.abandoned call=%s message packets=%d of %d", call_id, sent, frames)
    return call.outcome(
        CallDisposition.ABANDONED,
        sip_code=sip_code,
        amd=decision,
        detail_code=code,
        detail_params=params,
    )
