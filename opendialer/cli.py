"""The ``opendialer`` command line.

Sub-commands are grouped by resource (``plugins``, ``db``, ``users``, ...);
plugins add theirs through the ``register_commands`` hook.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

import opendialer
from opendialer.core import config
from opendialer.core.plugins import get_plugin_manager

T = TypeVar("T")

app = typer.Typer(
    name="opendialer",
    help="OpenDialer: an open-source outbound campaign dialer.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
plugins_app = typer.Typer(help="List and inspect plugins, scaffold new ones.", no_args_is_help=True)
db_app = typer.Typer(help="Database: migrations.", no_args_is_help=True)
users_app = typer.Typer(help="Dialer users.", no_args_is_help=True)
app.add_typer(plugins_app, name="plugins")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
leads_app = typer.Typer(help="Campaign leads: import CSV lists.", no_args_is_help=True)
app.add_typer(leads_app, name="leads")
logs_app = typer.Typer(help="The dialer's log files.", no_args_is_help=True)
app.add_typer(logs_app, name="logs")
platform_app = typer.Typer(
    help="The communication platform the engine uses (SIP server or simulator).",
    no_args_is_help=True,
)
app.add_typer(platform_app, name="platform")
routing_app = typer.Typer(
    help="Routing targets: the contact center (oscc) and the IVR (ivr).", no_args_is_help=True
)
app.add_typer(routing_app, name="routing")

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    # soft_wrap: one line however long (scripts and logs read errors line by line)
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run an async body, turning service and database errors into one-line errors."""
    from opendialer.core.services.errors import ServiceError, field_errors
    from opendialer.core.storage import DatabaseUrlError

    try:
        return asyncio.run(coro_fn())  # type: ignore[arg-type]
    except ServiceError as exc:
        # Every field in error, not only the first (services collect them: FieldErrors).
        fail(
            "; ".join(f"{e.detail} ({e.field})" if e.field else e.detail for e in field_errors(exc))
        )
    except DatabaseUrlError as exc:
        fail(str(exc))
    raise AssertionError("unreachable")


async def open_database(migrate_first: bool = False) -> Any:
    from opendialer.core.services import installation
    from opendialer.core.storage import connect
    from opendialer.core.storage.migrate import migrate

    db = await connect(config.database_url())
    if migrate_first:
        await migrate(db)
        await installation.instance_id()  # made on first migrate: it names the log files
    return db


@app.callback(invoke_without_command=True)
def root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        out.print(f"opendialer {opendialer.__version__}")
        raise typer.Exit(0)


# -- plugins ---------------------------------------------------------------


def _report_plugin_failures() -> None:
    for failure in get_plugin_manager().failures:
        err.print(
            f"[yellow]plugin {failure.name!r} ({failure.source}) failed to load:[/] "
            f"{failure.error}",
            highlight=False,
        )


@plugins_app.command("list")
def plugins_list(as_json: bool = typer.Option(False, "--json", help="Print a JSON array.")) -> None:
    """Every loaded plugin: name, version, source (builtin or distribution), hooks."""
    infos = get_plugin_manager().plugins()
    if as_json:
        sys.stdout.write(json.dumps([p.as_dict() for p in infos], indent=2) + "\n")
    else:
        table = Table("name", "version", "source", "hooks")
        for p in infos:
            table.add_row(p.name, p.version, p.source, ", ".join(p.hooks))
        out.print(table)
    _report_plugin_failures()


@plugins_app.command("info")
def plugins_info(name: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """One plugin's details."""
    info = get_plugin_manager().info(name)
    if info is None:
        failed = [f for f in get_plugin_manager().failures if f.name == name]
        if failed:
            fail(f"plugin {name!r} failed to load: {failed[0].error}")
        known = ", ".join(p.name for p in get_plugin_manager().plugins())
        fail(f"no plugin named {name!r}; loaded: {known}")
        return
    if as_json:
        sys.stdout.write(json.dumps(info.as_dict(), indent=2) + "\n")
        return
    out.print(f"[bold]{info.name}[/] {info.version}  (source: {info.source})")
    for hook in info.hooks:
        out.print(f"  hook {hook}")


# -- database --------------------------------------------------------------


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending migrations (safe to run again; safe on several nodes at once)."""
    from opendialer.core.storage.migrate import migrate

    async def body() -> None:
        from opendialer.core.services import installation

        db = await open_database()
        try:
            report = await migrate(db)
            await installation.instance_id()  # names this installation's log files
        finally:
            await db.close()
        if report.applied:
            out.print(f"applied {len(report.applied)} migration(s) to {db.describe()}:")
            for mid in report.applied:
                out.print(f"  {mid}")
        else:
            out.print(
                f"{db.describe()} is up to date ({len(report.already_applied)} migrations applied)"
            )

    run(body)


# -- users -----------------------------------------------------------------

PASSWORD_ENV = "OPENDIALER_MASTER_PASSWORD"


def _read_password() -> str:
    """From $OPENDIALER_MASTER_PASSWORD, else the first line of stdin (never argv)."""
    env = os.environ.get(PASSWORD_ENV)
    if env:
        return env
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            fail("the two passwords differ")
        return first
    line = sys.stdin.readline()
    if not line:
        fail(f"no password: pipe it on stdin or set {PASSWORD_ENV}")
    return line.rstrip("\r\n")


@users_app.command("create-master")
def users_create_master(
    username: str = typer.Option(..., "--username", help="The new Master's user name."),
) -> None:
    """Create a Master user. The password comes from stdin or $OPENDIALER_MASTER_PASSWORD."""
    from opendialer.core.services import users

    password = _read_password()

    async def body() -> None:
        db = await open_database(migrate_first=True)
        try:
            user = await users.create_master(username, password)
        finally:
            await db.close()
        out.print(f"created Master {user['username']!r} (id {user['id']})")

    run(body)


# -- leads -----------------------------------------------------------------


@leads_app.command("import")
def leads_import(
    campaign: str = typer.Argument(..., help="The campaign's name or id."),
    file: Path = typer.Argument(..., help="The CSV: name,phone per line (docs/leads-csv.md)."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Import the valid rows and report the others."
    ),
    region: str | None = typer.Option(
        None, "--region", help="Region of numbers without country code (default: the campaign's)."
    ),
) -> None:
    """Import a lead CSV into a STOPPED campaign: all rows or none (see --skip-invalid)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from opendialer.core.services import campaigns, leads
    from opendialer.core.services.common import SYSTEM
    from opendialer.core.services.lead_import import unassigned_warning

    if not file.is_file():
        fail(f"{file}: no such file")
    size = file.stat().st_size

    def print_rows(errors: list[dict[str, Any]], total: int) -> None:
        for e in errors:
            err.print(f"  line {e['line']} ({e['field']}): {e['reason']}", highlight=False)
        if total > len(errors):
            err.print(f"  … and {total - len(errors)} more", highlight=False)

    async def body() -> None:
        db = await open_database()
        try:
            target = await campaigns.resolve(SYSTEM, campaign)
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            ) as progress:
                task = progress.add_task(f"importing into {target['name']!r}", total=size)
                try:
                    report = await leads.import_file(
                        SYSTEM,
                        target["id"],
                        file,
                        skip_invalid=skip_invalid,
                        region=region,
                        on_bytes=lambda n: progress.update(task, completed=n),
                    )
                except leads.InvalidCsv as exc:
                    progress.stop()
                    print_rows(exc.extra["errors"], exc.extra["errors_total"])  # type: ignore[arg-type]
                    raise
        finally:
            await db.close()
        out.print(
            f"imported {report['imported']} lead(s) into {target['name']!r} "
            f"({report['lines']} lines read, {report['rejected']} rejected)"
        )
        if report["errors_total"]:
            print_rows(report["errors"], report["errors_total"])
        if report["unassigned"]:
            err.print(f"warning: {unassigned_warning(report)}", highlight=False)

    run(body)


# -- platform --------------------------------------------------------------


@platform_app.command("show")
def platform_show() -> None:
    """Which platform the engine uses, and which ones are installed."""
    from opendialer.core.services import platform_choice
    from opendialer.core.services.common import SYSTEM

    async def body() -> None:
        db = await open_database()
        try:
            choice = await platform_choice.get(SYSTEM)
        finally:
            await db.close()
        out.print(f"chosen: {choice['name'] or 'none (started campaigns do not dial)'}")
        out.print(f"installed: {', '.join(choice['available'])}")
        if choice["environment"]:
            out.print(f"this node: OPENDIALER_PLATFORM={choice['environment']} overrides it")

    run(body)


@platform_app.command("choose")
def platform_choose(
    name: str = typer.Argument(..., help="sip (your SIP server) or sim (the simulator)."),
) -> None:
    """Choose the platform every engine node uses; running engines switch within seconds."""
    from opendialer.core.services import platform_choice
    from opendialer.core.services.common import SYSTEM

    async def body() -> None:
        db = await open_database()
        try:
            choice = await platform_choice.put(SYSTEM, name)
        finally:
            await db.close()
        out.print(f"platform: {choice['name']} (running engines switch within a few seconds)")

    run(body)


# -- routing targets ---------------------------------------------------------


def _option_value(key: str, raw: str) -> Any:
    """``raw`` as JSON when it parses (30, true, ["a"], {"logon": ...}), else the text;
    a secret stays text (a password of digits is not a number)."""
    from opendialer.core.services.routing_config import is_secret

    if is_secret(key.rpartition(".")[2]):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _print_routing(view: dict[str, Any]) -> None:
    name = view["target"]
    if not view["configured"]:
        out.print(
            f"{name}: not configured yet (opendialer routing set {name} KEY=VALUE ...)",
            highlight=False,
            soft_wrap=True,
        )
        return
    out.print(f"{name}: configured, updated {view['updated_at']}", highlight=False, soft_wrap=True)
    for key, value in sorted(view["options"].items()):
        if key.startswith("has_"):
            out.print(
                f"  {key[4:]} = {'(set)' if value else '(not set)'}",
                highlight=False,
                soft_wrap=True,
            )
        else:
            out.print(f"  {key} = {json.dumps(value)}", highlight=False, soft_wrap=True)


@routing_app.command("show")
def routing_show(
    target: str | None = typer.Argument(None, help="oscc, ivr, ... (default: every target)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (the API's shape)."),
) -> None:
    """Show the routing targets' options; secrets only as set / not set."""
    from opendialer.core.services import routing_config
    from opendialer.core.services.common import SYSTEM

    async def body() -> Any:
        db = await open_database()
        try:
            if target is None:
                return await routing_config.list_all(SYSTEM)
            return await routing_config.get(SYSTEM, target)
        finally:
            await db.close()

    shown = run(body)
    if as_json:
        print(json.dumps(shown, indent=2))
        return
    for view in shown if isinstance(shown, list) else [shown]:
        _print_routing(view)


ASSIGNMENTS_HELP = (
    "KEY=VALUE ...: VALUE is JSON when it parses, else text; paths.logon=... sets one "
    "entry of a mapping option."
)
UNSET_HELP = "Remove an option (back to its default); a secret is cleared."


def _changes(assignments: list[str] | None) -> list[tuple[str, Any]]:
    changes: list[tuple[str, Any]] = []
    for item in assignments or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            fail(f"{item!r}: give KEY=VALUE, e.g. channels=30")
        changes.append((key.strip(), _option_value(key.strip(), raw)))
    return changes


async def _changed_options(
    target: str, changes: list[tuple[str, Any]], unset: list[str]
) -> dict[str, Any]:
    """The stored options of ``target`` with ``changes`` and ``unset`` applied; stored
    secrets are left out (``put`` and ``test_connection`` keep them), a cleared one
    is None."""
    from opendialer.core.services import routing_config
    from opendialer.core.services.common import SYSTEM

    current = await routing_config.get(SYSTEM, target)
    options = {k: v for k, v in current["options"].items() if not k.startswith("has_")}
    for key, value in changes:
        head, dot, tail = key.partition(".")
        if dot:
            nested = options.get(head)
            options[head] = {**(nested if isinstance(nested, dict) else {}), tail: value}
        else:
            options[key] = value
    for key in unset:
        head, dot, tail = key.partition(".")
        if routing_config.is_secret(key):
            options[key] = None
        elif dot and isinstance(options.get(head), dict):
            options[head] = {k: v for k, v in options[head].items() if k != tail}
        else:
            options.pop(key, None)
    return options


@routing_app.command("set")
def routing_set(
    target: str = typer.Argument(..., help="The routing target: oscc, ivr, ..."),
    assignments: list[str] = typer.Argument(None, help=ASSIGNMENTS_HELP),
    unset: list[str] = typer.Option([], "--unset", help=UNSET_HELP),
) -> None:
    """Change some options of a routing target, keeping the others (and its secrets)."""
    from opendialer.core.services import routing_config
    from opendialer.core.services.common import SYSTEM

    changes = _changes(assignments)
    if not changes and not unset:
        fail("nothing to set: give KEY=VALUE ... or --unset KEY")

    async def body() -> dict[str, Any]:
        db = await open_database()
        try:
            options = await _changed_options(target, changes, unset)
            return await routing_config.put(SYSTEM, target, options)
        finally:
            await db.close()

    saved = run(body)
    out.print(f"saved routing.{target}", highlight=False, soft_wrap=True)
    _print_routing(saved)


@routing_app.command("test")
def routing_test(
    target: str = typer.Argument(..., help="The routing target: oscc, ivr, ..."),
    assignments: list[str] = typer.Argument(None, help=ASSIGNMENTS_HELP),
    unset: list[str] = typer.Option([], "--unset", help=UNSET_HELP),
    timeout: float = typer.Option(5.0, "--timeout", help="Seconds to wait for it to come up."),
) -> None:
    """Try the stored options (changed by KEY=VALUE, not saved): build and start the
    target, wait until it is up, close it. Exit 1 when it does not come up."""
    from opendialer.core.services import routing_config
    from opendialer.core.services.common import SYSTEM

    changes = _changes(assignments)

    async def body() -> dict[str, Any]:
        db = await open_database()
        try:
            options = await _changed_options(target, changes, unset)
            return await routing_config.test_connection(SYSTEM, target, options, timeout)
        finally:
            await db.close()

    result = run(body)
    if not result["ok"]:
        fail(f"{target}: {result['detail']}")
    out.print(f"{target}: works: {result['detail']}", highlight=False, soft_wrap=True)


# -- serving ---------------------------------------------------------------


@logs_app.command("export")
def logs_export(
    output: str = typer.Option(
        "", "--output", "-o", help="Zip file to write (default: ./opendialer-logs-<time>.zip)."
    ),
    log_dir: str = typer.Option(
        "",
        "--log-dir",
        help="Directory to bundle (default: $OPENDIALER_LOG_DIR, else <data dir>/logs).",
    ),
    every: bool = typer.Option(
        False,
        "--all",
        help="Every installation's files of the directory, not only those of the "
        "configured database's installation (no database needed).",
    ),
) -> None:
    """Bundle this installation's log files (every process of it, current and rotated)
    of the log directory into a zip. The installation is the configured database's.
    Exits 1, writing nothing, when the directory holds no such file."""
    from datetime import UTC, datetime
    from pathlib import Path

    from opendialer.core import logs

    directory = Path(log_dir) if log_dir else logs.log_dir()
    if not directory.is_dir():
        fail(f"{directory} is not a directory")
    instance = None
    if not every:
        url = config.database_url()
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
            fail(
                f"no database at {url}: set ${config.DATABASE_URL_ENV} as the processes "
                "have it, or use --all"
            )
        instance = run(_read_instance_id)
    if not logs.log_files(directory, instance):
        # An empty zip would look like "nothing happened" to whoever reads it.
        whose = f" of installation {instance}" if instance else ""
        fail(
            f"no log file{whose} in {directory}: give the directory the processes write to "
            f"(--log-dir, or ${logs.LOG_DIR_ENV} / $OPENDIALER_DATA_DIR as in their environment)"
            + ("" if every else ", and their $OPENDIALER_DATABASE_URL; --all takes every file")
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    destination = Path(output or f"opendialer-logs-{stamp}.zip")
    files = logs.export_zip(destination, directory, instance)
    # soft_wrap: one line whatever the terminal's width (scripts and tests read it)
    out.print(f"wrote {destination} ({len(files)} log file(s) from {directory})", soft_wrap=True)


async def _read_instance_id() -> str:
    """The configured database's installation id, without creating anything."""
    from opendialer.core.services import installation

    try:
        db = await open_database()
    except Exception as exc:  # unreachable server, bad credentials: say so in one line
        fail(f"cannot open the database to learn the installation: {exc}; or use --all")
    try:
        found = await installation.read_instance_id()
    except Exception as exc:  # no schema yet
        fail(f"cannot read the installation id from {db.describe()}: {exc}; or use --all")
    finally:
        await db.close()
    if found is None:
        fail(f"{db.describe()} has no installation id yet (never served): nothing logged; or --all")
    return str(found)


@app.command("doctor")
def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    strict: bool = typer.Option(False, "--strict", help="Exit non-zero on warnings too."),
    timeout: float = typer.Option(5.0, min=0.1, max=120, help="Seconds per network exchange."),
    certfile: str | None = typer.Option(
        None, help="The web server's TLS certificate to check (else $OPENDIALER_TLS_CERTFILE)."
    ),
    check: list[str] = typer.Option([], "--check", help="Run only this check (repeatable)."),
    skip: list[str] = typer.Option([], "--skip", help="Leave this check out (repeatable)."),
) -> None:
    """Check the installation: database, migrations, plugins, SIP, DNC, contact center,
    certificates, clock. One line each; exit 1 when something fails (docs/doctor.md)."""
    from opendialer.core import dnc, health

    checks = health.check_ids()
    unknown = sorted((set(check) | set(skip)) - set(checks))
    if unknown:
        fail(f"unknown check {unknown[0]!r}: use one of {', '.join(checks)}", code=2)
    options = health.DoctorOptions(timeout_s=timeout, web_certfile=certfile)

    async def body() -> list[health.CheckResult]:
        database, connected = await health.connect_database(config.database_url(), options)
        try:
            return await health.run_checks(
                database, options, connected=connected, only=check, skip=skip
            )
        finally:
            await dnc.close_all()
            if database is not None:
                await database.close()

    results = run(body)
    verdict = health.worst(results)
    if as_json:
        payload = {"status": verdict.value, "checks": [r.as_dict() for r in results]}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")  # plain: no wrapping, no colour
    else:
        from rich.markup import escape

        styles = {"ok": "green", "warn": "yellow", "fail": "bold red"}
        for result in results:
            label = f"[{styles[result.status.value]}]{result.status.value.upper():<4}[/]"
            out.print(
                f"{label} {escape(result.name)}: {escape(result.message)}",
                highlight=False,
                soft_wrap=True,
                markup=True,
            )
    if verdict is health.Status.FAIL or (strict and verdict is health.Status.WARN):
        raise typer.Exit(1)


@app.command("serve")
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


@app.command("demo")
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


def build_app() -> typer.Typer:
    get_plugin_manager().call_register_commands(app)
    return app


def main() -> None:
    build_app()()


if __name__ == "__main__":
    main()
