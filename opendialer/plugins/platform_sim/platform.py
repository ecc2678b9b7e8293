"""A communication platform and its far ends, simulated in-process.

Options (all optional):

``ports`` (60)
    concurrent calls; ``originate`` raises ``PlatformUnavailable`` beyond it.
``mix``
    weights of what the far end does: ``human``, ``machine`` (answering
    machine), ``busy`` (486), ``rejected`` (603), ``no_answer`` (rings until the
    campaign's no-answer timeout), ``unavailable`` (503), ``not_found`` (404),
    ``hangup`` (answers, hangs up before the transfer).
``script``
    ``{number: [outcome, ...]}`` — what a number does on its 1st, 2nd… call
    (then the mix). Tests use it.
``ring_s`` ([1, 6]) / ``no_answer_s`` (campaign's timeout)
    ring time range before an answer or a final response.
``agents`` (None: unlimited) / ``handle_s`` ([5, 15]) / ``center`` ("default")
    the contact center (or IVR) behind the pilot number: a transferred call takes
    a free agent for a handle time; with none free the transfer fails (486).
    When the handle time ends the call's ``on_transferred_ended`` is called, so a
    routing target that counts transferred calls still up (``ivr``) frees them.
``time_scale`` (1.0)
    multiplies every simulated wait (0: no waiting at all, for tests and benches).
``chunk_ms`` (20)
    audio chunk fed to the AMD session per step of simulated time.
``seed``
    makes the random choices repeatable.

Over-dialing pacing (``waits_for_agents``): when a person answers (the verdict
says transfer, or AMD is off) a call whose request has ``claim_agent`` awaits it.
True: the engine holds an agent, the call is transferred. False: the request's
``safe_harbour_ulaw`` is "played" — the call stays up for the message's duration
on the simulated clock — and hung up: disposition ABANDONED, its detail saying how
long the person waited and how long the message was (``safe_harbour_played``
counts them).

Voicemail drop: a MACHINE verdict whose action is ``leave_message`` feeds the rest of
the machine's clip (then a quiet line) to the request's ``message_point`` tracker in
simulated time, "plays" ``voicemail_ulaw`` for its duration and hangs up:
MESSAGE_LEFT (``messages_left`` counts them); no point before the tracker's cap, or
no message: AMD_HANGUP.

Audio: answered calls play a shipped clip (a person's "hello?" or a voicemail
greeting) to the campaign's AMD session in ``chunk_ms`` chunks, sleeping each
chunk's duration in simulated time. With AMD on but no AMD strategy installed,
the simulator uses the verdict it knows (the truth of its own script).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from opendialer.plugins.platform_sim import details
from opendialer.plugins.platform_sim.center import center
from opendialer.plugins.platform_sim.clips import SAMPLE_RATE, load_clips
from opendialer.sdk import (
    AmdDecision,
    AmdLabel,
    CallAction,
    CallDisposition,
    CallOutcome,
    CallRequest,
    Health,
    PlatformUnavailable,
    PluginContext,
)

OUTCOMES = (
    "human",
    "machine",
    "busy",
    "rejected",
    "no_answer",
    "unavailable",
    "not_found",
    "hangup",
)
DEFAULT_MIX = {
    "human": 45,
    "machine": 20,
    "busy": 10,
    "rejected": 5,
    "no_answer": 12,
    "unavailable": 4,
    "not_found": 2,
    "hangup": 2,
}
FINAL_CODES = {
    "busy": (486, "Busy Here"),
    "rejected": (603, "Decline"),
    "unavailable": (503, "Service Unavailable"),
    "not_found": (404, "Not Found"),
}


def _pair(value: Any, default: tuple[float, float], name: str) -> tuple[float, float]:
    if value is None:
        return default
    if isinstance(value, int | float):
        return float(value), float(value)
    low, high = (float(v) for v in value)
    if low < 0 or high < low:
        raise ValueError(f"platform_sim: option {name!r} must be [min, max] with 0 <= min <= max")
    return low, high


def N_(message: str) -> str:
    """Mark ``message`` for extraction (``babel.cfg``); the admin translates it."""
    return message


class SimPlatform:
    #: Honours ``CallRequest.claim_agent`` and plays ``safe_harbour_ulaw`` (``sdk.WaitsForAgents``).
    waits_for_agents = True
    #: Its calls reach only its own simulated agents: a campaign that names no routing
    #: target and whose type's default is not configured (a new install trying the
    #: product) routes to the ``sim`` target while the simulator is the platform.
    default_routing_target = "sim"
    #: How System → Communication platform names it (message ids).
    label = N_("Simulator")
    description = N_(
        "No real calls: simulated answers, machines, busy lines and agents, to try "
        "campaigns and train admins. Nobody is called."
    )

    def __init__(
        self, options: Mapping[str, Any] | None = None, context: PluginContext | None = None
    ) -> None:
        options = dict(options or {})
        unknown = set(options) - {
            "ports",
            "mix",
            "script",
            "ring_s",
            "no_answer_s",
            "agents",
            "handle_s",
            "center",
            "time_scale",
            "chunk_ms",
            "seed",
        }
        if unknown:
            raise ValueError(f"platform_sim: unknown option(s) {sorted(unknown)}")
        self.context = context
        self.ports = int(options.get("ports", 60))
        mix = dict(options["mix"]) if options.get("mix") else dict(DEFAULT_MIX)
        bad = set(mix) - set(OUTCOMES)
        if bad:
            raise ValueError(f"platform_sim: unknown outcome(s) in 'mix': {sorted(bad)}")
        self.mix_names = [k for k, v in mix.items() if v > 0]
        self.mix_weights = [float(mix[k]) for k in self.mix_names]
        if not self.mix_names:
            raise ValueError("platform_sim: 'mix' needs at least one outcome with a weight > 0")
        self.script = {str(k): list(v) for k, v in dict(options.get("script") or {}).items()}
        self.ring_s = _pair(options.get("ring_s"), (1.0, 6.0), "ring_s")
        self.no_answer_s = options.get("no_answer_s")
        self.time_scale = float(options.get("time_scale", 1.0))
        self.chunk = max(1, int(SAMPLE_RATE * int(options.get("chunk_ms", 20)) / 1000))
        self.rng = random.Random(options.get("seed"))
        self.center = center(str(options.get("center", "default")))
        agents = options.get("agents")
        self.center.configure(
            agents=None if agents is None else int(agents),
            handle_s=_pair(options.get("handle_s"), (5.0, 15.0), "handle_s"),
            sleep=self._sleep,
            on_free=context.wake_pacer if context is not None else None,
            seed=options.get("seed"),
            monotonic=context.monotonic if context is not None else None,
        )
        self.busy_ports: set[int] = set()
        self.clips: dict[str, list[npt.NDArray[np.int16]]] = {"human": [], "machine": []}
        self.calls = 0
        #: Abandoned calls that heard the safe-harbour message.
        self.safe_harbour_played = 0
        #: Voicemail messages left on machines (``CallAction.LEAVE_MESSAGE``).
        self.messages_left = 0

    # -- life cycle --------------------------------------------------------------

    async def start(self) -> None:
        self.clips = await asyncio.to_thread(load_clips)

    async def close(self) -> None:
        await self.center.close()

    def health(self) -> Health:
        return Health(ok=True, detail=f"simulator: {len(self.busy_ports)}/{self.ports} ports busy")

    def free_ports(self) -> int:
        return self.ports - len(self.busy_ports)

    # -- time --------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.context.now() if self.context is not None else datetime.now(UTC)

    async def _sleep(self, seconds: float) -> None:
        seconds *= self.time_scale
        if self.context is not None:
            await self.context.sleep(seconds)
        else:
            await asyncio.sleep(seconds)

    # -- calls -------------------------------------------------------------------

    def _choose(self, number: str) -> str:
        queued = self.script.get(number)
        if queued:
            return str(queued.pop(0))
        return self.rng.choices(self.mix_names, self.mix_weights)[0]

    async def originate(self, request: CallRequest) -> CallOutcome:
        port = next((p for p in range(1, self.ports + 1) if p not in self.busy_ports), None)
        if port is None:
            raise PlatformUnavailable(f"simulator: all {self.ports} ports are busy")
        self.busy_ports.add(port)
        self.calls += 1
        try:
            return await self._run(request, f"sim-{port}", self._choose(request.number))
        finally:
            self.busy_ports.discard(port)

    async def _run(self, request: CallRequest, port: str, what: str) -> CallOutcome:
        created = self._now()
        if what == "no_answer":
            wait = float(self.no_answer_s) if self.no_answer_s is not None else None
            await self._sleep(wait if wait is not None else request.no_answer_timeout_s)
            return CallOutcome(
                CallDisposition.NO_ANSWER, port, created, self._now(), detail_code=details.NO_ANSWER
            )
        await self._sleep(self.rng.uniform(*self.ring_s))
        if what in FINAL_CODES:
            code, reason = FINAL_CODES[what]
            return CallOutcome(
                CallDisposition.FINAL_RESPONSE,
                port,
                created,
                self._now(),
                sip_code=code,
                sip_reason=reason,
            )
        answered = self._now()
        if request.on_answered is not None:
            request.on_answered(answered)
        if what == "hangup":
            await self._sleep(self.rng.uniform(0.5, 2.0))
            return CallOutcome(
                CallDisposition.FAR_END_HANGUP,
                port,
                created,
                self._now(),
                answered_at=answered,
                detail_code=details.HUNG_UP,
            )
        truth = "machine" if what == "machine" else "human"
        decision: AmdDecision | None = None
        rest: npt.NDArray[np.int16] = np.zeros(0, dtype=np.int16)
        if request.amd_session is not None:
            decision, rest = await self._play(request, truth)
        elif request.amd_enabled:  # AMD wanted but no strategy installed: the sim knows
            label = AmdLabel.MACHINE if truth == "machine" else AmdLabel.HUMAN
            decision = AmdDecision(label, 1800.0, "simulator: scripted verdict (no AMD installed)")
            await self._sleep(decision.decision_ms / 1000)
        action = request.on_verdict(decision) if decision is not None else None
        if action is CallAction.LEAVE_MESSAGE and decision is not None:
            return await self._leave_message(request, port, created, answered, decision, rest)
        if action is CallAction.HANGUP and decision is not None:
            return self._amd_hangup(port, created, answered, decision, truth)
        if request.claim_agent is not None:
            waiting_since = self._monotonic()
            if not await request.claim_agent():
                return await self._abandon(
                    request, port, created, answered, decision, waiting_since
                )
        if not self.center.take_agent(on_end=request.on_transferred_ended):
            return CallOutcome(
                CallDisposition.TRANSFER_FAILED,
                port,
                created,
                self._now(),
                answered_at=answered,
                amd=decision,
                transfer_code=486,
                detail_code=details.NO_FREE_AGENT,
            )
        await self._sleep(0.2)  # REFER → 202 → NOTIFY 200
        return CallOutcome(
            CallDisposition.TRANSFERRED,
            port,
            created,
            self._now(),
            answered_at=answered,
            amd=decision,
            transfer_code=200,
            detail_code=details.TRANSFERRED,
            detail_params={"to": request.transfer_to, "truth": truth},
        )

    def _monotonic(self) -> float:
        return self.context.monotonic() if self.context is not None else time.monotonic()

    def _amd_hangup(
        self, port: str, created: datetime, answered: datetime, decision: AmdDecision, truth: str
    ) -> CallOutcome:
        """The verdict's action hung up (or a voicemail drop found no point to play at)."""
        return CallOutcome(
            CallDisposition.AMD_HANGUP,
            port,
            created,
            self._now(),
            answered_at=answered,
            amd=decision,
            detail_code=details.AMD_HANGUP,
            detail_params={"verdict": decision.label.value, "truth": truth},
        )

    async def _abandon(
        self,
        request: CallRequest,
        port: str,
        created: datetime,
        answered: datetime,
        decision: AmdDecision | None,
        waiting_since: float,
    ) -> CallOutcome:
        """No agent for the person: play the safe-harbour message (for its duration, in
        simulated time), then hang up."""
        waited_ms = str(round((self._monotonic() - waiting_since) * 1000))
        audio = request.safe_harbour_ulaw
        if audio:
            await self._sleep(len(audio) / SAMPLE_RATE)  # 8,000 µ-law bytes a second
            self.safe_harbour_played += 1
        played_ms = str(round(len(audio) * 1000 / SAMPLE_RATE)) if audio else ""
        return CallOutcome(
            CallDisposition.ABANDONED,
            port,
            created,
            self._now(),
            answered_at=answered,
            amd=decision,
            detail_code=details.ABANDONED if audio else details.ABANDONED_SILENT,
            detail_params=(
                {"waited_ms": waited_ms, "message_ms": played_ms}
                if audio
                else {"waited_ms": waited_ms}
            ),
        )

    async def _play(
        self, request: CallRequest, truth: str
    ) -> tuple[AmdDecision, npt.NDArray[np.int16]]:
        """Feed the clip to the AMD session chunk by chunk, in simulated time: the
        verdict and the part of the clip still to play."""
        session = request.amd_session
        assert session is not None
        clips = self.clips.get(truth) or [np.zeros(SAMPLE_RATE * 3, dtype=np.int16)]
        pcm = clips[self.rng.randrange(len(clips))]
        step_s = self.chunk / SAMPLE_RATE
        for offset in range(0, len(pcm), self.chunk):
            decision = session.feed(pcm[offset : offset + self.chunk])
            await self._sleep(step_s)
            if decision is not None:
                return decision, pcm[offset + self.chunk :]
        return session.finish(), np.zeros(0, dtype=np.int16)

    async def _leave_message(
        self,
        request: CallRequest,
        port: str,
        created: datetime,
        answered: datetime,
        decision: AmdDecision,
        rest: npt.NDArray[np.int16],
    ) -> CallOutcome:
        """Voicemail drop: the rest of the greeting (then a quiet line) to the message
        point tracker, then the message "played" for its duration, then BYE."""
        point = None
        if request.message_point is not None:
            tracker = request.message_point()
            quiet = np.zeros(self.chunk, dtype=np.int16)
            step_s = self.chunk / SAMPLE_RATE
            offset = 0
            while point is None:
                piece = rest[offset : offset + self.chunk] if offset < len(rest) else quiet
                offset += self.chunk
                point = tracker.feed(piece)
                await self._sleep(step_s)
        audio = request.voicemail_ulaw
        if point is None or not point.found or not audio:
            return self._amd_hangup(port, created, answered, decision, "machine")
        await self._sleep(len(audio) / SAMPLE_RATE)  # 8,000 µ-law bytes a second
        self.messages_left += 1
        return CallOutcome(
            CallDisposition.MESSAGE_LEFT,
            port,
            created,
            self._now(),
            answered_at=answered,
            amd=decision,
            detail_code=details.MESSAGE_LEFT,
            detail_params={
                "at_s": f"{point.at_ms / 1000:.1f}",
                "message_ms": str(round(len(audio) * 1000 / SAMPLE_RATE)),
                **point.detail_params(),  # why (English), and what the point was
            },
        )


__all__ = ["OUTCOMES", "SimPlatform"]
