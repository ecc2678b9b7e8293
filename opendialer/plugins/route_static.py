"""A fixed number of slots per campaign, for agentless runs and tests.

Options: ``slots`` (int, default 10) — concurrent calls each campaign may have.
A bad one is refused with ``sdk.OptionError`` (code ``route_static.slots_invalid``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opendialer.sdk import (
    ErrorMessage,
    Health,
    OptionError,
    PluginContext,
    RoutingRequest,
    RoutingTargetFactory,
    hookimpl,
    register_error_messages,
)


def N_(message: str) -> str:
    """Mark ``message`` for extraction (``babel.cfg``); the pages translate it."""
    return message


ERRORS = {
    "route_static.slots_invalid": ErrorMessage(
        "route_static: option 'slots' must be a whole number >= 0, got %(value)r",
        N_("%(name)s: enter a whole number."),
    ),
}
register_error_messages(ERRORS)


class StaticRoutingTarget:
    @staticmethod
    def validate_options(options: Mapping[str, Any]) -> dict[str, Any]:
        """``slots`` checked (``sdk.ValidatesOptions``)."""
        slots = options.get("slots", 10)
        if not isinstance(slots, int) or isinstance(slots, bool) or slots < 0:
            raise OptionError(
                "route_static.slots_invalid", option="slots", name="slots", value=slots
            )
        return {**options, "slots": slots}

    def __init__(
        self, options: Mapping[str, Any] | None = None, context: PluginContext | None = None
    ) -> None:
        self.slots = self.validate_options(options or {})["slots"]
        self._held: dict[str, int] = {}  # call_id -> campaign_id

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._held.clear()

    def free_slots(self, request: RoutingRequest) -> int:
        used = sum(1 for cid in self._held.values() if cid == request.campaign_id)
        return max(0, self.slots - used)

    def reserve(self, request: RoutingRequest, call_id: str) -> None:
        self._held[call_id] = request.campaign_id

    def release(self, call_id: str, transferred: bool) -> None:
        self._held.pop(call_id, None)

    def health(self, request: RoutingRequest | None = None) -> Health:
        return Health(ok=True, detail=f"static: {self.slots} slots per campaign")


@hookimpl
def register_routing_targets() -> Mapping[str, RoutingTargetFactory]:
    return {"static": StaticRoutingTarget}
