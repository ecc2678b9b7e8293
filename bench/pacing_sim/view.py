"""The :class:`PacingSnapshot` the engine could build at this moment of the day.

What an OSCC queue and the engine's own bookkeeping tell, nothing more:

* ``free_slots``: free agents, net of the agents held for the campaign's calls
  (progressive's reserved agents are not free; agents being handed a call,
  talking or in wrap-up are not free);
* ``agent_history``: one :class:`AgentSample` a second over the last minute, with
  the running total of calls handed to agents;
* ``calls``: the campaign's calls by phase (seconds ringing, seconds in AMD,
  waiting for an agent, being handed over); ``launching`` is 0 (a launch rings at
  once in the simulation);
* ``stats``: ``OutcomeStats.from_calls`` over the last 500 ended attempts,
  recomputed at most every 60 s (``campaign.STATS_REFRESH_S``), carried over days;
* ``abandon``: the budget in the campaign's window (30 days), carried over days;
* ``agents_logged_on``, ``agent_busy_s`` and ``agent_busy_history``: ``None`` (an
  OSCC queue tells only free counts) unless ``full_info`` (an IVR-like target that
  knows its channels and how long their recent calls kept them busy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opendialer.sdk.pacing import CallsInFlight, PacingSettings, PacingSnapshot

from .sim import HANDING_OVER, RESERVED, TALKING, WRAPPING

if TYPE_CHECKING:
    from .sim import DaySim

BUSY_STATES = frozenset({RESERVED, HANDING_OVER, TALKING, WRAPPING})


def snapshot(sim: DaySim, settings: PacingSettings, *, full_info: bool = False) -> PacingSnapshot:
    t = sim.t
    calls = CallsInFlight(
        0,
        tuple([t - launched for launched in sim.ringing.values()]),
        tuple([t - answered for answered in sim.in_amd.values()]),
        len(sim.waiting),
        sim.handing_over,
    )
    in_flight = sim.in_flight
    ports = sim.s.ports
    logged_on: int | None = None
    busy: tuple[float, ...] | None = None
    if full_info:
        logged_on = sim.logged_on
        since = sim.busy_since
        busy = tuple([t - since[a] for a, st in enumerate(sim.state) if st in BUSY_STATES])
    return PacingSnapshot(
        free_slots=len(sim.ready),
        free_ports=max(0, ports - in_flight),
        global_max=ports,
        in_flight=in_flight,
        settings=settings,
        now_s=t,
        local_hour=int((t - sim.base) // 3600),
        agent_history=tuple(sim.samples),
        agents_logged_on=logged_on,
        agent_busy_s=busy,
        agent_busy_history=sim.campaign.busy_history(t) if full_info else None,
        calls=calls,
        stats=sim.campaign.stats(t),
        abandon=sim.campaign.budget(),
    )


__all__ = ["snapshot"]
