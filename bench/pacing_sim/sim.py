"""One simulated day of one campaign: a discrete-event simulation in virtual time.

Events sit in a heap as ``(time, sequence, kind, object)`` tuples; time is the
campaign's virtual monotonic clock (``day × 86400 + second of the day``).

Calls follow the product's semantics (``opendialer/sdk/pacing.py``):

* a policy that does not over-dial (progressive) holds a free agent for each
  call from its launch; the agent is released when the call ends unanswered or
  is judged a machine, and connected when AMD says HUMAN;
* an over-dialing policy's calls hold no agent while they ring or are in AMD;
  on a HUMAN verdict the call takes the longest-idle free agent, or waits up to
  the campaign's ``abandon_timeout_ms`` for one; a call still waiting then is
  **abandoned** (the safe-harbour message plays for ``safe_harbour_s``);
* an agent's phone connects ``handover`` seconds (0.3-0.8) after the claim;
  then talk (people) or a quick drop (machines AMD passed), then wrap-up
  (people only), then the agent is free again — or goes on the break or log-off
  that came due while busy.

Decisions: the policy is asked at its timer (every 1 s for the product's modes,
as the engine paces at least every second; 2.5 s for VICIdial's dial loop) and,
if it reacts to events, ``reaction_s`` (0.1 s, the engine's wake-up to launch)
after an agent frees or the mode calls ``context.wake_pacer()``; wake-ups in
that interval share one decision. Launches are capped by the node's free ports.
"""

from __future__ import annotations

import heapq
import itertools
from array import array
from collections import deque
from typing import Any

from opendialer.sdk.pacing import AgentSample, EndedCall

from .campaign import Campaign
from .cpu import cpu_ns, spent_ns
from .results import DayResult
from .traces import (
    AMD_MACHINE,
    BUSY,
    GREETING,
    HANDOVER,
    MACHINE_DROP,
    RELEASE,
    RING_LIVE,
    RING_MACHINE,
    TALK,
    U_AMD,
    U_KIND,
    WRAP,
    AnswerCurve,
    agent_days,
)

DAY_S = 86400.0
HISTORY_S = 60  # agent samples kept: about the last minute

# Agent states.
OFF, READY, RESERVED, HANDING_OVER, TALKING, WRAPPING, ON_BREAK = range(7)
LOGGING_OFF = -1.0  # ``pending`` value: log off when free (a positive one: a break's length)
# What answered (or not).
LIVE, MACHINE, NO_ANSWER, BUSY_KIND = range(4)
# Event kinds, the frequent ones first.
RING_END, ANSWER, VERDICT, CONNECT, TALK_END, WRAP_END, WAIT_TIMEOUT, MESSAGE_END = range(8)
TICK, DECIDE, TIMER, LOGON, BREAK, BACK, LOGOFF = range(8, 15)


class Call:
    """One attempt; its times are virtual monotonic seconds, set as it goes."""

    __slots__ = (
        "agent", "attempt", "draws", "hour", "human", "kind", "lead", "row",
        "t_answer", "t_connect", "t_greeting_end", "t_launch", "t_verdict",
    )  # fmt: skip
    kind: int  # LIVE, MACHINE, NO_ANSWER, BUSY_KIND
    hour: int  # the campaign's local hour at launch
    t_launch: float
    t_answer: float
    t_greeting_end: float  # people only
    t_verdict: float
    t_connect: float

    def __init__(self, lead: int, attempt: int, draws: list[array[float]], row: int) -> None:
        self.lead = lead
        self.attempt = attempt
        self.draws = draws
        self.row = row
        self.agent = -1
        self.human = False


class DaySim:
    def __init__(self, campaign: Campaign, day: int, *, full_info: bool = False) -> None:
        s = self.s = campaign.scenario
        self.campaign = campaign
        self.policy = campaign.policy
        self.over_dials = self.policy.over_dials
        self.full_info = full_info
        #: Keep the ended attempts for the statistics (only the product's modes read them).
        self.records = self.policy.reads_stats
        self.day = day
        self.base = day * DAY_S
        self.open_s = self.base + s.shift_start_s
        self.close_s = self.base + s.shift_end_s
        self.curve = AnswerCurve(s, campaign.seed, day)
        self.plans = agent_days(s, campaign.seed, day)
        self.heap: list[tuple[float, int, int, Any]] = []
        self.seq = itertools.count()
        self.t = self.open_s - HISTORY_S
        n = s.agents
        self.state = [OFF] * n
        self.on_since = [0.0] * n
        self.busy_since = [0.0] * n
        self.pending: list[float | None] = [None] * n
        self.agent_call: list[Call | None] = [None] * n  # the call an agent was handed
        self.ready: dict[int, None] = {}  # free agents, longest idle first
        self.logged_on = 0  # logged on and not on a break
        self.ringing: dict[Call, float] = {}  # → launch time
        self.in_amd: dict[Call, float] = {}  # → answer time
        self.waiting: dict[Call, float] = {}  # → verdict time (over-dialing only)
        self.handing_over = 0
        self.with_agent = 0  # connected calls (people and machines)
        self.messaging = 0  # abandoned: safe-harbour message playing
        self.handed_over = 0  # running total (AgentSample.handed_over)
        self.samples: deque[AgentSample] = deque(maxlen=HISTORY_S)
        self.decide_pending = False
        self.r = DayResult(day=day)
        self.leads_seen: set[int] = set()

    # -- the loop -------------------------------------------------------------

    def push(self, t: float, kind: int, obj: Any = None) -> None:
        heapq.heappush(self.heap, (t, next(self.seq), kind, obj))

    def run(self) -> DayResult:
        self.campaign.clock.sim = self
        self.policy.start_day(self)
        self._plan()
        heap, pop = self.heap, heapq.heappop
        while heap:
            t, _, kind, obj = pop(heap)
            self.t = t
            if kind == RING_END:
                self._ring_end(obj)
            elif kind == ANSWER:
                self._answer(obj)
            elif kind == VERDICT:
                self._verdict(obj)
            elif kind == TICK:
                self._tick()
            elif kind == CONNECT:
                self._connect(obj)
            elif kind == TALK_END:
                self._talk_end(obj)
            elif kind == WRAP_END:
                self._wrap_end(obj)
            elif kind == DECIDE:
                self.decide_pending = False
                self._decide()
            elif kind == WAIT_TIMEOUT:
                self._wait_timeout(obj)
            elif kind == MESSAGE_END:
                self.messaging -= 1
                self.r.ended += 1
            elif kind == TIMER:
                self._decide()
                if t + self.policy.period_s < self.close_s:
                    self.push(t + self.policy.period_s, TIMER)
            else:
                self._agent_event(kind, obj)
        return self._close()

    def _plan(self) -> None:
        push, base = self.push, self.base
        for a, plan in enumerate(self.plans):
            push(base + plan.logon_s, LOGON, a)
            for start, length in plan.breaks:
                push(base + start, BREAK, (a, length))
            push(base + plan.logoff_s, LOGOFF, a)
        push(self.t, TICK)
        if self.policy.period_s != 1.0:
            push(self.open_s, TIMER)

    def _close(self) -> DayResult:
        r = self.r
        for a, state in enumerate(self.state):
            if state not in (OFF, ON_BREAK):  # only if the day ended with the heap empty early
                r.logged_on_s += self.t - self.on_since[a]
        r.leads = len(self.leads_seen)
        r.extra.update(self.policy.day_extra())
        self.campaign.close_day()
        return r

    # -- decisions ------------------------------------------------------------

    def _tick(self) -> None:
        t = self.t
        self.samples.append(AgentSample(t, len(self.ready), self.handed_over))
        self.policy.observe(self)
        if self.policy.period_s == 1.0:
            self._decide()
        if t + 1.0 < self.close_s:
            self.push(t + 1.0, TICK)

    def wake(self) -> None:
        """An agent freed (or the mode asked): decide after the engine's reaction time."""
        if self.policy.reacts and not self.decide_pending and self.open_s <= self.t < self.close_s:
            self.decide_pending = True
            self.push(self.t + self.s.reaction_s, DECIDE)

    def _decide(self) -> None:
        if not self.open_s <= self.t < self.close_s:
            return
        started = cpu_ns()
        wanted = self.policy.decide(self)
        self.r.policy_ns += self.policy.last_ns or spent_ns(started)
        self.r.decisions += 1
        room = self.s.ports - self.in_flight
        holding = not self.over_dials or self.policy.holds_agents
        n = min(wanted, room, len(self.ready)) if holding else min(wanted, room)
        if n > 0:
            self._launch(n, holding)
            if self.logged_on:
                per_agent = self.unresolved / self.logged_on
                if per_agent > self.r.max_unresolved_per_agent:
                    self.r.max_unresolved_per_agent = per_agent

    @property
    def in_flight(self) -> int:
        """Calls up on the node's platform (what ports and the node's cap count)."""
        return (
            len(self.ringing) + len(self.in_amd) + len(self.waiting)
            + self.handing_over + self.messaging
        )  # fmt: skip

    @property
    def unresolved(self) -> int:
        return len(self.ringing) + len(self.in_amd) + len(self.waiting)

    def answer_probability(self) -> float:
        """The true live-answer probability now (for the state-based reference only)."""
        return self.curve.at(self.t - self.base)

    # -- calls ----------------------------------------------------------------

    def _launch(self, n: int, holds_agent: bool) -> None:
        t, s, r = self.t, self.s, self.r
        p = self.curve.at(t - self.base)
        machine_cut = p + (1.0 - p) * s.machine_share
        no_answer_cut = machine_cut + (1.0 - p) * s.no_answer_share
        take, block = self.campaign.leads.take, self.campaign.draws.block
        heap, seq, ringing, ready = self.heap, self.seq, self.ringing, self.ready
        heappush = heapq.heappush
        hour = int((t - self.base) // 3600)
        no_answer_at = t + s.no_answer_timeout_s
        for _ in range(n):
            lead, attempt = take(t)
            draws, row = block(lead)
            row += attempt
            call = Call(lead, attempt, draws, row)
            call.t_launch = t
            call.hour = hour
            u = draws[U_KIND][row]
            if u < p:
                call.kind = LIVE
                heappush(heap, (t + draws[RING_LIVE][row], next(seq), ANSWER, call))
            elif u < machine_cut:
                call.kind = MACHINE
                heappush(heap, (t + draws[RING_MACHINE][row], next(seq), ANSWER, call))
            elif u < no_answer_cut:
                call.kind = NO_ANSWER
                heappush(heap, (no_answer_at, next(seq), RING_END, call))
            else:
                call.kind = BUSY_KIND
                heappush(heap, (t + draws[BUSY][row], next(seq), RING_END, call))
            ringing[call] = t
            if holds_agent:  # progressive: the call holds an agent from now
                agent = next(iter(ready))
                del ready[agent]
                self.state[agent] = RESERVED
                self.busy_since[agent] = t
                call.agent = agent
            self.leads_seen.add(lead)
        r.launched += n

    def _ring_end(self, call: Call) -> None:
        del self.ringing[call]
        self.r.ended += 1
        self._record(call, live=False, ring_s=self.t - call.t_launch)
        self.campaign.leads.finished(call.lead, call.attempt, self.t, False)
        if call.agent >= 0:
            self._agent_free(call.agent)

    def _answer(self, call: Call) -> None:
        t = self.t
        del self.ringing[call]
        self.in_amd[call] = t
        call.t_answer = t
        draws, row = call.draws, call.row
        if call.kind == LIVE:
            self.r.people += 1
            call.t_greeting_end = t + draws[GREETING][row]
            verdict_at = call.t_greeting_end + draws[RELEASE][row]
            call.human = draws[U_AMD][row] >= self.s.amd_false_positive
        else:
            verdict_at = t + draws[AMD_MACHINE][row]
            call.human = draws[U_AMD][row] < self.s.amd_false_negative
        self.push(verdict_at, VERDICT, call)

    def _verdict(self, call: Call) -> None:
        t = self.t
        del self.in_amd[call]
        call.t_verdict = t
        if not call.human:  # judged a machine: hung up
            if call.kind == LIVE:
                self.r.people_judged_machine += 1
            self.r.ended += 1
            self._record(call, live=False)
            self.campaign.leads.finished(call.lead, call.attempt, t, False)
            if call.agent >= 0:
                self._agent_free(call.agent)
            return
        self.r.live_counted += 1
        self.campaign.day_live += 1
        if call.agent >= 0:
            self._hand_over(call, call.agent)
        elif self.ready:
            agent = next(iter(self.ready))
            del self.ready[agent]
            self._hand_over(call, agent)
        else:
            self.waiting[call] = t
            self.push(t + self.s.abandon_timeout_s, WAIT_TIMEOUT, call)

    def _hand_over(self, call: Call, agent: int) -> None:
        self.state[agent] = HANDING_OVER
        if call.agent < 0:
            self.busy_since[agent] = self.t
        call.agent = agent
        self.agent_call[agent] = call
        self.handing_over += 1
        self.handed_over += 1
        self.policy.resolved(self.t, False)
        self.push(self.t + call.draws[HANDOVER][call.row], CONNECT, call)

    def _wait_timeout(self, call: Call) -> None:
        if self.waiting.pop(call, None) is None:
            return  # an agent took it in time
        r = self.r
        r.abandoned_counted += 1
        self.campaign.day_abandoned += 1
        if call.kind == LIVE:
            r.people_abandoned += 1
        else:
            r.machines_abandoned += 1
        self.messaging += 1
        self.push(self.t + self.s.safe_harbour_s, MESSAGE_END, call)
        self._record(call, live=True, abandoned=True)
        self.campaign.leads.finished(call.lead, call.attempt, self.t, False)
        self.policy.resolved(self.t, True)

    def _connect(self, call: Call) -> None:
        t, r = self.t, self.r
        self.handing_over -= 1
        self.with_agent += 1
        r.ended += 1  # transferred: off the node's platform
        self.state[call.agent] = TALKING
        call.t_connect = t
        draws, row = call.draws, call.row
        if call.kind == LIVE:
            r.people_connected += 1
            if t - call.t_greeting_end > 2.0:
                r.violations_2s += 1
            self.push(t + draws[TALK][row], TALK_END, call)
        else:
            r.machines_passed += 1
            self.push(t + draws[MACHINE_DROP][row], TALK_END, call)
        self.campaign.leads.finished(call.lead, call.attempt, t, call.kind == LIVE)
        self._record(call, live=True)

    def _talk_end(self, call: Call) -> None:
        self.with_agent -= 1
        spent = self.t - call.t_connect
        if call.kind == LIVE:
            self.r.talk_s += spent
            self.state[call.agent] = WRAPPING
            self.push(self.t + call.draws[WRAP][call.row], WRAP_END, call)
            return
        self.r.machine_agent_s += spent
        self._busy_ended(call.agent)
        self._agent_free(call.agent)

    def _wrap_end(self, call: Call) -> None:
        self._busy_ended(call.agent)
        self._agent_free(call.agent)

    def _busy_ended(self, agent: int) -> None:
        """An agent's call (talk and wrap-up) is over: how long it kept the agent busy
        goes to what an IVR-like target reports."""
        if self.full_info:
            self.campaign.agent_freed(self.t - self.busy_since[agent])

    def _record(
        self, call: Call, *, live: bool, ring_s: float = 0.0, abandoned: bool = False
    ) -> None:
        """The attempt as the engine's statistics see it (a HUMAN verdict is live)."""
        if not self.records:
            return
        if ring_s:
            self.campaign.ended(EndedCall(call.hour, False, ring_s))
            return
        self.campaign.ended(
            EndedCall(
                call.hour, live, call.t_answer - call.t_launch, True,
                call.t_verdict - call.t_answer, None, abandoned,
            )
        )  # fmt: skip

    # -- agents ---------------------------------------------------------------

    def _agent_free(self, agent: int) -> None:
        pending = self.pending[agent]
        if pending is not None:
            self.pending[agent] = None
            self._leave(agent, pending)
            return
        if self.waiting:  # over-dialing: the longest-waiting person takes this agent
            call = next(iter(self.waiting))
            del self.waiting[call]
            self._hand_over(call, agent)
            return
        self.state[agent] = READY
        self.ready[agent] = None
        self.wake()

    def _leave(self, agent: int, pending: float) -> None:
        """Log off (``LOGGING_OFF``) or start a break of ``pending`` seconds."""
        self.r.logged_on_s += self.t - self.on_since[agent]
        self.logged_on -= 1
        if pending == LOGGING_OFF:
            self.state[agent] = OFF
        else:
            self.state[agent] = ON_BREAK
            self.push(self.t + pending, BACK, agent)

    def _agent_event(self, kind: int, obj: Any) -> None:
        if kind == BREAK:
            agent, length = obj
            state = self.state[agent]
            if state in (OFF, ON_BREAK) or self.pending[agent] is not None:
                return
            if state == READY:
                del self.ready[agent]
                self._leave(agent, length)
            else:
                self.pending[agent] = length
            return
        agent = obj
        state = self.state[agent]
        if kind == LOGON or (kind == BACK and self.pending[agent] is None):
            self.on_since[agent] = self.t
            self.logged_on += 1
            self._agent_free(agent)
        elif kind == BACK:  # the log-off came during the break
            self.pending[agent] = None
            self.state[agent] = OFF
        elif kind == LOGOFF and state != OFF:
            if state == READY:
                del self.ready[agent]
                self._leave(agent, LOGGING_OFF)
            else:  # busy or on a break: off when done
                self.pending[agent] = LOGGING_OFF


__all__ = ["DaySim"]
