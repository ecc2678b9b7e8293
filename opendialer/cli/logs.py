"""``opendialer logs``: bundle the installation's log files into a zip."""

from __future__ import annotations

import typer

from opendialer.cli.runner import fail, open_database, out, run
from opendialer.core import config

logs_app = typer.Typer(help="The dialer's log files.", no_args_is_help=True)


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
