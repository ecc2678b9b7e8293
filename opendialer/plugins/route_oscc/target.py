"""The ``oscc`` routing target: free agents of a campaign's queue, fail safe.

``free_slots`` = free agents in the cached count − agents our launched calls
hold − agents the other engine nodes' calls hold, and 0 whenever the answer
could be wrong: session not up, no count yet, count older than
``stale_after_ms``. ``health`` says which, in words.

With several engine nodes (PostgreSQL) the holds are shared rows
(:class:`opendialer.sdk.SharedReservations`): ``free_slots`` reads
the other nodes' holds from a snapshot refreshed in the background, and
``claim_slots`` — called by the engine before it launches — claims agents
atomically in the database, so N nodes never ring more calls than there are
free agents.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from opendialer.plugins.route_oscc import option_page
from opendialer.plugins.route_oscc.cache import QueueCache, Reservations
from opendialer.plugins.route_oscc.codec import load_codec
from opendialer.plugins.route_oscc.options import OsccOptions, parse_options
from opendialer.plugins.route_oscc.session import SessionState, SessionSupervisor
from opendialer.plugins.route_oscc.transport import OsccTransport
from opendialer.sdk import Health, PluginContext, RoutingRequest, SharedReservations

log = logging.getLogger("opendialer.route_oscc")


def _hms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M:%S")


class OsccRoutingTarget:
    """Constructed as ``OsccRoutingTarget(options, context)``; see ``docs/routing.md``."""

    #: OSCC campaigns that name no routing target go to the contact center.
    default_for_campaign_types = ("OSCC",)
    #: System → Contact center: its title and fields (``option_page.py``).
    label = option_page.LABEL
    option_sections = option_page.OPTION_SECTIONS
    #: The page offers "Test connection": the target opens a session at the SDK.
    offers_connection_test = True

    def __init__(
        self, options: Mapping[str, Any] | None = None, context: PluginContext | None = None
    ) -> None:
        self.options: OsccOptions = parse_options(options)
        self._context = context
        self._wanted: set[str] = set(self.options.queues)
        self._cache = QueueCache()
        self._reservations = Reservations(self.options.reservation_timeout_ms / 1000)
        self._transport = OsccTransport(self.options, load_codec(self.options.codec))
        self._session = SessionSupervisor(
            self.options,
            self._transport,
            self._cache,
            lambda: self._wanted,
            self._now,
            on_more_free=self._wake_pacer,
        )
        self._task: asyncio.Task[None] | None = None
        self._last_reason: dict[str, str] = {}
        self._stale_s = self.options.stale_after_ms / 1000
        self._shared = SharedReservations.for_context(
            context, _pool(""), lambda: [_pool(q) for q in self._wanted], self._now
        )

    @staticmethod
    def validate_options(options: Mapping[str, Any]) -> dict[str, Any]:
        """Check options without connecting (the settings service calls this)."""
        parsed = parse_options(options)
        load_codec(parsed.codec)
        return dict(options)

    def _wake_pacer(self) -> None:
        # An agent became free, so the next call can go out now rather than at the
        # pacer's next tick.
        if self._context is not None:
            try:
                self._context.wake_pacer()
            except Exception:
                log.exception("oscc_wake_pacer_failed")

    def _now(self) -> datetime:
        return self._context.now() if self._context is not None else datetime.now(UTC)

    # -- life cycle ----------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None:
            return
        await self._transport.open()
        if self._shared is not None:
            await self._shared.start()
        self._task = asyncio.create_task(self._session.run(), name="oscc-session")

    async def close(self) -> None:
        """Stop supervising, unregister the session, release the connection pool."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._session.unregister()
        await self._transport.close()
        if self._shared is not None:
            await self._shared.close()
        self._reservations.clear()

    # -- what the pacer asks -------------------------------------------------

    def free_slots(self, request: RoutingRequest) -> int:
        queue = request.queue
        self._want(queue)
        now = time.monotonic()
        reason = self._throttle_reason(queue, now)
        if self._last_reason.get(queue, "") != reason:  # log changes, not every tick
            self._last_reason[queue] = reason
            if reason:
                log.warning("oscc_throttled queue=%s reason=%r", queue, reason)
            else:
                log.info("oscc_dialing_resumed queue=%s", queue)
        if reason:
            return 0
        count = self._cache.get(queue)
        assert count is not None  # no reason means a fresh count exists
        own = self._reservations.held(queue, count, now)
        if self._shared is not None:  # minus the other nodes' holds (fair share: see there)
            return self._shared.free(_pool(queue), count.free_agents, own, count.fetched_at)
        return max(0, count.free_agents - own)

    def _want(self, queue: str) -> None:
        if queue and queue not in self._wanted:
            self._wanted.add(queue)
            self._session.poll_now.set()  # fetch it at once rather than at the next poll

    async def claim_slots(self, request: RoutingRequest, call_ids: list[str]) -> list[str]:
        """Claim free agents for ``call_ids`` across every engine node (see the module doc)."""
        if self._shared is None:  # one node: free_slots already counted every hold
            return call_ids
        queue = request.queue
        now = time.monotonic()
        count = self._cache.get(queue)
        if count is None or self._throttle_reason(queue, now):
            return []
        granted = await self._shared.claim(
            _pool(queue),
            request.campaign_id,
            call_ids,
            capacity=count.free_agents,
            hold_s=self.options.reservation_timeout_ms / 1000,
            settled_before=count.fetched_at,
        )
        for call_id in granted:  # held at once, before the engine's reserve()
            self._reservations.add(call_id, queue, request.campaign_id, now)
        return granted

    def reserve(self, request: RoutingRequest, call_id: str) -> None:
        self._want(request.queue)
        self._reservations.add(call_id, request.queue, request.campaign_id, time.monotonic())

    def release(self, call_id: str, transferred: bool) -> None:
        self._reservations.release(call_id, transferred, time.monotonic())
        if self._shared is not None:
            if transferred:
                # Every count younger than stale_after_s sees this agent busy by then.
                self._shared.transferred(call_id, keep_s=self._stale_s)
            else:
                self._shared.released(call_id)

    def _throttle_reason(self, queue: str, now: float) -> str:
        if not queue:
            return "the campaign has no queue set"
        session = self._session
        if session.state is not SessionState.UP:
            if self._task is None and session.state is SessionState.STOPPED:
                return "routing target not started"
            if session.down_since is not None:  # stays the same while retries fail
                return (
                    f"contact center session down since {_hms(session.down_since)}: "
                    f"{session.last_error}"
                )
            return f"contact center session {session.state.value} since {_hms(session.state_since)}"
        count = self._cache.get(queue)
        if count is None:
            if queue in self._cache.unreported:
                return f"queue {queue!r} is not reported by the contact center (check its name)"
            return f"queue {queue!r} has no count yet"
        age = now - count.fetched_mono
        if age > self._stale_s:
            shown = f"{age:.0f}" if age >= 10 else f"{age:.1f}"
            return f"queue {queue!r} data is {shown} s old (stale after {self._stale_s:g} s)"
        return ""

    def health(self, request: RoutingRequest | None = None) -> Health:
        now = time.monotonic()
        session = self._session
        if request is None:
            if session.state is SessionState.UP:
                return Health(
                    True,
                    f"contact center session up ({self._transport.endpoint})",
                    session.state_since,
                )
            since = session.down_since or session.state_since
            return Health(False, self._throttle_reason("-", now), since)
        self._want(request.queue)
        reason = self._throttle_reason(request.queue, now)
        count = self._cache.get(request.queue)
        if reason:
            since = session.down_since or session.state_since
            if session.state is SessionState.UP and count is not None:
                since = count.fetched_at
            return Health(False, reason, since)
        assert count is not None
        held = self._reservations.held(request.queue, count, now)
        others = ""
        if self._shared is not None:
            n = self._shared.others(_pool(request.queue), count.fetched_at)
            others = f"{n} by other engine nodes' calls, "
        return Health(
            True,
            f"queue {request.queue!r}: {count.free_agents} free, {held} held by our calls, "
            f"{others}data {now - count.fetched_mono:.1f} s old",
            count.fetched_at,
        )

    # -- Diagnostics ---------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Everything an administrator needs to see why dialing is (not) throttled."""
        now = time.monotonic()
        session = self._session
        queues = {}
        for queue in sorted(self._wanted):
            count = self._cache.get(queue)
            reason = self._throttle_reason(queue, now)
            queues[queue] = {
                "free_agents": count.free_agents if count else None,
                "held_by_our_calls": self._reservations.held(queue, count, now),
                "held_by_other_nodes": (
                    self._shared.others(_pool(queue), count.fetched_at if count else None)
                    if self._shared is not None
                    else 0
                ),
                "data_age_s": round(now - count.fetched_mono, 3) if count else None,
                "fetched_at": count.fetched_at.isoformat() if count else None,
                "stale": count is None or now - count.fetched_mono > self._stale_s,
                "throttled": reason or None,
            }
        retry_in = max(0.0, session.next_attempt_mono - now) if session.next_attempt_mono else None
        return {
            "target": "oscc",
            "endpoint": self._transport.endpoint,
            "session": {
                "state": session.state.value,
                "since": session.state_since.isoformat(),
                "down_since": _iso(session.down_since),
                "last_error": session.last_error or None,
                "sessions_opened": session.sessions_opened,
                "last_keepalive_ok": _iso(session.last_keepalive_ok),
                "last_snapshot_ok": _iso(session.last_snapshot_ok),
                "events": self.options.events,
                "events_received": session.events_received,
            },
            "circuit_breaker": {
                "state": session.breaker,
                "consecutive_failures": session.backoff.failures,
                "retry_in_s": round(retry_in, 3) if retry_in is not None else None,
            },
            "queues": queues,
            "reservations": {
                "held": len(self._reservations),
                "expired_total": self._reservations.expired_total,
                "shared": self._shared.status() if self._shared is not None else None,
            },
            "stale_after_s": self._stale_s,
            "options": self.options.redacted(),
        }


def _pool(queue: str) -> str:
    """The shared-reservation pool of a queue (the table's ``pool`` column)."""
    return f"oscc:{queue}"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
