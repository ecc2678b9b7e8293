"""Voicemail drop: a machine answered and the campaign leaves it a message.

The verdict's action is ``leave_message``: the call's audio goes on to the request's
``message_point`` tracker (the AMD strategy's, or the engine's fallback, capped by the
engine) until it finds where the message starts — the end of the beep, else the
silence after the greeting. The voicemail message then plays in the call's own RTP
stream (``RtpEndpoint.play``, as the safe-harbour message does), a short tail lets
the far end's jitter buffer play it out, and BYE: MESSAGE_LEFT. The tracker gives up
(its cap, or no audio arrives within the cap and a few seconds): BYE, AMD_HANGUP. The
far end hangs up before the point: FAR_END_HANGUP; during the message: MESSAGE_LEFT
is not claimed — FAR_END_HANGUP with the seconds played.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from opendialer.plugins.platform_sip import outcome_details as details
from opendialer.plugins.platform_sip.agent_wait import SAMPLE_RATE, play_message
from opendialer.plugins.platform_sip.rtp import FRAME_S
from opendialer.sdk import AmdDecision, CallDisposition, CallOutcome, MessagePoint

if TYPE_CHECKING:
    from opendialer.plugins.platform_sip.call import SipCall

log = logging.getLogger(__name__)

#: Wall-clock bound on the wait for the point, over the engine's cap on audio (a far
#: end that sends no RTP never reaches the cap).
POINT_WAIT_S = 30.0


async def leave_message(call: SipCall, sip_code: int, decision: AmdDecision) -> CallOutcome:
    request = call.request
    message = request.voicemail_ulaw
    point = await _message_point(call) if message and request.message_point else None
    if call.ended_by_far_end.is_set():
        return call.outcome(
            CallDisposition.FAR_END_HANGUP,
            sip_code=sip_code,
            amd=decision,
            detail_code=details.HUNG_UP_DURING_AMD,
        )
    if point is None or not point.found or not message:
        why = point.reasons if point is not None else "no message or no audio"
        await call.send_bye()
        return call.outcome(
            CallDisposition.AMD_HANGUP,
            sip_code=sip_code,
            amd=decision,
            detail_code=details.MESSAGE_NO_POINT,
            detail_params={"why": why},
        )
    seconds = f"{len(message) / SAMPLE_RATE:.1f}"
    sent, frames = await play_message(call, message)
    await call.send_bye()
    log.info(
        "sip.message_left call=%s at_ms=%.0f packets=%d of %d (%s)",
        request.call_id,
        point.at_ms,
        sent,
        frames,
        point.reasons,
    )
    if sent < frames:
        return call.outcome(
            CallDisposition.FAR_END_HANGUP,
            sip_code=sip_code,
            amd=decision,
            detail_code=details.MESSAGE_HUNG_UP,
            detail_params={"played": f"{sent * FRAME_S:.1f}", "s": seconds},
        )
    return call.outcome(
        CallDisposition.MESSAGE_LEFT,
        sip_code=sip_code,
        amd=decision,
        detail_code=details.MESSAGE_LEFT,
        # why (the tracker's English), and what the point was (the call log's sentence)
        detail_params={"s": seconds, "at": f"{point.at_ms / 1000:.2f}", **point.detail_params()},
    )


async def _message_point(call: SipCall) -> MessagePoint | None:
    """Feed the call's audio to the tracker until it answers; None: the far end hung
    up first, or no answer within POINT_WAIT_S."""
    assert call.request.message_point is not None
    tracker = call.request.message_point()
    found: asyncio.Future[MessagePoint] = asyncio.get_running_loop().create_future()

    def feed(pcm: npt.NDArray[np.int16]) -> None:
        if found.done():
            return
        try:
            point = tracker.feed(pcm)
        except Exception as exc:
            log.exception("sip.message_point_error call=%s", call.request.call_id)
            point = MessagePoint(float("nan"), f"tracker error: {exc!r}", found=False)
        if point is not None:
            found.set_result(point)
            call.rtp.stop_decoding()

    call.rtp.start(feed)
    bye = asyncio.ensure_future(call.ended_by_far_end.wait())
    try:
        waiting: set[asyncio.Future[Any]] = {found, bye}
        await asyncio.wait(waiting, timeout=POINT_WAIT_S, return_when=asyncio.FIRST_COMPLETED)
    finally:
        bye.cancel()
        call.rtp.stop_decoding()
    if found.done():
        return found.result()
    if call.ended_by_far_end.is_set():
        return None
    return MessagePoint(float("nan"), f"no audio within {POINT_WAIT_S:.0f} s", found=False)
