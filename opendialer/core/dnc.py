"""One live Do-Not-Call provider per configured service, for the engine and the web.

The engine asks for a provider by service and checks numbers with it::

    from opendialer.core import dnc
    from opendialer.core.contracts import DncUnavailable

    provider = await dnc.provider_for(campaign["dnc_service"])  # id, row or config
    try:
        verdict = await provider.check("554181021119")          # DncVerdict
    except DncUnavailable as exc:
        ...  # schedule DNC_OUT_OF_SERVICE with str(exc); dial nothing

Providers are built through the plugin manager (``register_dnc_providers``),
started once, and cached by service id; an edited service (its ``updated_at``
moved) gets a fresh provider and the old one is closed. An unknown kind, a
deleted service or a provider that fails to start raises ``DncUnavailable``
(fail closed). ``close_all()`` belongs in the application's shutdown.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opendialer.core.contracts import DncProvider, DncServiceConfig, DncUnavailable
from opendialer.core.plugin_context import DialerContext
from opendialer.core.plugins import get_plugin_manager
from opendialer.core.storage.tables import DncService

log = logging.getLogger(__name__)


#: The context of providers built outside an engine (web, CLI): real clock, no node.
SystemContext = DialerContext


@dataclass
class _Entry:
    key: tuple[int, datetime | None]
    provider: DncProvider


_providers: dict[int, _Entry] = {}
_locks: dict[int, asyncio.Lock] = {}


def config_from_row(row: Mapping[str, Any]) -> DncServiceConfig:
    """A ``dnc_service`` row (as Piccolo selects it) → the provider's view of it."""
    options = row.get("options") or {}
    if isinstance(options, str):
        options = json.loads(options or "{}")
    return DncServiceConfig(
        id=int(row["id"]),
        name=str(row["name"]),
        kind=str(row["kind"]),
        url=row.get("url"),
        ca_bundle=row.get("ca_bundle"),
        timeout_ms=int(row.get("timeout_ms") or 2000),
        insecure=bool(row.get("insecure")),
        options=dict(options),
        updated_at=row.get("updated_at"),
    )


async def _config_of(service: int | Mapping[str, Any] | DncServiceConfig) -> DncServiceConfig:
    if isinstance(service, DncServiceConfig):
        return service
    if isinstance(service, Mapping):
        return config_from_row(service)
    rows = await DncService.select().where(DncService.id == int(service)).run()
    if not rows:
        raise DncUnavailable(f"DNC service {service} does not exist (deleted?)")
    return config_from_row(rows[0])


async def provider_for(
    service: int | Mapping[str, Any] | DncServiceConfig, *, context: Any = None
) -> DncProvider:
    """The started provider of ``service`` (a service id, a row, or a config)."""
    config = await _config_of(service)
    key = (config.id, config.updated_at)
    entry = _providers.get(config.id)
    if entry is not None and entry.key == key:
        return entry.provider
    lock = _locks.setdefault(config.id, asyncio.Lock())
    async with lock:
        entry = _providers.get(config.id)
        if entry is not None and entry.key == key:
            return entry.provider
        provider = await _start(config, context or SystemContext())
        _providers[config.id] = _Entry(key=key, provider=provider)
    if entry is not None:  # the service was edited: retire the provider of the old row
        await _close_quietly(entry.provider)
    return provider


async def _start(config: DncServiceConfig, context: Any) -> DncProvider:
    factories = get_plugin_manager().factories("dnc_providers")
    factory = factories.get(config.kind)
    if factory is None:
        known = ", ".join(sorted(factories)) or "none"
        raise DncUnavailable(
            f"DNC service {config.name!r}: no provider for kind {config.kind!r} "
            f"(is its plugin installed? kinds available: {known})"
        )
    try:
        provider: DncProvider = factory(config=config, context=context)
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


async def _close_quietly(provider: DncProvider) -> None:
    try:
        await provider.close()
    except Exception:
        log.exception("dnc_provider_close_failed provider=%r", provider)


def started_providers() -> dict[int, DncProvider]:
    """The providers running in this process, by service id (Diagnostics shows their health)."""
    return {service_id: entry.provider for service_id, entry in _providers.items()}


async def close_all() -> None:
    """Close every cached provider (application shutdown; tests)."""
    entries = list(_providers.values())
    _providers.clear()
    _locks.clear()
    for entry in entries:
        await _close_quietly(entry.provider)
