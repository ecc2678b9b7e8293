"""Injectable clocks: the real one, and a fake one tests move by hand.

Everything in the engine (and the simulator platform) asks its clock for the
time and sleeps through it, so a test can jump over midnight, a DST change or
a 1440-minute retry without waiting.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for latencies)."""
        ...


class RealClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()


class FakeClock:
    """Time stands still until :meth:`advance` (or :meth:`set`) moves it.

    Sleepers wake in due order as time passes them; ``advance`` yields to the
    event loop after each wake-up so woken tasks run before time moves on.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._now.timestamp()

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(
            self._sleepers, (self._now + timedelta(seconds=seconds), next(self._seq), future)
        )
        await future

    async def advance(self, seconds: float = 0.0, *, settle_rounds: int = 20) -> None:
        """Move time forward, waking each sleeper at its own due time."""
        target = self._now + timedelta(seconds=seconds)
        await self._settle(settle_rounds)
        while self._sleepers and self._sleepers[0][0] <= target:
            due, _, future = heapq.heappop(self._sleepers)
            self._now = max(self._now, due)
            if not future.done():
                future.set_result(None)
            await self._settle(settle_rounds)
        self._now = target
        await self._settle(settle_rounds)

    async def set(self, when: datetime) -> None:
        """Jump to ``when`` (must not be in the past), waking sleepers on the way."""
        delta = (when.astimezone(UTC) - self._now).total_seconds()
        if delta < 0:
            raise ValueError(f"FakeClock cannot go back from {self._now} to {when}")
        await self.advance(delta)

    @staticmethod
    async def _settle(rounds: int) -> None:
        for _ in range(rounds):
            await asyncio.sleep(0)


__all__ = ["Clock", "FakeClock", "RealClock"]
