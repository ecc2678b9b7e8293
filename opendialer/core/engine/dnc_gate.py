"""The Do-Not-Call gate in front of every call.

A campaign's DNC service row becomes a :class:`DncServiceConfig`, and the
provider registered for its *kind* answers for each number. The gate fails
closed: an unknown kind, a provider that cannot be built, a timeout, an answer
for another number — all are :class:`DncUnavailable`, and the engine places no
call (the schedule goes DNC_OUT_OF_SERVICE with the reason until the service
answers again). A campaign with no DNC service is not checked.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from opendialer.core.contracts import DncProvider, DncServiceConfig, DncUnavailable, PluginContext
from opendialer.core.engine.records import DncCheck
from opendialer.core.plugins import PluginManager
from opendialer.core.storage.tables import DncService

log = logging.getLogger(__name__)

#: How long a service row is trusted before it is read again (edits take effect).
ROW_REFRESH_S = 5.0


@dataclass(slots=True)
class _Loaded:
    provider: DncProvider
    config: DncServiceConfig
    version: tuple[Any, ...]
    read_at: float


def _options(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


class DncGate:
    def __init__(self, pm: PluginManager, context: PluginContext, monotonic: Any) -> None:
        self._pm = pm
        self._context = context
        self._monotonic = monotonic
        self._loaded: dict[int, _Loaded] = {}
        #: One build at a time per service: the first burst of concurrent checks of a
        #: campaign used to build and start one provider per call, keep the last and
        #: never close the others (each embedded one holds a LISTEN connection: on
        #: PostgreSQL they used up the server's connections).
        self._building: dict[int, asyncio.Lock] = {}

    async def _provider(self, service_id: int) -> _Loaded:
        cached = self._loaded.get(service_id)
        if cached and self._monotonic() - cached.read_at < ROW_REFRESH_S:
            return cached
        async with self._building.setdefault(service_id, asyncio.Lock()):
            return await self._provider_locked(service_id)

    async def _provider_locked(self, service_id: int) -> _Loaded:
        cached = self._loaded.get(service_id)
        if cached and self._monotonic() - cached.read_at < ROW_REFRESH_S:
            return cached  # built or re-read by the check that held the lock before us
        row = await DncService.select().where(DncService.id == service_id).first().run()
        if row is None:
            raise DncUnavailable(
                f"DNC service id {service_id} no longer exists: pick another service "
                "for the campaign"
            )
        # Not list_version: a provider follows its own list (the embedded one applies
        # appends as deltas); restarting it on every import would reload it whole.
        version = (row["kind"], row["url"], row["updated_at"])
        if cached and cached.version == version:
            cached.read_at = self._monotonic()
            return cached
        if cached:
            await self._close_one(service_id)
        config = DncServiceConfig(
            id=row["id"],
            name=row["name"],
            kind=row["kind"],
            url=row["url"],
            ca_bundle=row["ca_bundle"],
            timeout_ms=row["timeout_ms"],
            insecure=row["insecure"],
            options=_options(row["options"]),
            updated_at=row["updated_at"],
        )
        factory = self._pm.factories("dnc_providers").get(config.kind)
        if factory is None:
            raise DncUnavailable(
                f"DNC service {config.name!r}: no provider of kind {config.kind!r} is "
                "installed (see `opendialer plugins list`)"
            )
        try:
            provider = factory(config=config, context=self._context)
            await provider.start()
        except DncUnavailable:
            raise
        except Exception as exc:
            raise DncUnavailable(
                f"DNC service {config.name!r} could not start: {type(exc).__name__}: {exc}"
            ) from exc
        loaded = _Loaded(provider, config, version, self._monotonic())
        self._loaded[service_id] = loaded
        return loaded

    async def check(self, service_id: int, number: str) -> DncCheck:
        """The verdict for ``number``; raises :class:`DncUnavailable` rather than guess."""
        loaded = await self._provider(service_id)
        started = time.perf_counter()  # wall time: the provider's latency, whatever the clock
        try:
            check = await self._ask(loaded, number)
        except DncUnavailable:
            self._observed(loaded, "unavailable", started)
            raise
        self._observed(loaded, check.result, started)
        return check

    def _observed(self, loaded: _Loaded, result: str, started: float) -> None:
        self._pm.notify_now(
            "dnc_checked",
            service=loaded.config.name,
            result=result,
            seconds=time.perf_counter() - started,
        )

    def providers(self) -> dict[str, DncProvider]:
        """The started providers, by service name (metrics read their health)."""
        return {loaded.config.name: loaded.provider for loaded in self._loaded.values()}

    async def _ask(self, loaded: _Loaded, number: str) -> DncCheck:
        try:
            verdict = await loaded.provider.check(number)
        except DncUnavailable:
            raise
        except Exception as exc:  # a provider bug must not let a call through
            raise DncUnavailable(
                f"DNC service {loaded.config.name!r} failed: {type(exc).__name__}: {exc}"
            ) from exc
        if verdict.number != number:
            raise DncUnavailable(
                f"DNC service {loaded.config.name!r} answered for {verdict.number!r} "
                f"when asked about {number!r}"
            )
        return DncCheck(
            service=verdict.service or loaded.config.name,
            checked_at=verdict.checked_at,
            blocked=verdict.do_not_call,
        )

    async def _close_one(self, service_id: int) -> None:
        loaded = self._loaded.pop(service_id, None)
        if loaded is None:
            return
        try:
            await loaded.provider.close()
        except Exception:
            log.exception("dnc_provider_close_failed service=%s", loaded.config.name)

    async def close(self) -> None:
        for service_id in list(self._loaded):
            await self._close_one(service_id)


__all__ = ["DncGate"]
