"""Runs the Litestar app under uvicorn (HTTPS when given a certificate), and the
dialing engine alongside it when the role includes the engine.

Roles: ``all`` (web + engine, one process), ``web`` (no engine), ``engine``
(no web server: several engine nodes can share one PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

import uvicorn

from opendialer.admin_ui.app import create_app
from opendialer.admin_ui.metrics import MetricsAccess, build_exporter, metrics_only_app
from opendialer.core import config, health, logs
from opendialer.core.contracts import MetricsExporter
from opendialer.core.engine.chosen_platform import ChosenPlatform
from opendialer.core.engine.engine import Engine
from opendialer.core.engine.settings import (
    EngineConfig,
    EngineConfigError,
    config_from_environment,
)
from opendialer.core.services import installation
from opendialer.core.storage import Database, connect

ROLES = ("all", "web", "engine")
log = logging.getLogger("opendialer.server")


def _node_options(db: Database, cfg: EngineConfig, name: str, options: Any) -> dict[str, Any]:
    """A platform's options plus what this node adds to them."""
    from opendialer.core.services import platform_config
    from opendialer.core.services.port_leases import PortLeases

    options = dict(options or {})
    if name == "sip":
        # The SIP platform reads (and follows changes of) the Master's stored configuration
        # — none saved yet: it starts "not configured" and comes up when one is saved —
        # and dials only the ports this node leases (PostgreSQL: shared between nodes).
        options.setdefault("config_source", platform_config.config_source())
        options.setdefault(
            "port_leases",
            PortLeases(db, cfg.node_id, lease_s=cfg.dead_after_s, dead_after_s=cfg.dead_after_s),
        )
    return options


async def start_engine(db: Database, engine_config: EngineConfig | None) -> Engine:
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


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve_forever(
    *,
    host: str,
    port: int,
    certfile: str | None = None,
    keyfile: str | None = None,
    role: str = "all",
    engine_config: EngineConfig | None = None,
    metrics_port: int | None = None,
    demo_database: str = "refuse",
) -> None:
    """``metrics_port``: with ``role="engine"``, serve ``/metrics`` on that port (the web
    server of the other roles serves it on ``port``). ``demo_database``: ``refuse`` a
    database ``opendialer demo`` seeded, serve it on ``loopback`` only
    (``serve --allow-demo-database``), or ``demo`` (the demo itself)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    # A malformed metrics setting stops the start, not a scrape. One exporter per
    # process: in role "all" the web app serves the engine's metrics.
    MetricsAccess.from_env()
    logs.check_settings()
    instance, database = await _installation(host, demo_database)
    served = role != "engine" or metrics_port is not None
    exporter = build_exporter() if served else None
    # rotating JSON file per installation, role and node + console
    path = logs.configure(role=role, instance=instance)
    log.info(
        "server_started",
        extra={
            "role": role,
            "installation": instance,
            "database": database,
            "log_file": str(path),
        },
    )
    if exporter is not None:
        await exporter.start()
    try:
        if role == "web":
            await _serve_web(create_app(metrics=exporter), host, port, certfile, keyfile)
        else:
            await _serve_with_engine(
                host, port, certfile, keyfile, role, engine_config, metrics_port, exporter
            )
    finally:
        if exporter is not None:
            await exporter.close()


async def _installation(host: str, demo_database: str) -> tuple[str, str]:
    """This database's installation id (it names the log files) and the database said
    without its password, once ``serve`` may run on it: a demo database is refused
    unless ``demo_database`` says otherwise."""
    from opendialer.core.storage.migrate import migrations_applied

    db = await connect(config.database_url())
    try:
        if not await migrations_applied():
            raise installation.NotMigrated("install.not_migrated", database=db.describe())
        if demo_database != "demo":
            await installation.refuse_demo_database(allow=demo_database == "loopback", host=host)
        return await installation.instance_id(), db.describe()
    finally:
        await db.close()


async def _serve_with_engine(
    host: str,
    port: int,
    certfile: str | None,
    keyfile: str | None,
    role: str,
    engine_config: EngineConfig | None,
    metrics_port: int | None,
    exporter: MetricsExporter | None,
) -> None:
    db = await connect(config.database_url())
    engine: Engine | None = None
    try:
        engine = await start_engine(db, engine_config)
        if exporter is not None:
            exporter.attach_engine(engine)
        if role == "engine":
            if metrics_port is not None and exporter is not None:
                app = metrics_only_app(exporter)
                await _serve_web(app, host, metrics_port, certfile, keyfile)
            else:
                await _until_signalled()
        else:
            app = create_app(database=db, metrics=exporter)
            await _serve_web(app, host, port, certfile, keyfile)
    finally:
        if engine is not None:
            health.note_engine_platform(None)
            await engine.stop()
        await db.close()


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGINT/SIGTERM once it has shut down, which would kill the
    process before the engine drained its calls; here a signal only asks to stop."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True


async def _serve_web(
    app: object, host: str, port: int, certfile: str | None, keyfile: str | None
) -> None:
    health.note_web_certificate(certfile)  # System → Diagnostics checks its expiry
    server = _Server(
        uvicorn.Config(
            app,  # type: ignore[arg-type]
            host=host,
            port=port,
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
            log_level="info",
            lifespan="on",
        )
    )
    await server.serve()
