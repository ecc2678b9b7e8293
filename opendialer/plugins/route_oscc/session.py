"""The contact-center session, supervised: register → logon → snapshot → keep
alive and poll; on any failure, back off (exponential, with jitter) and build a
new session, whose first full snapshot must arrive before counts are trusted.

The circuit breaker's states name what the supervisor is doing:
``closed`` (session up, requests flow), ``open`` (after a failure, waiting out
the back-off; nothing is sent), ``half_open`` (trying to build a session).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from opendialer.plugins.route_oscc.cache import QueueCache
from opendialer.plugins.route_oscc.codec import lookup
from opendialer.plugins.route_oscc.options import OsccOptions
from opendialer.plugins.route_oscc.transport import OsccError, OsccTransport

log = logging.getLogger("opendialer.route_oscc")


class SessionState(StrEnum):
    STOPPED = "stopped"
    CONNECTING = "connecting"  # register + logon
    SYNCING = "syncing"  # logged on, waiting for the first full snapshot
    UP = "up"
    DOWN = "down"  # failed; waiting out the back-off


class Backoff:
    """Exponential back-off with equal jitter: half the delay fixed, half random."""

    def __init__(self, initial_s: float, max_s: float, rng: random.Random | None = None) -> None:
        self.initial_s = initial_s
        self.max_s = max_s
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        delay = min(self.max_s, self.initial_s * 2**self.failures)
        self.failures += 1
        return delay / 2 + self._rng.uniform(0, delay / 2)

    def reset(self) -> None:
        self.failures = 0


class SessionSupervisor:
    def __init__(
        self,
        options: OsccOptions,
        transport: OsccTransport,
        cache: QueueCache,
        wanted: Callable[[], set[str]],
        wall: Callable[[], datetime],
        on_more_free: Callable[[], None] = lambda: None,
    ) -> None:
        self._o = options
        self._ops = options.operations
        self._f = options.fields
        self._transport = transport
        self._cache = cache
        self._wanted = wanted
        self._wall = wall
        self._on_more_free = on_more_free
        self.backoff = Backoff(options.backoff_initial_ms / 1000, options.backoff_max_ms / 1000)
        self.state = SessionState.STOPPED
        self.state_since: datetime = wall()
        self.last_error = ""
        #: First failure of the current streak (None while up): "down since".
        self.down_since: datetime | None = None
        self.session_id: str | None = None
        self.sessions_opened = 0
        self.last_keepalive_ok: datetime | None = None
        self.last_snapshot_ok: datetime | None = None
        self.next_attempt_mono: float | None = None
        self.poll_now = asyncio.Event()
        self.events_received = 0

    # -- state ---------------------------------------------------------------

    def _enter(self, state: SessionState) -> None:
        if state is not self.state:
            self.state = state
            self.state_since = self._wall()

    @property
    def breaker(self) -> str:
        if self.state is SessionState.UP:
            return "closed"
        if self.state is SessionState.DOWN:
            return "open"
        return "half_open" if self.state is not SessionState.STOPPED else "closed"

    # -- the loop ------------------------------------------------------------

    async def run(self) -> None:
        """Until cancelled: keep a session up, rebuilding it after any failure."""
        while True:
            try:
                await self._one_session()
            except Exception as exc:
                if not isinstance(exc, OsccError):  # a bug or a codec surprise: rebuild too
                    log.exception("oscc_session_error")
                    exc = OsccError(f"internal error: {type(exc).__name__}: {exc}")
                if exc.status is not None and self.session_id is not None:
                    # The contact center answers but refused something (logon, a
                    # keep-alive): give the session back rather than leave it to expire.
                    with contextlib.suppress(OsccError):
                        await self._call("unregister", {})
                self.session_id = None
                self.last_error = exc.detail
                if self.down_since is None:
                    self.down_since = self._wall()
                self._cache.new_generation()  # nothing of the dead session is trusted
                self._enter(SessionState.DOWN)
                delay = self.backoff.next_delay()
                self.next_attempt_mono = time.monotonic() + delay
                log.warning(
                    "oscc_session_down endpoint=%s reason=%r failures=%d retry_in_s=%.2f",
                    self._transport.endpoint,
                    exc.detail,
                    self.backoff.failures,
                    delay,
                )
                await asyncio.sleep(delay)
                self.next_attempt_mono = None

    async def _one_session(self) -> None:
        self._enter(SessionState.CONNECTING)
        answer = await self._call(
            "register", {self._f["application"]: self._o.application}, session=False
        )
        try:
            session_id = str(lookup(answer, self._f["session_id"]))
        except KeyError:
            raise OsccError(
                f"answer of {self._ops['register']} has no {self._f['session_id']!r} "
                f"(option fields.session_id)"
            ) from None
        self.session_id = session_id
        await self._call(
            "logon", {self._f["user"]: self._o.username, self._f["password"]: self._o.password}
        )
        self._enter(SessionState.SYNCING)
        generation = self._cache.new_generation()
        await self.snapshot(generation)  # full snapshot before anything is trusted
        self.sessions_opened += 1
        self.last_error = ""
        self.down_since = None
        self._enter(SessionState.UP)
        self._on_more_free()
        log.info(
            "oscc_session_up endpoint=%s session=%s queues=%d",
            self._transport.endpoint,
            session_id,
            len(self._wanted()),
        )
        tasks = [
            asyncio.create_task(self._keep_alive()),
            asyncio.create_task(self._poll(generation)),
        ]
        if self._o.events:
            tasks.append(asyncio.create_task(self._events()))
        try:  # both run until one fails; its error ends the session
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self._o.keepalive_interval_ms / 1000)
            await self._call("keepalive", {})
            self.last_keepalive_ok = self._wall()
            # Only a session that lived to keep itself alive resets the back-off:
            # one that comes up and dies at once keeps backing off (no flapping).
            self.backoff.reset()

    async def _poll(self, generation: int) -> None:
        while True:
            try:
                await asyncio.wait_for(self.poll_now.wait(), self._o.poll_interval_ms / 1000)
            except TimeoutError:
                pass
            self.poll_now.clear()
            await self.snapshot(generation)

    async def _events(self) -> None:
        """Long-poll for changes. A change only triggers a snapshot: counts always
        come from snapshots, so events arriving late or out of order cannot put
        an old count in the cache."""
        wait_s = self._o.events_wait_ms / 1000
        while True:
            answer = await self._call(
                "events", {self._f["wait_ms"]: self._o.events_wait_ms}, hold_s=wait_s
            )
            try:
                changes = lookup(answer, self._f["event_list"])
            except KeyError:
                raise OsccError(
                    f"answer of {self._ops['events']} has no {self._f['event_list']!r} "
                    f"(option fields.event_list)"
                ) from None
            if changes:
                self.events_received += 1
                self.poll_now.set()

    async def snapshot(self, generation: int) -> None:
        """Ask for every wanted queue at once and replace their counts."""
        asked = set(self._wanted())
        sent_mono, sent_at = time.monotonic(), self._wall()
        if not asked:
            self._cache.store(generation, {}, asked, sent_mono, sent_at)
            return
        answer = await self._call("queue_statistics", {self._f["queues"]: sorted(asked)})
        counts = self._parse_counts(answer)
        more = self._cache.store(generation, counts, asked, sent_mono, sent_at)
        if more is not None:
            self.last_snapshot_ok = self._wall()
            if more and self.state is SessionState.UP:
                self._on_more_free()

    def _parse_counts(self, answer: dict[str, Any]) -> dict[str, int]:
        op = self._ops["queue_statistics"]
        try:
            items = lookup(answer, self._f["queue_list"])
        except KeyError:
            raise OsccError(
                f"answer of {op} has no {self._f['queue_list']!r} (option fields.queue_list)"
            ) from None
        if not isinstance(items, list):
            raise OsccError(f"answer of {op}: {self._f['queue_list']!r} is not a list")
        counts: dict[str, int] = {}
        for item in items:
            try:
                name = lookup(item, self._f["queue_name"])
                free = lookup(item, self._f["free_agents"])
            except KeyError as exc:
                raise OsccError(
                    f"answer of {op}: a queue item has no {exc.args[0]!r} "
                    f"(options fields.queue_name / fields.free_agents)"
                ) from None
            if not isinstance(free, int) or isinstance(free, bool) or free < 0:
                raise OsccError(f"answer of {op}: queue {name!r} has free agents {free!r}")
            counts[str(name)] = free
        return counts

    async def _call(
        self, operation: str, fields: dict[str, Any], session: bool = True, hold_s: float = 0.0
    ) -> Any:
        message = dict(fields)
        if session:
            message[self._f["session_id"]] = self.session_id
        return await self._transport.call(
            self._ops[operation], message, self.session_id if session else None, hold_s
        )

    async def unregister(self) -> bool:
        """Close the session politely (on shutdown); False if there was none or it failed."""
        if self.session_id is None:
            return False
        try:
            await self._call("unregister", {})
        except OsccError as exc:
            log.warning("oscc_unregister_failed reason=%r", exc.detail)
            return False
        finally:
            self.session_id = None
            self._enter(SessionState.STOPPED)
        log.info("oscc_session_unregistered endpoint=%s", self._transport.endpoint)
        return True
