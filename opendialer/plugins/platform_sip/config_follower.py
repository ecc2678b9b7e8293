"""Follows the stored configuration of the SIP platform while it runs.

The ``config_source`` option (an async callable returning the JSON a Master
saved, or None before anything is saved) is read once at start and then every
``config_poll_s``; each configuration read is handed to ``apply`` — the
platform's ``apply_config``, which changes ports, registrations and endpoint
without a restart. A configuration the plugin refuses (``ValueError``) is one
log line per new reason; the running configuration stays, and while none runs
:attr:`problem` is the reason the platform's health gives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

log = logging.getLogger("opendialer.plugins.platform_sip.platform")

ConfigSource = Callable[[], Awaitable[Mapping[str, Any] | None]]


class ConfigFollower:
    """Reads ``source`` and applies what it holds; :meth:`follow` polls until cancelled."""

    def __init__(
        self,
        source: ConfigSource,
        apply: Callable[[Mapping[str, Any]], Awaitable[None]],
        poll_s: float,
    ) -> None:
        self._source = source
        self._apply = apply
        self._poll_s = poll_s
        #: Why the last configuration read was refused (None: it was applied).
        self.problem: str | None = None

    async def read_once(self) -> None:
        """Apply what the source holds now (nothing when it holds nothing)."""
        try:
            data = await self._source()
        except Exception as exc:  # the database away for a moment: next poll
            log.warning("sip.config_read_failed error=%s", exc)
            return
        if data is None:
            return
        try:
            await self._apply(data)
        except ValueError as exc:
            if str(exc) != self.problem:
                log.error("sip.config_refused reason=%s", exc)
            self.problem = str(exc)

    async def follow(self) -> None:
        while True:
            await asyncio.sleep(self._poll_s)
            await self.read_once()
