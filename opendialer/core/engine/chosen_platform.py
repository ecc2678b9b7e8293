"""The platform a Master chose, followed while the engine runs.

``opendialer serve`` builds its engine around a :class:`ChosenPlatform` unless
``OPENDIALER_PLATFORM`` fixes one. It is a :class:`~opendialer.sdk.contracts.Platform`
that delegates to the plugin platform named by the ``engine.platform`` setting
(``core/services/platform_choice.py``) and re-reads that setting every few seconds:

* nothing chosen yet: no free port, health "no communication platform chosen" (the
  campaign pages show that as the reason a started campaign does not dial);
* a choice saved: the platform is built and started, and calls go out at once;
* the choice changed: the new platform takes the next calls; the old one is closed
  once its last call has ended, so no call is cut by a change.

A platform that fails to build or start is reported the same way, with its error,
and tried again when the setting changes or after ``retry_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from opendialer.core.services.platform_choice import StoredChoice
from opendialer.sdk.contracts import (
    CallOutcome,
    CallRequest,
    Health,
    Platform,
    PlatformUnavailable,
)

log = logging.getLogger("opendialer.engine.platform")

WHERE = "System → Communication platform"

BuildPlatform = Callable[[str, Mapping[str, Any]], Platform]
LoadChoice = Callable[[], Awaitable[StoredChoice]]


class ChosenPlatform:
    """A :class:`Platform` that is whichever platform the stored choice names."""

    def __init__(
        self,
        build: BuildPlatform,
        load: LoadChoice,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        poll_s: float = 2.0,
        retry_s: float = 30.0,
    ) -> None:
        self._build = build
        self._load = load
        self._sleep = sleep
        self.poll_s = poll_s
        self.retry_s = retry_s
        self.current: Platform | None = None
        self.current_name = ""
        self._stamp: str | None = None
        self._problem = f"no communication platform chosen: choose one in {WHERE}"
        self._nothing_chosen = True
        self._calls: dict[int, int] = {}  # id(platform) → calls in progress on it
        self._retiring: list[Platform] = []
        self._follower: asyncio.Task[None] | None = None
        self._since_failure = 0.0
        self._lock = asyncio.Lock()

    # -- following the setting ------------------------------------------------

    async def refresh(self) -> None:
        """Read the setting once and switch platform if it changed (the follower calls
        this every ``poll_s``; tests call it directly)."""
        async with self._lock:
            choice = await self._load()
            failed_long_ago = self.current is None and self._since_failure >= self.retry_s
            if choice.stamp == self._stamp and not (choice.name and failed_long_ago):
                return
            self._stamp = choice.stamp
            self._since_failure = 0.0
            if choice.name == self.current_name and self.current is not None:
                return  # saved again with the same name: nothing to switch
            await self._switch(choice)

    async def _switch(self, choice: StoredChoice) -> None:
        old, self.current, self.current_name = self.current, None, ""
        if old is not None:
            self._retire(old)
        self._nothing_chosen = not choice.name
        if not choice.name:
            self._problem = f"no communication platform chosen: choose one in {WHERE}"
            return
        try:
            platform = self._build(choice.name, choice.options)
            await platform.start()
        except Exception as exc:
            self._problem = (
                f"the communication platform {choice.name!r} cannot start: {exc} ({WHERE})"
            )
            log.warning("platform_start_failed name=%s error=%s", choice.name, exc)
            return
        self.current, self.current_name = platform, choice.name
        log.info("platform_chosen name=%s", choice.name)

    def _retire(self, platform: Platform) -> None:
        if self._calls.get(id(platform), 0):
            self._retiring.append(platform)  # closed when its last call ends
        else:
            self._close_later(platform)

    def _close_later(self, platform: Platform) -> None:
        async def close() -> None:
            try:
                await platform.close()
            except Exception:
                log.exception("platform_close_failed")

        asyncio.get_running_loop().create_task(close(), name="platform-close")

    async def _follow(self) -> None:
        while True:
            await self._sleep(self.poll_s)
            self._since_failure += self.poll_s
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("platform_choice_read_failed")

    # -- Platform ---------------------------------------------------------------

    async def start(self) -> None:
        await self.refresh()
        self._follower = asyncio.create_task(self._follow(), name="platform-choice")

    async def close(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        for platform in [*self._retiring, *([self.current] if self.current else [])]:
            try:
                await platform.close()
            except Exception:
                log.exception("platform_close_failed")
        self._retiring.clear()
        self.current, self.current_name = None, ""

    @property
    def nothing_chosen(self) -> bool:
        """No platform is chosen at all (not one that failed to start): the campaign
        pages say so as ``platform_not_chosen``."""
        return self.current is None and self._nothing_chosen

    def free_ports(self) -> int:
        return self.current.free_ports() if self.current is not None else 0

    @property
    def waits_for_agents(self) -> bool:
        """The platform in use honours ``claim_agent`` (``sdk.WaitsForAgents``); over-
        dialing pacing modes run as progressive while it does not (or none is chosen)."""
        return bool(getattr(self.current, "waits_for_agents", False))

    def health(self) -> Health:
        if self.current is None:
            return Health(False, self._problem)
        return self.current.health()

    async def originate(self, request: CallRequest) -> CallOutcome:
        platform = self.current
        if platform is None:
            raise PlatformUnavailable(self._problem)
        key = id(platform)
        self._calls[key] = self._calls.get(key, 0) + 1
        try:
            return await platform.originate(request)
        finally:
            self._calls[key] -= 1
            if not self._calls[key]:
                del self._calls[key]
                if platform in self._retiring:
                    self._retiring.remove(platform)
                    self._close_later(platform)

    def registrations(self) -> list[dict[str, object]]:
        """The SIP ports' registration state when the platform in use has ports."""
        rows = getattr(self.current, "registrations", None)
        return list(rows()) if callable(rows) else []

    def __getattr__(self, name: str) -> Any:
        """Optional extras of the platform in use (SIP registrations for Diagnostics…)."""
        current = self.__dict__.get("current")
        if current is None or name.startswith("_"):
            raise AttributeError(name)
        return getattr(current, name)
