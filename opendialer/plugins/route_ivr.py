"""Routing target ``ivr``: free IVR channels (CMS Voice Portal and the like).

The IVR does not tell the dialer how many channels are free, so this target
counts them itself: ``channels`` minus the calls it holds — calls launched and
not yet ended, and calls transferred to the IVR that are still up. A
transferred call is held until :meth:`IvrRoutingTarget.transferred_call_ended`
is called for it or, when that signal never comes, for ``hold_timeout_ms``.

With several engine nodes (PostgreSQL) the holds are shared rows
(:class:`opendialer.sdk.SharedReservations`): the other nodes' holds
are subtracted too, and ``claim_slots`` — called by the engine before it
launches — claims channels atomically in the database, so all the nodes
together never hold more than ``channels``.

Optionally a ``status_url`` answering JSON with the IVR's own count of free
channels corrects the local count (the smaller answer wins). When that URL is
unreachable, late or malformed: with ``status_authoritative`` true, 0 free
(fail safe: the URL is the truth and we do not have it); with the default
false, the local count is used and ``health`` says the correction is missing.
All options are listed in ``docs/routing.md``.
"""

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

from opendialer.sdk import (
    ErrorMessage,
    Health,
    InvalidValue,
    PluginContext,
    RoutingRequest,
    RoutingTargetFactory,
    SharedReservations,
    hookimpl,
    register_error_messages,
)

log = logging.getLogger("opendialer.route_ivr")

_DURATIONS = {  # name: (minimum, default)
    "reservation_timeout_ms": (10, 120_000),
    "hold_timeout_ms": (10, 600_000),
    "status_poll_ms": (20, 2_000),
    "status_timeout_ms": (10, 1_000),
    "status_stale_after_ms": (50, 10_000),
}
#: Upper bounds: a dialer node carries at most 300 parallel calls, so more channels
#: than this is a typing mistake, not an IVR; no duration of these options is
#: longer than a day (larger values overflow the engine's timers).
MAX_CHANNELS = 5_000
MAX_DURATION_MS = 86_400_000
ALLOWED = {
    "channels",
    "status_url",
    "status_field",
    "status_authoritative",
    "ca_bundle",
    *_DURATIONS,
}


def N_(message: str) -> str:
    """Mark ``message`` for extraction (``babel.cfg``); the pages translate it."""
    return message


#: The codes of a bad option: the English detail, and what System → IVR shows at the
#: option's field (translated with the admin's catalogues).
ERRORS = {
    "route_ivr.option_unknown": ErrorMessage(
        "route_ivr: option %(option)r is not known; known options: %(known)s",
        N_("%(name)s is not an option of this routing target."),
    ),
    "route_ivr.channels_required": ErrorMessage(
        "route_ivr: option %(option)r is required: a whole number >= 0, got %(value)r",
        N_("Enter the number of IVR channels (a whole number, 0 or more)."),
    ),
    "route_ivr.channels_too_many": ErrorMessage(
        "route_ivr: option %(option)r must be at most %(n)s, got %(value)r",
        N_("Enter at most %(n)s IVR channels."),
    ),
    "route_ivr.duration_too_short": ErrorMessage(
        "route_ivr: option %(option)r must be a whole number of milliseconds >= %(n)s, "
        "got %(value)r",
        N_("Enter a whole number of milliseconds, at least %(n)s."),
    ),
    "route_ivr.duration_too_long": ErrorMessage(
        "route_ivr: option %(option)r must be at most %(n)s milliseconds (a day), got %(value)r",
        N_("Enter at most %(n)s milliseconds (one day)."),
    ),
    "route_ivr.url_invalid": ErrorMessage(
        "route_ivr: option %(option)r must be an http:// or https:// URL, got %(value)r",
        N_("Enter an http:// or https:// URL with a host name."),
    ),
    "route_ivr.field_name_invalid": ErrorMessage(
        "route_ivr: option %(option)r must be a field name, got %(value)r",
        N_("Enter a field name."),
    ),
    "route_ivr.not_bool": ErrorMessage(
        "route_ivr: option %(option)r must be true or false, got %(value)r",
        N_("Choose yes or no."),
    ),
    "route_ivr.authoritative_without_url": ErrorMessage(
        "route_ivr: option %(option)r is true but no status_url is set",
        N_("Enter a status URL first, or untick this option."),
    ),
    "route_ivr.ca_bundle_invalid": ErrorMessage(
        "route_ivr: option %(option)r must be a file path, got %(value)r",
        N_("Enter a file path."),
    ),
}
register_error_messages(ERRORS)


class IvrOptionError(InvalidValue):
    """An IVR option is missing or wrong; ``option`` is its name, ``code`` says how."""

    def __init__(self, code: str, /, *, option: str, **params: Any) -> None:
        super().__init__(code, option=option, **params)
        self.option = option


@dataclass(frozen=True, slots=True)
class IvrOptions:
    channels: int
    reservation_timeout_ms: int
    hold_timeout_ms: int
    status_url: str | None
    status_field: str
    status_authoritative: bool
    status_poll_ms: int
    status_timeout_ms: int
    status_stale_after_ms: int
    ca_bundle: str | None


def parse_options(raw: Mapping[str, Any] | None) -> IvrOptions:
    raw = dict(raw or {})
    unknown = sorted(set(raw) - ALLOWED)
    if unknown:
        raise IvrOptionError(
            "route_ivr.option_unknown",
            option=unknown[0],
            name=unknown[0],
            known=", ".join(sorted(ALLOWED)),
        )
    channels = raw.get("channels")
    if not isinstance(channels, int) or isinstance(channels, bool) or channels < 0:
        raise IvrOptionError("route_ivr.channels_required", option="channels", value=channels)
    if channels > MAX_CHANNELS:
        raise IvrOptionError(
            "route_ivr.channels_too_many", option="channels", n=MAX_CHANNELS, value=channels
        )
    durations: dict[str, int] = {}
    for name, (minimum, default) in _DURATIONS.items():
        value = raw.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise IvrOptionError(
                "route_ivr.duration_too_short", option=name, n=minimum, value=value
            )
        if value > MAX_DURATION_MS:
            raise IvrOptionError(
                "route_ivr.duration_too_long", option=name, n=MAX_DURATION_MS, value=value
            )
        durations[name] = value
    url = raw.get("status_url")
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("http://", "https://"))
    ):
        raise IvrOptionError("route_ivr.url_invalid", option="status_url", value=url)
    field = raw.get("status_field", "freeChannels")
    if not isinstance(field, str) or not field:
        raise IvrOptionError("route_ivr.field_name_invalid", option="status_field", value=field)
    authoritative = raw.get("status_authoritative", False)
    if not isinstance(authoritative, bool):
        raise IvrOptionError(
            "route_ivr.not_bool", option="status_authoritative", value=authoritative
        )
    if authoritative and url is None:
        raise IvrOptionError("route_ivr.authoritative_without_url", option="status_authoritative")
    ca_bundle = raw.get("ca_bundle")
    if ca_bundle is not None and not isinstance(ca_bundle, str):
        raise IvrOptionError("route_ivr.ca_bundle_invalid", option="ca_bundle", value=ca_bundle)
    return IvrOptions(channels, status_url=url, status_field=field,
                      status_authoritative=authoritative, ca_bundle=ca_bundle,
                      **durations)  # fmt: skip


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


@hookimpl
def register_routing_targets() -> Mapping[str, RoutingTargetFactory]:
    return {"ivr": IvrRoutingTarget}
