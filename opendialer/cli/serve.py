"""``opendialer serve`` and ``opendialer demo``: run a node (web server, dialing
engine, or both) on the configured database, or the self-contained demo."""

from __future__ import annotations

import os

import typer

from opendialer.cli.runner import err, fail, open_database, out, run
from opendialer.core import config


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(8080, help="Port (9443 is the usual one with TLS)."),
    certfile: str | None = typer.Option(None, help="TLS certificate (PEM): serve HTTPS."),
    keyfile: str | None = typer.Option(None, help="TLS private key (PEM)."),
    role: str = typer.Option(
        "all",
        help="all: web + dialing engine; web: no engine; engine: no web server "
        "(the engine uses the platform chosen under System → Communication platform, "
        "or $OPENDIALER_PLATFORM when set; see docs/engine.md).",
    ),
    metrics_port: int | None = typer.Option(
        None,
        help="--role engine only: serve GET /metrics on this port (docs/metrics.md); "
        "the other roles serve it on --port.",
    ),
    allow_demo_database: bool = typer.Option(
        False,
        "--allow-demo-database",
        help="Serve a database `opendialer demo` seeded (refused otherwise: its password is "
        "published) — on a loopback --host only, e.g. for a presentation.",
    ),
) -> None:
    """Start the dialer on the configured database: web server, dialing engine, or both.
    A database seeded by `opendialer demo` is refused (see --allow-demo-database)."""
    from opendialer.core.engine.settings import EngineConfigError
    from opendialer.core.runtime import ROLES, WebApp, serve_node
    from opendialer.core.runtime.metrics_http import MetricsConfigError

    if bool(certfile) != bool(keyfile):
        fail("give both --certfile and --keyfile, or neither")
    if role not in ROLES:
        fail(f"--role {role!r}: use one of {', '.join(ROLES)}")
    if metrics_port is not None and role != "engine":
        fail(f"--metrics-port is for --role engine; --role {role} serves /metrics on --port")

    async def body() -> None:
        # The engine role runs without the web package: it is imported only to serve it.
        web_app: WebApp | None = None
        if role != "engine":
            from opendialer.admin_ui.server import web_app
        try:
            await serve_node(
                host=host,
                port=port,
                certfile=certfile,
                keyfile=keyfile,
                role=role,
                metrics_port=metrics_port,
                demo_database="loopback" if allow_demo_database else "refuse",
                web_app=web_app,
            )
        except (EngineConfigError, MetricsConfigError) as exc:
            fail(str(exc))

    run(body)


def demo(
    host: str = typer.Option("127.0.0.1", help="Address to bind (loopback unless told)."),
    port: int = typer.Option(8080, help="Port."),
    reset: bool = typer.Option(
        False, "--reset", help="Delete the demo's directory first: start from an empty database."
    ),
) -> None:
    """Embedded demo: SQLite, the simulator, a campaign of 200 leads that starts by itself.

    Its database and logs live in <data dir>/demo, apart from the database `serve` uses;
    `serve` refuses a database the demo seeded. With $OPENDIALER_DATABASE_URL set, the
    demo runs on that database only when it is empty or a demo one."""
    import shutil

    from opendialer.admin_ui.server import web_app
    from opendialer.core import logs
    from opendialer.core.demo import DEMO_ENGINE, prepare_demo
    from opendialer.core.runtime import serve_node
    from opendialer.core.services import installation

    explicit = os.environ.get(config.DATABASE_URL_ENV, "").strip()
    directory = config.demo_dir()
    if reset:
        if explicit:
            fail(
                f"--reset empties only the demo's own directory ({directory}), and "
                f"${config.DATABASE_URL_ENV} is set: empty that database yourself, or unset it"
            )
        shutil.rmtree(directory, ignore_errors=True)
        if directory.exists():
            fail(f"could not delete {directory}: delete it by hand")
    directory.mkdir(parents=True, exist_ok=True)
    # Everything in this process (web app, engine, Diagnostics, log files) reads these.
    if not explicit:
        os.environ[config.DATABASE_URL_ENV] = f"sqlite:///{directory / 'opendialer.sqlite'}"
    os.environ[logs.LOG_DIR_ENV] = str(directory / "logs")

    async def body() -> None:
        db = await open_database(migrate_first=True)
        try:
            logins = await prepare_demo()
        finally:
            await db.close()
        scheme_host = host if host not in ("0.0.0.0", "::") else "127.0.0.1"
        out.print(f"[bold green]OpenDialer demo[/] on {db.describe()}", soft_wrap=True)
        out.print(
            f"  Demo data in {directory}; `opendialer demo --reset` starts clean",
            soft_wrap=True,
            highlight=False,
        )
        out.print(f"  open   http://{scheme_host}:{port}/")
        for login in logins:
            out.print(f"  login  {login.username} / {login.password}   ({login.role})")
        out.print("  the demo campaign dials simulated calls now; Ctrl-C stops")
        if not installation.is_loopback(host):
            err.print(
                f"[yellow]warning:[/] the demo listens on {host}: anyone who reaches it can log "
                "in with the published password above",
                highlight=False,
            )
        await serve_node(
            host=host,
            port=port,
            engine_config=DEMO_ENGINE,
            demo_database="demo",
            web_app=web_app,
        )

    run(body)
