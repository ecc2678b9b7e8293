"""Runs one node in its role: the checks before anything starts, the log files, the
metrics exporter, the engine, the web app (built by the caller), and the shutdown
order — web server first, then the engine (which drains its calls), the database,
and the exporter last (it renders the engine's figures to the end).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from opendialer.core import config, logs
from opendialer.core.engine.engine import Engine
from opendialer.core.engine.settings import EngineConfig
from opendialer.core.engine.view import attach_exporter
from opendialer.core.runtime.engine_start import start_engine, stop_engine
from opendialer.core.runtime.http import serve_app
from opendialer.core.runtime.metrics_http import MetricsAccess, build_exporter, metrics_only_app
from opendialer.core.services import installation
from opendialer.core.storage import Database, connect
from opendialer.sdk.contracts import MetricsExporter

ROLES = ("all", "web", "engine")
log = logging.getLogger("opendialer.server")

#: Builds the web app (``opendialer.admin_ui.app.create_app``) for roles ``all`` and
#: ``web``: given the engine's database (role ``all``; None: the app opens its own) and
#: the process's exporter (None: the app builds its own).
WebApp = Callable[[Database | None, MetricsExporter | None], object]


async def serve_node(
    *,
    host: str,
    port: int,
    certfile: str | None = None,
    keyfile: str | None = None,
    role: str = "all",
    engine_config: EngineConfig | None = None,
    metrics_port: int | None = None,
    demo_database: str = "refuse",
    web_app: WebApp | None = None,
) -> None:
    """Run the node until SIGINT/SIGTERM. ``metrics_port``: with ``role="engine"``,
    serve ``/metrics`` on that port (the web server of the other roles serves it on
    ``port``). ``demo_database``: ``refuse`` a database ``opendialer demo`` seeded,
    serve it on ``loopback`` only (``serve --allow-demo-database``), or ``demo`` (the
    demo itself). ``web_app``: required by the roles with a web server."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role != "engine" and web_app is None:
        raise ValueError(f"role {role!r} serves the web app: give web_app")
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
            assert web_app is not None  # checked above
            await serve_app(web_app(None, exporter), host, port, certfile, keyfile)
        else:
            await _serve_with_engine(
                host, port, certfile, keyfile, role, engine_config, metrics_port, exporter, web_app
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
    web_app: WebApp | None,
) -> None:
    serves_metrics = metrics_port is not None and exporter is not None
    # An engine with no server of its own listens for SIGINT/SIGTERM before it starts: a
    # stop asked while it starts (its node already visible) then stops it cleanly.
    stop = _stop_on_signal() if role == "engine" and not serves_metrics else None
    db = await connect(config.database_url())
    engine: Engine | None = None
    try:
        engine = await start_engine(db, engine_config)
        if exporter is not None:
            attach_exporter(exporter, engine)  # its events stop with the process
        if role == "engine":
            if stop is None:
                assert metrics_port is not None and exporter is not None
                await serve_app(metrics_only_app(exporter), host, metrics_port, certfile, keyfile)
            else:
                await stop.wait()
        else:
            assert web_app is not None  # checked by serve_node
            await serve_app(web_app(db, exporter), host, port, certfile, keyfile)
    finally:
        if engine is not None:
            await stop_engine(engine)
        await db.close()


def _stop_on_signal() -> asyncio.Event:
    """An event SIGINT/SIGTERM will set (the handlers installed now)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop
