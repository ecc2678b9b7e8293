"""The over-dialing pacing modes for the UI and API tests: ``power`` and ``predictive``
as their plugins register them, or stand-ins when those plugins are not installed
(the tests here check the campaign's settings, not how a mode paces)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from opendialer.core.plugins import get_plugin_manager
from opendialer.sdk import PacingSnapshot, hookimpl


class OverDialing:
    """A stand-in over-dialing mode (the power/predictive plugins, when not installed)."""

    over_dials = True

    def __init__(self, context: object = None) -> None:
        self.context = context

    def calls_to_launch(self, snapshot: PacingSnapshot) -> int:
        return snapshot.free_slots


class ModesPlugin:
    def __init__(self, names: list[str]) -> None:
        self.names = names

    @hookimpl
    def register_pacing_modes(self) -> dict[str, Any]:
        return dict.fromkeys(self.names, OverDialing)


@pytest.fixture
def over_dialing_modes() -> Iterator[None]:
    """``power`` and ``predictive`` installed (by their plugins, or stood in for here)."""
    pm = get_plugin_manager()
    missing = sorted({"power", "predictive"} - set(pm.factories("pacing_modes")))
    if missing:
        assert pm.register(ModesPlugin(missing), name="test_pacing_modes")
    try:
        yield
    finally:
        if missing:
            pm.unregister("test_pacing_modes")
