"""Progressive pacing: one call per free agent (OSCC) or free IVR channel.

``free_slots`` comes from the routing target already net of the calls it holds
reservations for, and ``free_ports`` from the platform net of calls up, so the
only thing left to subtract is the node's in-flight calls from the global cap.
Each call holds its agent from its launch, so no person is ever abandoned.
"""

from __future__ import annotations

from collections.abc import Mapping

from opendialer.sdk import (
    PacingDecision,
    PacingModeFactory,
    PacingSnapshot,
    PluginContext,
    hookimpl,
)
from opendialer.sdk.pacing import PROGRESSIVE


class ProgressivePacing:
    over_dials = False

    def __init__(self, context: PluginContext | None = None) -> None:
        self.context = context

    def calls_to_launch(self, snapshot: PacingSnapshot) -> int:
        return self.decide(snapshot).launch

    def decide(self, snapshot: PacingSnapshot) -> PacingDecision:
        free = max(0, snapshot.free_slots)
        room = max(0, min(snapshot.free_ports, snapshot.global_max - snapshot.in_flight))
        launch = min(free, room)
        if room < free:
            reason = "capacity"
            why = f"{free} free agents, {room} more calls allowed by ports and the node's cap"
        else:
            reason = PROGRESSIVE
            why = f"one call per free agent: {free} free"
        return PacingDecision(
            launch=launch,
            dial_level=1.0,
            predicted_free_agents=float(free),
            reason=reason,
            detail=why,
        )


@hookimpl
def register_pacing_modes() -> Mapping[str, PacingModeFactory]:
    return {PROGRESSIVE: ProgressivePacing}
