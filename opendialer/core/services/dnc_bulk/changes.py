"""Change notifications of Do-Not-Call lists (PostgreSQL): ``LISTEN opendialer_dnc``
on a connection of its own. SQLite has none; its nodes rely on polling."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from opendialer.core.services.dnc_bulk.postgres import CHANGE_CHANNEL

LISTEN_CONNECT_TIMEOUT_S = 5.0


class ChangeListener:
    """``LISTEN opendialer_dnc`` on a connection of its own; calls
    ``on_change(service_id, version)`` for every list change committed anywhere."""

    def __init__(self, conn: Any, on_change: Callable[[int, int], None]) -> None:
        self._conn = conn
        self._on_change = on_change
        self._lost = asyncio.Event()

    async def start(self) -> None:
        self._conn.add_termination_listener(lambda _conn: self._lost.set())
        await self._conn.add_listener(CHANGE_CHANNEL, self._notified)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        service, _, version = payload.partition(":")
        with contextlib.suppress(ValueError):  # a payload not of ours: ignore it
            self._on_change(int(service), int(version))

    @property
    def backend_pid(self) -> int:
        return int(self._conn.get_server_pid())

    async def wait_lost(self, check_every_s: float = 1.0) -> None:
        """Return once the connection is gone (notifications from then on are lost)."""
        while not self._conn.is_closed():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(check_every_s):  # not wait_for: see provider
                    await self._lost.wait()

    async def close(self) -> None:
        if not self._conn.is_closed():
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=2)


async def listen(engine: Any, on_change: Callable[[int, int], None]) -> ChangeListener | None:
    """A started :class:`ChangeListener`, or None where the backend has no notifications
    (SQLite: nodes rely on polling)."""
    if not isinstance(engine, PostgresEngine):
        return None
    async with asyncio.timeout(LISTEN_CONNECT_TIMEOUT_S):
        conn = await engine.get_new_connection()
    listener = ChangeListener(conn, on_change)
    try:
        await listener.start()
    except BaseException:
        await listener.close()
        raise
    return listener
