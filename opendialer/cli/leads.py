"""``opendialer leads``: import a lead CSV into a campaign."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from opendialer.cli.runner import err, fail, open_database, out, run

leads_app = typer.Typer(help="Campaign leads: import CSV lists.", no_args_is_help=True)


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
