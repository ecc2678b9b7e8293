"""Builds a node's engine from its settings and starts it.

The settings come from the environment and the Master's stored ones
(:func:`~opendialer.core.engine.settings.config_from_environment`); the platform is
the one ``OPENDIALER_PLATFORM`` fixes, else the Master's choice, followed while the
engine runs (:class:`~opendialer.core.engine.chosen_platform.ChosenPlatform`).
"""

from __future__ import annotations

from typing import Any

from opendialer.core import dnc, health
from opendialer.core.engine.chosen_platform import ChosenPlatform
from opendialer.core.engine.engine import Engine
from opendialer.core.engine.settings import (
    EngineConfig,
    EngineConfigError,
    config_from_environment,
)
from opendialer.core.storage import Database


def _node_options(db: Database, cfg: EngineConfig, name: str, options: Any) -> dict[str, Any]:
    """A platform's options plus what this node adds to them."""
    from opendialer.core.plugins import get_plugin_manager
    from opendialer.core.services import platform_config
    from opendialer.core.services.plugin_database import plugin_database
    from opendialer.sdk.options import EditsOptions

    options = dict(options or {})
    if isinstance(get_plugin_manager().factories("platforms").get(name), EditsOptions):
        # A platform whose options the Master edits (the SIP platform) reads and follows
        # them — none saved yet: it starts "not configured" and comes up when one is
        # saved — and keeps what engine nodes share (the SIP plugin: its port leases,
        # for the context's node_id) in the database through the SDK's door.
        options.setdefault("config_source", platform_config.config_source(name))
        options.setdefault("database", plugin_database(db))
    return options


async def start_engine(db: Database, engine_config: EngineConfig | None) -> Engine:
    """The node's engine, started: its platform up, the node joined, its loop running.
    ``engine_config`` None reads the settings (environment, then stored ones)."""
    from opendialer.core.services import platform_choice, platform_config

    cfg = engine_config or await config_from_environment()
    platform: str | ChosenPlatform = cfg.platform
    if not cfg.platform:
        # No platform fixed by OPENDIALER_PLATFORM: follow the Master's choice while the
        # engine runs (System → Communication platform; core/engine/chosen_platform.py).
        # OPENDIALER_PLATFORM_OPTIONS, when set, wins over the options stored with it.
        def build(name: str, stored: Any) -> Any:
            options = _node_options(db, cfg, name, cfg.platform_options or stored)
            return engine.build_platform(name, options)

        platform = ChosenPlatform(build, platform_choice.load)
    try:
        engine = Engine(
            db,
            cfg.node_id,
            platform=platform,
            platform_options=_node_options(db, cfg, cfg.platform, cfg.platform_options),
            routing_options=cfg.routing_options,
            routing_by_type=cfg.routing_by_type,
            max_calls=cfg.max_calls,
            dead_after_s=cfg.dead_after_s,
            dnc_registry=dnc.shared_registry(),  # one provider per service in the process
        )
    except EngineConfigError:
        raise
    except ValueError as exc:  # a plugin refused its options: one line naming the field
        raise EngineConfigError(
            f"cannot build the engine (platform {cfg.platform!r}): {exc} — check "
            "$OPENDIALER_PLATFORM_OPTIONS or the engine.platform setting"
        ) from exc
    await engine.start()
    if callable(getattr(engine.platform, "registrations", None)):
        platform_config.attach(engine.platform)  # type: ignore[arg-type]  # System → Diagnostics
    health.attach_routing_targets(engine.routing_targets)  # Diagnostics reads, never reconnects
    health.note_engine_platform(cfg.platform, dict(cfg.platform_options))  # and judges this one
    return engine


async def stop_engine(engine: Engine) -> None:
    """Drains the engine's calls and leaves; Diagnostics stops judging its platform."""
    health.note_engine_platform(None)
    await engine.stop()
    await dnc.close_all()  # the process's DNC providers (LISTEN connections, tasks)
