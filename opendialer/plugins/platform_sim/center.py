"""The simulated contact center: a pool of agents, each busy for a handle time per call.

One center per name, shared in the process by the simulator platform (which
hands transferred calls to agents) and the ``sim`` routing target (which
counts free agents for pacing). For an IVR campaign the "agents" are the IVR's
sessions: ``agents`` None (unlimited) lets the ``ivr`` routing target's channel
count be the only limit, and ``busy`` / ``peak_busy`` show how many transferred
calls were up at once. When a handle time ends, the transferred call's
``on_end`` callback runs (the engine frees the routing slot) and then
``on_free`` (the engine's pacer wakes). It knows how long each busy agent has been
busy (:meth:`ContactCenter.busy_times`, on the platform's clock): the ``sim``
routing target reports it to pacing modes.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger("opendialer.platform_sim")


#: Completed busy times kept (the pacing modes' sample of how long a call takes).
RECENT_BUSY = 300


class ContactCenter:
    def __init__(self, name: str) -> None:
        self.name = name
        self.agents: int | None = None  # None: unlimited (no contact center modelled)
        self.handle_s: tuple[float, float] = (5.0, 15.0)
        self.busy = 0
        self.peak_busy = 0  # the most transferred calls up at once
        self.handled = 0
        self.sleep: Callable[[float], Any] = asyncio.sleep
        self.on_free: Callable[[], None] | None = None
        self.rng = random.Random()
        self.monotonic: Callable[[], float] = time.monotonic
        self._tasks: set[asyncio.Task[None]] = set()
        #: When each busy agent took its call (``monotonic``), by a token per call.
        self._busy_since: dict[int, float] = {}
        #: How long the last calls kept their agents busy (seconds), oldest first.
        self.recent_busy: deque[float] = deque(maxlen=RECENT_BUSY)
        self._tokens = itertools.count()

    def configure(
        self,
        *,
        agents: int | None,
        handle_s: tuple[float, float],
        sleep: Callable[[float], Any],
        on_free: Callable[[], None] | None,
        seed: int | None,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self.agents = agents
        self.handle_s = handle_s
        self.sleep = sleep
        self.on_free = on_free
        self.rng = random.Random(seed)
        self.monotonic = monotonic or time.monotonic

    def free_agents(self) -> int:
        if self.agents is None:
            return 1_000_000
        return max(0, self.agents - self.busy)

    def busy_times(self) -> tuple[float, ...]:
        """Seconds each busy agent has been busy with its current call."""
        now = self.monotonic()
        return tuple(max(0.0, now - since) for since in self._busy_since.values())

    def take_agent(self, on_end: Callable[[], None] | None = None) -> bool:
        """A transferred call reaches an agent, busy for a handle time; False if none is free.

        ``on_end`` runs when the call ends (the handle time is over)."""
        if self.free_agents() <= 0:
            return False
        self.busy += 1
        self.peak_busy = max(self.peak_busy, self.busy)
        token = next(self._tokens)
        self._busy_since[token] = self.monotonic()
        seconds = self.rng.uniform(*self.handle_s)
        task = asyncio.create_task(self._handle(seconds, on_end, token))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _handle(self, seconds: float, on_end: Callable[[], None] | None, token: int) -> None:
        try:
            await self.sleep(seconds)
        finally:
            self.busy -= 1
            since = self._busy_since.pop(token, None)
            if since is not None:
                self.recent_busy.append(max(0.0, self.monotonic() - since))
            self.handled += 1
            for callback in (on_end, self.on_free):
                if callback is not None:
                    try:
                        callback()
                    except Exception:
                        log.exception("sim_center_callback_failed center=%s", self.name)

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
