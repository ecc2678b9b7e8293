"""The engine's platform and routing settings as ``opendialer serve`` would read them
(environment first, then ``setting`` rows), without failing when they are absent."""

from __future__ import annotations

import os
from typing import Any

from opendialer.core.engine.settings import json_env, setting_object

#: The platform of the engine running in this process (``serve --role all``, ``demo``).
_running: tuple[str, dict[str, Any]] | None = None


def note_engine_platform(name: str | None, options: dict[str, Any] | None = None) -> None:
    """``serve`` says which platform its engine really dials with (None: it stopped), so
    the checks judge that one, not the environment — ``opendialer demo`` dials with the
    simulator whatever ``OPENDIALER_PLATFORM`` says."""
    global _running
    _running = (name, dict(options or {})) if name else None


def running_platform() -> str | None:
    """The platform of the engine running in this process, if one runs here."""
    return _running[0] if _running is not None else None


async def platform_choice() -> tuple[str, dict[str, Any]]:
    """(platform name or "", its options) — the running engine's when it shares this
    process, else ``OPENDIALER_PLATFORM[_OPTIONS]`` or the ``engine.platform`` setting."""
    if _running is not None:
        return _running[0], dict(_running[1])
    stored = await setting_object("engine.platform")
    name = os.environ.get("OPENDIALER_PLATFORM", "").strip() or str(stored.get("name") or "")
    options = json_env("OPENDIALER_PLATFORM_OPTIONS")
    if options is None:
        options = dict(stored.get("options") or {})
    return name, options


async def routing_options() -> dict[str, dict[str, Any]]:
    """``{target: options}`` the engine would use: ``routing.<name>`` settings, overridden
    by ``OPENDIALER_ROUTING_OPTIONS`` or the ``engine.routing_options`` setting."""
    from opendialer.core.services import routing_config

    merged = await routing_config.load_all_options()
    override = json_env("OPENDIALER_ROUTING_OPTIONS")
    if override is None:
        override = await setting_object("engine.routing_options")
    merged.update({k: v for k, v in override.items() if isinstance(v, dict)})
    return merged
