"""Progressive pacing: one call per free agent (OSCC) or free IVR channel.

``free_slots`` comes from the routing target already net of the calls it holds
reservations for, and ``free_ports`` from the platform net of calls up, so the
only thing left to subtract is the node's in-flight calls from the global cap.
"""

from __future__ import annotations

from collections.abc import Mapping

from opendialer.sdk import PacingModeFactory, PacingSnapshot, PluginContext, hookimpl


class ProgressivePacing:
    def __init__(self, context: PluginContext | None = None) -> None:
        self.context = context

    def calls_to_launch(self, snapshot: PacingSnapshot) -> int:
        headroom = snapshot.global_max - snapshot.in_flight
        return max(0, min(snapshot.free_slots, snapshot.free_ports, headroom))


@hookimpl
def register_pacing_modes() -> Mapping[str, PacingModeFactory]:
    return {"progressive": ProgressivePacing}
