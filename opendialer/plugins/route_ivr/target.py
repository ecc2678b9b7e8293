"""The ``ivr`` routing target: :class:`IvrRoutingTarget` counts free channels (see
the package's doc)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from opendialer.plugins.route_ivr import option_page
from opendialer.plugins.route_ivr.options import parse_options
from opendialer.sdk import Health, PluginContext, RoutingRequest, SharedReservations

log = logging.getLogger("opendialer.route_ivr")


#: The shared-reservation pool of the IVR channels (the table's ``pool`` column).
IVR_POOL = "ivr"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Held:
    expires_mono: float
    transferred: bool = False
    transferred_mono: float = 0.0


class IvrRoutingTarget:
    """One pool of ``channels`` shared by every campaign routed through this instance."""

    #: IVR campaigns that name no routing target go to the IVR.
    default_for_campaign_types = ("IVR",)
    #: System → IVR: its title and fields (``option_page.py``); its Diagnostics
    #: line is titled by the target itself, as its page is ("IVR").
    label = option_page.LABEL
    option_sections = option_page.OPTION_SECTIONS
    diagnosis_title = option_page.LABEL

    def __init__(
        self, options: Mapping[str, Any] | None = None, context: PluginContext | None = None
    ) -> None:
        self.options = parse_options(options)
        self._context = context
        self._held: dict[str, _Held] = {}
        self._expired_total = 0
        self._reported_free: int | None = None
        self._reported_mono = 0.0
        self._reported_at: datetime | None = None
        self._status_error = "no answer yet"
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._shared = SharedReservations.for_context(
            context, IVR_POOL, lambda: [IVR_POOL], context.now if context is not None else _utcnow
        )

    @staticmethod
    def validate_options(options: Mapping[str, Any]) -> dict[str, Any]:
        parse_options(options)
        return dict(options)

    async def start(self) -> None:
        o = self.options
        if self._shared is not None:
            await self._shared.start()
        if o.status_url is None or self._task is not None:
            return
        verify: ssl.SSLContext | bool = True
        if o.ca_bundle:
            verify = await asyncio.to_thread(ssl.create_default_context, cafile=o.ca_bundle)
        self._client = httpx.AsyncClient(
            verify=verify, timeout=o.status_timeout_ms / 1000, trust_env=False
        )
        self._task = asyncio.create_task(self._poll_status(), name="ivr-status")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._shared is not None:
            await self._shared.close()
        self._held.clear()

    # -- counting ------------------------------------------------------------

    def _expire(self, now: float) -> None:
        gone = [cid for cid, h in self._held.items() if h.expires_mono <= now]
        for cid in gone:
            held = self._held.pop(cid)
            log.warning("ivr_hold_expired call=%s transferred=%s", cid, held.transferred)
        self._expired_total += len(gone)

    def _status_problem(self, now: float) -> str:
        if self.options.status_url is None:
            return ""
        if self._reported_free is None:
            return f"IVR status URL: {self._status_error}"
        age = now - self._reported_mono
        if age * 1000 > self.options.status_stale_after_ms:
            return f"IVR status is {age:.0f} s old ({self._status_error})"
        return ""

    def _count(self) -> tuple[int, str]:
        now = time.monotonic()
        self._expire(now)
        local = max(0, self.options.channels - len(self._held))
        if self._shared is not None:  # minus the other nodes' holds (fair share: see there)
            local = self._shared.free(IVR_POOL, self.options.channels, len(self._held), None)
        problem = self._status_problem(now)
        if problem:
            if self.options.status_authoritative:
                return 0, problem
            return local, problem
        if self._reported_free is None:
            return local, ""
        # The IVR's answer already counts the calls transferred before it was asked;
        # not those still ringing, nor those transferred since.
        unseen = sum(
            1
            for h in self._held.values()
            if not h.transferred or h.transferred_mono >= self._reported_mono
        )
        return max(0, min(local, self._reported_free - unseen)), ""

    def free_slots(self, request: RoutingRequest) -> int:
        return self._count()[0]

    async def claim_slots(self, request: RoutingRequest, call_ids: list[str]) -> list[str]:
        """Claim channels for ``call_ids`` across every engine node (see the module doc)."""
        if self._shared is None:  # one node: free_slots already counted every hold
            return call_ids
        if self._count()[0] <= 0:
            return []
        timeout = self.options.reservation_timeout_ms / 1000
        granted = await self._shared.claim(
            IVR_POOL,
            request.campaign_id,
            call_ids,
            capacity=self.options.channels,
            hold_s=timeout,
        )
        for call_id in granted:  # held at once, before the engine's reserve()
            self._held[call_id] = _Held(time.monotonic() + timeout)
        return granted

    def reserve(self, request: RoutingRequest, call_id: str) -> None:
        timeout = self.options.reservation_timeout_ms / 1000
        self._held[call_id] = _Held(time.monotonic() + timeout)

    def release(self, call_id: str, transferred: bool) -> None:
        held = self._held.get(call_id)
        if held is None:
            return
        if not transferred:
            del self._held[call_id]
            if self._shared is not None:
                self._shared.released(call_id)
            return
        if self._shared is not None:
            self._shared.transferred(call_id, keep_s=self.options.hold_timeout_ms / 1000)
        held.transferred = True  # the caller is on an IVR channel now
        held.transferred_mono = time.monotonic()
        held.expires_mono = time.monotonic() + self.options.hold_timeout_ms / 1000

    def transferred_call_ended(self, call_id: str) -> None:
        """The call transferred to the IVR hung up: its channel is free again."""
        self._held.pop(call_id, None)
        if self._shared is not None:
            self._shared.released(call_id)

    # -- status URL ----------------------------------------------------------

    async def _poll_status(self) -> None:
        assert self._client is not None and self.options.status_url is not None
        while True:
            sent = time.monotonic()
            try:
                response = await self._client.get(self.options.status_url)
                response.raise_for_status()
                value: Any = response.json()
                for part in self.options.status_field.split("."):
                    value = value[part]
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"{self.options.status_field!r} is {value!r}, not a count")
                self._reported_free, self._reported_mono = value, sent
                self._reported_at = datetime.now(UTC)
                self._status_error = "ok"
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if detail != self._status_error:
                    log.warning(
                        "ivr_status_failed url=%s reason=%r", self.options.status_url, detail
                    )
                self._status_error = detail
            await asyncio.sleep(self.options.status_poll_ms / 1000)

    # -- observability -------------------------------------------------------

    def health(self, request: RoutingRequest | None = None) -> Health:
        free, problem = self._count()
        o = self.options
        if problem and o.status_authoritative:
            return Health(False, f"{problem}; status_authoritative is on, so 0 free channels")
        detail = f"{free} of {o.channels} IVR channels free"
        if problem:
            detail += f" (status URL ignored: {problem})"
        return Health(True, detail)

    def status(self) -> dict[str, Any]:
        free, problem = self._count()
        return {
            "target": "ivr",
            "channels": self.options.channels,
            "free": free,
            "launched": sum(1 for h in self._held.values() if not h.transferred),
            "transferred_up": sum(1 for h in self._held.values() if h.transferred),
            "expired_total": self._expired_total,
            "shared": self._shared.status() if self._shared is not None else None,
            "status_url": self.options.status_url,
            "status_authoritative": self.options.status_authoritative,
            "reported_free": self._reported_free,
            "reported_at": self._reported_at.isoformat() if self._reported_at else None,
            "throttled": problem or None,
        }
