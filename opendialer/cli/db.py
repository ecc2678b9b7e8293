"""``opendialer db``: the database's migrations."""

from __future__ import annotations

import typer

from opendialer.cli.runner import open_database, out, run

db_app = typer.Typer(help="Database: migrations.", no_args_is_help=True)


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
