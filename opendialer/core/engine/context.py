"""The :class:`~opendialer.core.contracts.PluginContext` the engine hands to plugins."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from opendialer.core.engine.clock import Clock


class EngineContext:
    """The :class:`~opendialer.core.contracts.PluginContext` the engine hands to plugins.

    Beyond the contract: ``sleep`` and ``monotonic`` (so a simulator runs in the
    engine's clock) and ``wake_pacer()`` (a routing target calls it when an
    agent becomes free, so the next call goes out at once, not at the next poll).
    """

    def __init__(self, clock: Clock, settings: Mapping[str, Any], wake: Callable[[], None]):
        self._clock = clock
        self._settings = dict(settings)
        self._wake = wake

    def now(self) -> Any:
        return self._clock.now()

    @property
    def settings(self) -> Mapping[str, Any]:
        return self._settings

    async def sleep(self, seconds: float) -> None:
        await self._clock.sleep(seconds)

    def monotonic(self) -> float:
        return self._clock.monotonic()

    def wake_pacer(self) -> None:
        self._wake()


__all__ = ["EngineContext"]
