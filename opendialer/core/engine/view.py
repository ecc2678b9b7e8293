"""The engine as an exporter may see it: :class:`~opendialer.sdk.EngineView`.

An adapter, not a copy: each method reads the engine's live state when called
(a scrape), through the smallest surface of the engine and its runners, so the
engine's internals can change without exporters noticing. :func:`attach_exporter`
is the one place the core hands an engine to an exporter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from opendialer.sdk import (
    CampaignPacingState,
    DncProvider,
    MetricsExporter,
    Platform,
    RoutingTarget,
)

if TYPE_CHECKING:
    from opendialer.core.engine.engine import Engine


class EngineReadView:
    """Implements :class:`~opendialer.sdk.EngineView` over a running :class:`Engine`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def node_id(self) -> str:
        return self._engine.node_id

    def now(self) -> datetime:
        return self._engine.clock.now()

    def calls_in_flight(self) -> Mapping[int, int]:
        # A runner's in_flight holds every call from its DNC check to its last BYE.
        return {cid: len(runner.in_flight) for cid, runner in self._engine.runners.items()}

    def platform(self) -> Platform:
        return self._engine.platform

    def routing_targets(self) -> Mapping[str, RoutingTarget]:
        return self._engine.routing_targets()

    def dnc_providers(self) -> Mapping[str, DncProvider]:
        return self._engine.dnc.providers()

    def pacing_states(self) -> Mapping[int, CampaignPacingState]:
        states = {cid: runner.pacing.last for cid, runner in self._engine.runners.items()}
        return {cid: state for cid, state in states.items() if state is not None}


def attach_exporter(exporter: MetricsExporter, engine: Engine) -> Callable[[], None]:
    """Give ``exporter`` this engine (read-only) and, when it implements event hooks
    (``@hookimpl`` methods, as the Prometheus exporter counts calls), let it receive
    the engine's events. Returns the function that stops the events (on close)."""
    exporter.attach_engine(EngineReadView(engine))
    return engine.pm.observe(exporter)


__all__ = ["EngineReadView", "attach_exporter"]
