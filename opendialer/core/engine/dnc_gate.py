"""The Do-Not-Call gate in front of every call.

A campaign's DNC service is answered by its provider in the DNC registry
(:mod:`opendialer.core.dnc`: one started provider per service, shared with the
web, CLI and metrics of the process). The gate fails closed: an unknown kind,
a provider that cannot be built, a timeout, an answer for another number — all
are :class:`DncUnavailable`, and the engine places no call (the schedule goes
DNC_OUT_OF_SERVICE with the reason until the service answers again). A
campaign with no DNC service is not checked.
"""

from __future__ import annotations

import time

from opendialer.core.dnc import DncRegistry
from opendialer.core.engine.records import DncCheck
from opendialer.core.plugins import PluginManager
from opendialer.sdk.contracts import DncProvider, DncServiceConfig, DncUnavailable


class DncGate:
    def __init__(self, pm: PluginManager, registry: DncRegistry) -> None:
        self._pm = pm
        self.registry = registry

    async def check(self, service_id: int, number: str) -> DncCheck:
        """The verdict for ``number``; raises :class:`DncUnavailable` rather than guess."""
        provider, config = await self.registry.provider(service_id)
        started = time.perf_counter()  # wall time: the provider's latency, whatever the clock
        try:
            check = await self._ask(provider, config, number)
        except DncUnavailable:
            self._observed(config, "unavailable", started)
            raise
        self._observed(config, check.result, started)
        return check

    def _observed(self, config: DncServiceConfig, result: str, started: float) -> None:
        self._pm.notify_now(
            "dnc_checked",
            service=config.name,
            result=result,
            seconds=time.perf_counter() - started,
        )

    def providers(self) -> dict[str, DncProvider]:
        """The started providers, by service name (metrics read their health)."""
        return self.registry.started_by_name()

    @staticmethod
    async def _ask(provider: DncProvider, config: DncServiceConfig, number: str) -> DncCheck:
        try:
            verdict = await provider.check(number)
        except DncUnavailable:
            raise
        except Exception as exc:  # a provider bug must not let a call through
            raise DncUnavailable(
                f"DNC service {config.name!r} failed: {type(exc).__name__}: {exc}"
            ) from exc
        if verdict.number != number:
            raise DncUnavailable(
                f"DNC service {config.name!r} answered for {verdict.number!r} "
                f"when asked about {number!r}"
            )
        return DncCheck(
            service=verdict.service or config.name,
            checked_at=verdict.checked_at,
            blocked=verdict.do_not_call,
            list_version=verdict.list_version,
            list_loaded_at=verdict.list_loaded_at,
        )


__all__ = ["DncGate"]
