"""A person answered an over-dialed call: find them an agent, or let them go.

An over-dialing pacing mode launches calls holding no routing slot. When a person
answers, the platform awaits the call's ``CallRequest.claim_agent``: the call
queues here, first come first served among this campaign's waiting calls, for at
most the campaign's ``abandon_timeout_ms``. A free agent is taken the way a
progressive launch takes one — ``routing.free_slots`` then ``reserve``; for a
target whose slots several nodes share (``ClaimsSlots``) ``claim_slots([call_id])``
first, exact across nodes — and the claim answers True. None freed in time: False,
and the platform plays the safe-harbour message and hangs up (ABANDONED).

The queue is served when a call joins it and on every pacing round, before any
campaign launches new calls; the pacer runs when an agent frees (the routing
target's ``wake_pacer``, a transferred call's end), when a call ends, and every
``pace_s`` (the routing target's own refresh). A waiting call also tries every
:data:`RETRY_S` by itself, so a stopping engine still hands its calls over.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opendialer.core.engine.call_attempt import CallAttempt, CallPhase
from opendialer.sdk.contracts import ClaimsSlots

if TYPE_CHECKING:
    from opendialer.core.engine.runner import CampaignRunner

log = logging.getLogger("opendialer.engine.calls")

#: A waiting call also looks for a free agent itself this often (seconds), should no
#: pacing round serve the queue (an engine that stops launches nothing but still
#: hands its waiting calls over).
RETRY_S = 0.25


@dataclass(eq=False, slots=True)
class _Waiter:
    call: CallAttempt
    #: Set to True by :meth:`AgentClaims.serve` when an agent is held for the call.
    granted: asyncio.Future[bool]


class AgentClaims:
    """The waiting persons of one campaign on this node."""

    def __init__(self, runner: CampaignRunner) -> None:
        self._runner = runner
        self._queue: deque[_Waiter] = deque()
        self._serving = False

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._queue if not w.granted.done())

    def claim_for(self, call: CallAttempt) -> Callable[[], Awaitable[bool]]:
        """The call's ``CallRequest.claim_agent``."""

        async def claim_agent() -> bool:
            return await self._claim(call)

        return claim_agent

    async def _claim(self, call: CallAttempt) -> bool:
        runner = self._runner
        clock = runner.engine.clock
        timeout_s = max(0.0, runner.campaign.pacing.abandon_timeout_ms / 1000)
        waiter = _Waiter(call, asyncio.get_running_loop().create_future())
        self._queue.append(waiter)
        if call.phase is not CallPhase.WAITING_FOR_AGENT:
            call.enter(CallPhase.WAITING_FOR_AGENT)
        granted = False
        deadline = clock.monotonic() + timeout_s
        try:
            await self.serve()
            while not waiter.granted.done():
                remaining = deadline - clock.monotonic()
                if remaining < 0.001:
                    break
                timer = asyncio.ensure_future(clock.sleep(min(remaining, RETRY_S)))
                waits: set[asyncio.Future[Any]] = {waiter.granted, timer}
                try:
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    timer.cancel()
                if not waiter.granted.done():
                    await self.serve()  # no pacing round came (the engine is draining…)
            granted = waiter.granted.done() and not waiter.granted.cancelled()
        finally:
            if not waiter.granted.done():
                waiter.granted.cancel()  # timed out, or the far end hung up meanwhile
            try:
                self._queue.remove(waiter)
            except ValueError:
                pass
        if granted:
            call.enter(CallPhase.WITH_AGENT)
            runner.pacing.handed_over += 1
        else:
            call.enter(CallPhase.HANGING_UP)
            log.info(
                "agent_wait_timeout campaign=%s call_id=%s timeout_ms=%d",
                runner.campaign_id,
                call.call_id,
                round(timeout_s * 1000),
            )
        return granted

    async def serve(self) -> None:
        """Give free agents to the waiting calls, oldest first, while agents are free.
        One pass at a time; a pass that finds no free agent leaves the rest waiting."""
        if self._serving or not self._queue:
            return
        self._serving = True
        try:
            await self._serve()
        except Exception:
            log.exception("agent_claim_failed campaign=%s", self._runner.campaign_id)
        finally:
            self._serving = False

    async def _serve(self) -> None:
        request = self._runner.routing_request()
        while self._queue:
            waiter = self._queue[0]
            if waiter.granted.done():
                self._queue.popleft()
                continue
            call = waiter.call
            routing = call.routing
            if routing.free_slots(request) <= 0:
                return
            if isinstance(routing, ClaimsSlots):
                if not await routing.claim_slots(request, [call.call_id]):
                    return  # another node took the last one
            routing.reserve(request, call.call_id)
            if waiter.granted.done():  # gave up while the slot was being claimed
                routing.release(call.call_id, False)
                continue
            call.holds_slot = True
            self._queue.popleft()
            waiter.granted.set_result(True)


__all__ = ["RETRY_S", "AgentClaims"]
