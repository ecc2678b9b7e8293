"""Event-loop lag: how late a timer fires on this process's loop.

Every call, SIP packet and HTTP request of a process shares one asyncio loop;
something blocking it (a sync query, a CPU-heavy step) delays all of them. A
task sleeps ``interval_s`` and measures how much later than asked it woke up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque


class LoopLagMonitor:
    """``last_s``: the latest lag measured; ``max_s``: the worst of the last ``window_s``."""

    def __init__(self, interval_s: float = 0.25, window_s: float = 60.0) -> None:
        if interval_s <= 0 or window_s < interval_s:
            raise ValueError(
                f"loop lag monitor: need 0 < interval_s <= window_s, got "
                f"interval_s={interval_s} window_s={window_s}"
            )
        self.interval_s = interval_s
        self.last_s = 0.0
        self.samples = 0
        self._recent: deque[float] = deque(maxlen=max(1, round(window_s / interval_s)))
        self._task: asyncio.Task[None] | None = None

    @property
    def max_s(self) -> float:
        return max(self._recent, default=0.0)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="metrics-loop-lag"
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(self.interval_s)
            self.record(max(0.0, loop.time() - asked - self.interval_s))

    def record(self, lag_s: float) -> None:
        self.last_s = lag_s
        self.samples += 1
        self._recent.append(lag_s)


__all__ = ["LoopLagMonitor"]
