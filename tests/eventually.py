"""``eventually()``: the one way a test waits for something that happens in the background.

    await eventually(lambda: target.free_slots(SALES) == 2, what="2 free")
    row = await eventually(fetch_row, within=90, what="the engine's record")  # async too

``check`` is called until it returns something truthy (an awaitable it returns is
awaited), and that value is returned; after ``within`` seconds the test fails, naming
``what``. ``within`` bounds a stuck run, not the speed being tested — unless the
product promises a bound (then pass it, as tests/test_dnc_reload.py does).

Never sleep a fixed time to show that something did not happen: wait for a later
event that must come after it (another poll, a marker packet, a fake clock's step)
and then check.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


async def eventually(
    check: Callable[[], T | Awaitable[T]],
    within: float = 15.0,
    what: str = "",
    *,
    interval: float = 0.02,
) -> T:
    """Poll ``check`` until it returns something truthy and return it; fail after ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if loop.time() > deadline:
            pytest.fail(f"not reached within {within:g} s: {what or check}", pytrace=False)
        await asyncio.sleep(interval)
