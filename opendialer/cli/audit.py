"""``opendialer audit``: export a campaign's audit trail as CSV (``docs/audit.md``)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from opendialer.cli.runner import err, open_database, run

audit_app = typer.Typer(help="The audit trail: export it as CSV.", no_args_is_help=True)


@audit_app.command("export")
def audit_export(
    campaign: str = typer.Option(
        ..., "--campaign", help="The campaign's name or id (a deleted one's too: its rows stay)."
    ),
    start: str = typer.Option(
        ...,
        "--from",
        help="First day (midnight in the campaign's time zone) or ISO 8601 time (UTC "
        "without an offset).",
    ),
    end: str = typer.Option(..., "--to", help="End, not included: a day or an ISO 8601 time."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the CSV to this file (default: standard output)."
    ),
) -> None:
    """Write the campaign's audit rows in [--from, --to) as CSV, oldest first, streamed."""
    from opendialer.core.services import audit_export as export_service
    from opendialer.core.services.common import SYSTEM

    async def body() -> None:
        db = await open_database()
        try:
            export = await export_service.open_export_by_name(SYSTEM, campaign, start, end)
            rows = 0
            target = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
            try:
                async for chunk in export.csv_chunks():
                    target.write(chunk)
                    rows += chunk.count("\r\n")
            finally:
                if output:
                    target.close()
                else:
                    target.flush()
        finally:
            await db.close()
        where = f" to {output}" if output else ""
        # One line per row after the header: no column holds a line break (detail is JSON).
        err.print(
            f"exported {max(rows - 1, 0)} audit row(s) of {export.campaign_name!r}{where}",
            highlight=False,
            soft_wrap=True,
        )

    run(body)
