"""The one :class:`~opendialer.sdk.PluginContext` implementation.

The engine builds one per node (its clock, its settings with ``node_id``,
``dead_after_s``, ``routing_refresh_s``, and a ``wake`` that nudges its pacer);
the web app, Diagnostics and CLI commands build a plain one (real clock, no
settings, ``wake_pacer`` does nothing). Plugins get the same object type
everywhere, so they never need ``getattr(context, ...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from opendialer.core.engine.clock import Clock, RealClock


class DialerContext:
    """``DialerContext(clock, settings, wake)``; every argument optional."""

    def __init__(
        self,
        clock: Clock | None = None,
        settings: Mapping[str, Any] | None = None,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self._clock: Clock = clock or RealClock()
        self._settings = dict(settings or {})
        self._wake = wake

    def now(self) -> datetime:
        return self._clock.now()

    def monotonic(self) -> float:
        return self._clock.monotonic()

    async def sleep(self, seconds: float) -> None:
        await self._clock.sleep(seconds)

    def wake_pacer(self) -> None:
        if self._wake is not None:
            self._wake()

    @property
    def node_id(self) -> str:
        return str(self._settings.get("node_id") or "")

    @property
    def settings(self) -> Mapping[str, Any]:
        return self._settings


__all__ = ["DialerContext"]
