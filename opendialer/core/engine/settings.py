"""How ``opendialer serve`` builds its engine: environment first, then ``setting`` rows.

==============================  =====================================================
``OPENDIALER_PLATFORM``         ``sim`` or ``sip`` (any registered platform) fixes this
                                node's platform; unset, the engine follows the
                                ``engine.platform`` setting ``{"name": ..., "options": {...}}``
                                that a Master chooses in System → Communication platform
``OPENDIALER_PLATFORM_OPTIONS`` JSON object of platform options (overrides the setting's)
``OPENDIALER_NODE_ID``          this node's name (default: host name + ``-engine``);
                                keep it stable across restarts so a restart reconciles
                                its own unfinished calls at once
``OPENDIALER_MAX_CALLS``        this node's cap on concurrent calls (default 100)
``OPENDIALER_ROUTING``          routing target for campaigns without one (default: by
                                type, OSCC → ``oscc``, IVR → ``ivr``)
``OPENDIALER_ROUTING_OPTIONS``  JSON ``{target_name: {options}}``; else the
                                ``engine.routing_options`` setting; else, per
                                target, the ``routing.<name>`` setting
``OPENDIALER_NODE_DEAD_AFTER_S`` silence after which another node counts as dead and
                                its calls in flight are reconciled (default 15)
==============================  =====================================================
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from opendialer.core.storage.tables import Setting


class EngineConfigError(ValueError):
    pass


@dataclass
class EngineConfig:
    platform: str  # "" = follow the stored choice (core/engine/chosen_platform.py)
    platform_options: dict[str, Any] = field(default_factory=dict)
    node_id: str = ""
    max_calls: int = 100
    routing_by_type: dict[str, str] | None = None
    routing_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    dead_after_s: float = 15.0


def json_env(name: str) -> dict[str, Any] | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise EngineConfigError(f"${name} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise EngineConfigError(f"${name} must be a JSON object, e.g. '{{\"ports\": 30}}'")
    return value


def _number_env(name: str, default: float, *, whole: bool = False) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError as exc:
        kind = "a whole number" if whole else "a number"
        raise EngineConfigError(f"${name} must be {kind} > 0, got {raw!r}") from exc
    if value <= 0:
        raise EngineConfigError(f"${name} must be > 0, got {raw!r}")
    return value


async def setting_object(key: str) -> dict[str, Any]:
    """A ``setting`` row's JSON object value ({} when absent or not an object)."""
    row = await Setting.select(Setting.value).where(Setting.key == key).first().run()
    if row is None:
        return {}
    value = row["value"]
    if isinstance(value, str):
        try:
            value = json.loads(value or "{}")
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


async def setting_with_stamp(key: str) -> tuple[dict[str, Any], Any]:
    """A ``setting`` row's JSON object value and its ``updated_at`` (({}, None) when absent)."""
    row = (
        await Setting.select(Setting.value, Setting.updated_at)
        .where(Setting.key == key)
        .first()
        .run()
    )
    if row is None:
        return {}, None
    value = row["value"]
    if isinstance(value, str):
        try:
            value = json.loads(value or "{}")
        except ValueError:
            value = {}
    return (value if isinstance(value, dict) else {}), row["updated_at"]


async def config_from_environment() -> EngineConfig:
    # Empty: no fixed platform — the engine follows the Master's choice (the
    # ``engine.platform`` setting, System → Communication platform) while it runs.
    platform = os.environ.get("OPENDIALER_PLATFORM", "").strip()
    stored = await setting_object("engine.platform") if platform else {}
    if stored.get("name") != platform:
        stored = {}  # options saved for another platform are not this one's
    options = json_env("OPENDIALER_PLATFORM_OPTIONS")
    if options is None:
        options = dict(stored.get("options") or {})
    max_calls = int(_number_env("OPENDIALER_MAX_CALLS", 100, whole=True))
    dead_after_s = _number_env("OPENDIALER_NODE_DEAD_AFTER_S", 15.0)
    routing = os.environ.get("OPENDIALER_ROUTING", "").strip()
    routing_options = json_env("OPENDIALER_ROUTING_OPTIONS")
    if routing_options is None:
        routing_options = await setting_object("engine.routing_options")
    return EngineConfig(
        platform=platform,
        platform_options=options,
        node_id=os.environ.get("OPENDIALER_NODE_ID", "").strip()
        or f"{socket.gethostname()}-engine",
        max_calls=max_calls,
        routing_by_type={"OSCC": routing, "IVR": routing} if routing else None,
        routing_options=routing_options,
        dead_after_s=dead_after_s,
    )


__all__ = [
    "EngineConfig",
    "EngineConfigError",
    "config_from_environment",
    "setting_object",
    "setting_with_stamp",
]
