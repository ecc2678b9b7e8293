"""The simulated contact center: a pool of agents, each busy for a handle time per call.

One center per name, shared in the process by the simulator platform (which
hands transferred calls to agents) and the ``sim`` routing target (which
counts free agents for pacing).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any


class ContactCenter:
    def __init__(self, name: str) -> None:
        self.name = name
        self.agents: int | None = None  # None: unlimited (no contact center modelled)
        self.handle_s: tuple[float, float] = (5.0, 15.0)
        self.busy = 0
        self.handled = 0
        self.sleep: Callable[[float], Any] = asyncio.sleep
        self.on_free: Callable[[], None] | None = None
        self.rng = random.Random()
        self._tasks: set[asyncio.Task[None]] = set()

    def configure(
        self,
        *,
        agents: int | None,
        handle_s: tuple[float, float],
        sleep: Callable[[float], Any],
        on_free: Callable[[], None] | None,
        seed: int | None,
    ) -> None:
        self.agents = agents
        self.handle_s = handle_s
        self.sleep = sleep
        self.on_free = on_free
        self.rng = random.Random(seed)

    def free_agents(self) -> int:
        if self.agents is None:
            return 1_000_000
        return max(0, self.agents - self.busy)

    def take_agent(self) -> bool:
        """A transferred call reaches an agent, busy for a handle time; False if none is free."""
        if self.free_agents() <= 0:
            return False
        self.busy += 1
        task = asyncio.create_task(self._handle(self.rng.uniform(*self.handle_s)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _handle(self, seconds: float) -> None:
        try:
            await self.sleep(seconds)
        finally:
            self.busy -= 1
            self.handled += 1
            if self.on_free is not None:
                self.on_free()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


_CENTERS: dict[str, ContactCenter] = {}


def center(name: str = "default") -> ContactCenter:
    if name not in _CENTERS:
        _CENTERS[name] = ContactCenter(name)
    return _CENTERS[name]


__all__ = ["ContactCenter", "center"]
