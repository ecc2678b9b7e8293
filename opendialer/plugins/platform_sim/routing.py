"""The ``sim`` routing target: free agents of the simulated contact center.

Options: ``center`` ("default") — which simulated center to count (the
platform's option of the same name configures its agents).

Besides free agents it tells pacing how many agents are logged on and how long
each busy one has been busy (``sdk.ReportsAgents``), when the center has a fixed
number of agents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opendialer.plugins.platform_sim.center import center
from opendialer.sdk import AgentsState, Health, PluginContext, RoutingRequest


class SimRoutingTarget:
    def __init__(
        self, options: Mapping[str, Any] | None = None, context: PluginContext | None = None
    ) -> None:
        self.center = center(str((options or {}).get("center", "default")))
        self._held: dict[str, int] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._held.clear()

    def free_slots(self, request: RoutingRequest) -> int:
        return max(0, self.center.free_agents() - len(self._held))

    def agents_state(self, request: RoutingRequest) -> AgentsState | None:
        if self.center.agents is None:  # unlimited: nothing to count
            return None
        return AgentsState(
            logged_on=self.center.agents,
            busy_s=self.center.busy_times(),
            recent_busy_s=tuple(self.center.recent_busy),
        )

    def reserve(self, request: RoutingRequest, call_id: str) -> None:
        self._held[call_id] = request.campaign_id

    def release(self, call_id: str, transferred: bool) -> None:
        self._held.pop(call_id, None)

    def health(self, request: RoutingRequest | None = None) -> Health:
        agents = "unlimited" if self.center.agents is None else str(self.center.agents)
        return Health(
            ok=True,
            detail=f"simulated center {self.center.name!r}: {agents} agents, "
            f"{self.center.busy} busy, {len(self._held)} reserved",
        )


__all__ = ["SimRoutingTarget"]
