"""One live Do-Not-Call provider per configured service: the registry.

Web, CLI, metrics and the engine of one process share :func:`shared_registry`
(an engine built with its own plugin manager, as tests do, owns a registry of
its own and closes it when it stops)::

    from opendialer.core import dnc
    from opendialer.sdk.contracts import DncUnavailable

    provider = await dnc.provider_for(campaign["dnc_service"])  # id, row or config
    try:
        verdict = await provider.check("554181021119")          # DncVerdict
    except DncUnavailable as exc:
        ...  # schedule DNC_OUT_OF_SERVICE with str(exc); dial nothing

Providers are built through the plugin manager (``register_dnc_providers``),
started once per service — one build at a time per service, however many
checks arrive at once: a campaign's first round used to build one per call,
keep the last and never close the others (each embedded one holds a LISTEN
connection: on PostgreSQL they used up the server's connections). An edited
service (its kind, URL or ``updated_at`` moved) gets a fresh provider and the
registry closes the old one; :meth:`DncRegistry.close` closes them all (the
application's shutdown, the engine's stop). An unknown kind, a deleted
service or a provider that fails to start raises ``DncUnavailable`` (fail
closed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opendialer.core.plugin_context import DialerContext
from opendialer.core.plugins import PluginManager, get_plugin_manager
from opendialer.core.services.dnc_credentials import parse_options
from opendialer.core.storage.tables import DncService
from opendialer.sdk.contracts import DncProvider, DncServiceConfig, DncUnavailable

log = logging.getLogger(__name__)

#: How long :meth:`DncRegistry.provider` trusts a service row before reading it
#: again (the engine asks per call; an edit takes effect within this time).
ROW_REFRESH_S = 5.0


#: The context of providers built outside an engine (web, CLI): real clock, no node.
SystemContext = DialerContext


def config_from_row(row: Mapping[str, Any]) -> DncServiceConfig:
    """A ``dnc_service`` row (as Piccolo selects it) → the provider's view of it."""
    options = parse_options(row.get("options"))
    return DncServiceConfig(
        id=int(row["id"]),
        name=str(row["name"]),
        kind=str(row["kind"]),
        url=row.get("url"),
        ca_bundle=row.get("ca_bundle"),
        timeout_ms=int(row.get("timeout_ms") or 2000),
        insecure=bool(row.get("insecure")),
        options=options,
        updated_at=row.get("updated_at"),
    )


def _version(config: DncServiceConfig) -> tuple[Any, ...]:
    # Not list_version: a provider follows its own list (the embedded one applies
    # appends as deltas); restarting it on every import would reload it whole.
    return (config.kind, config.url, config.updated_at)


def _older(config: DncServiceConfig, than: DncServiceConfig) -> bool:
    """``config`` was read before ``than`` (a caller holding a stale row)."""
    if config.updated_at is None or than.updated_at is None:
        return False
    return bool(config.updated_at < than.updated_at)


@dataclass(slots=True)
class _Started:
    provider: DncProvider
    config: DncServiceConfig
    read_at: float  # monotonic: when the service row was last read


async def _read_config(service_id: int) -> DncServiceConfig:
    row = await DncService.select().where(DncService.id == service_id).first().run()
    if row is None:
        raise DncUnavailable(
            f"DNC service id {service_id} no longer exists: pick another service for the campaign"
        )
    return config_from_row(row)


class DncRegistry:
    """The started providers of one process (or of one engine), by service id."""

    def __init__(
        self,
        pm: PluginManager | None = None,
        context: Any = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pm = pm
        self._context = context
        self._monotonic = monotonic
        self._started: dict[int, _Started] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        #: Providers built over this registry's life (tests count them).
        self.builds = 0

    async def provider_for(
        self, service: int | Mapping[str, Any] | DncServiceConfig
    ) -> DncProvider:
        """The started provider of ``service`` (a service id, a row, or a config);
        a service id is looked up now."""
        if isinstance(service, DncServiceConfig):
            config = service
        elif isinstance(service, Mapping):
            config = config_from_row(service)
        else:
            config = await _read_config(int(service))
        async with self._lock(config.id):
            return (await self._ensure(config)).provider

    async def provider(self, service_id: int) -> tuple[DncProvider, DncServiceConfig]:
        """The started provider of a service and its configuration, the row read at
        most every :data:`ROW_REFRESH_S` (the engine asks once per call)."""
        started = self._fresh(service_id)
        if started is None:
            async with self._lock(service_id):
                # built or re-read by the caller that held the lock before us
                started = self._fresh(service_id)
                if started is None:
                    started = await self._ensure(await _read_config(service_id))
        return started.provider, started.config

    def started_providers(self) -> dict[int, DncProvider]:
        """The running providers, by service id (Diagnostics and metrics read their health)."""
        return {service_id: s.provider for service_id, s in self._started.items()}

    def started_by_name(self) -> dict[str, DncProvider]:
        return {s.config.name: s.provider for s in self._started.values()}

    async def close(self) -> None:
        """Close every provider (they hold connections, pools, tasks)."""
        started = list(self._started.values())
        self._started.clear()
        self._locks.clear()
        for s in started:
            await _close_quietly(s.provider, s.config.name)

    # -- inside ---------------------------------------------------------------------

    def _lock(self, service_id: int) -> asyncio.Lock:
        return self._locks.setdefault(service_id, asyncio.Lock())

    def _fresh(self, service_id: int) -> _Started | None:
        started = self._started.get(service_id)
        if started is not None and self._monotonic() - started.read_at < ROW_REFRESH_S:
            return started
        return None

    async def _ensure(self, config: DncServiceConfig) -> _Started:
        """The provider for ``config`` (under the service's lock): the running one if
        its configuration did not change, else a new one, the old one closed."""
        current = self._started.get(config.id)
        if current is not None and (
            _version(current.config) == _version(config) or _older(config, current.config)
        ):
            current.read_at = self._monotonic()
            return current
        provider = await self._start(config)
        started = self._started[config.id] = _Started(provider, config, self._monotonic())
        if current is not None:  # the service was edited: retire the provider of the old row
            await _close_quietly(current.provider, current.config.name)
        return started

    async def _start(self, config: DncServiceConfig) -> DncProvider:
        factories = (self._pm or get_plugin_manager()).factories("dnc_providers")
        factory = factories.get(config.kind)
        if factory is None:
            known = ", ".join(sorted(factories)) or "none"
            raise DncUnavailable(
                f"DNC service {config.name!r}: no provider for kind {config.kind!r} "
                f"(is its plugin installed? see `opendialer plugins list`; "
                f"kinds available: {known})"
            )
        self.builds += 1
        try:
            provider: DncProvider = factory(config=config, context=self._context or SystemContext())
            await provider.start()
        except DncUnavailable:
            raise
        except Exception as exc:
            raise DncUnavailable(
                f"DNC service {config.name!r} ({config.kind}) failed to start: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        log.info("dnc_provider_started service=%s kind=%s", config.name, config.kind)
        return provider


async def _close_quietly(provider: DncProvider, name: str) -> None:
    try:
        await provider.close()
    except Exception:
        log.exception("dnc_provider_close_failed service=%s", name)


_shared: DncRegistry | None = None


def shared_registry() -> DncRegistry:
    """The registry of this process (web, CLI, metrics, and the engine ``serve`` runs)."""
    global _shared
    if _shared is None:
        _shared = DncRegistry()
    return _shared


async def provider_for(service: int | Mapping[str, Any] | DncServiceConfig) -> DncProvider:
    """The started provider of ``service`` in the process's registry."""
    return await shared_registry().provider_for(service)


def started_providers() -> dict[int, DncProvider]:
    """The providers running in this process's registry, by service id."""
    return shared_registry().started_providers()


async def close_all() -> None:
    """Close every provider of the process's registry (application shutdown; tests)."""
    await shared_registry().close()


__all__ = [
    "ROW_REFRESH_S",
    "DncRegistry",
    "SystemContext",
    "close_all",
    "config_from_row",
    "provider_for",
    "shared_registry",
    "started_providers",
]
