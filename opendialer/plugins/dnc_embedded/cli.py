"""``opendialer dnc import FILE [--replace] [--service NAME]`` with a progress bar."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from opendialer.sdk import DatabaseUrlError, ServiceError, dnc_lists, open_database

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

dnc_app = typer.Typer(help="Do-Not-Call lists.", no_args_is_help=True)


@dnc_app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="One number per line; optional header; UTF-8."),
    replace: bool = typer.Option(False, "--replace", help="Replace the list instead of adding."),
    service: str | None = typer.Option(
        None, "--service", help="Service name (default: the built-in Embedded Service)."
    ),
    region: str | None = typer.Option(
        None, "--region", help="Region of national numbers, e.g. BR (default: service's, or BR)."
    ),
    number_format: str = typer.Option(
        "phone", "--format", help="phone (normalise like leads) or e164 (digits only, faster)."
    ),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Leave invalid lines out instead of refusing the file."
    ),
) -> None:
    """Import a Do-Not-Call list into an embedded service, atomically."""
    if not file.is_file():
        err.print(f"[bold red]error:[/] {file}: no such file", highlight=False)
        raise typer.Exit(1)
    try:
        report = asyncio.run(_import(file, replace, service, region, number_format, skip_invalid))
    except (ServiceError, DatabaseUrlError) as exc:
        detail = exc.detail if isinstance(exc, ServiceError) else str(exc)
        err.print(f"[bold red]error:[/] {detail}", highlight=False)
        raise typer.Exit(1) from None
    mode = "replaced with" if report.replace else "added"
    out.print(
        f"{report.service_name}: {mode} {report.added} number(s) "
        f"({report.numbers_in_file} distinct in {file.name}); "
        f"{report.on_list} on the list; list version {report.list_version}",
        highlight=False,
    )
    for bad in report.invalid:
        err.print(f"skipped line {bad.line}: {bad.text!r}: {bad.reason}", highlight=False)
    if report.invalid_count > len(report.invalid):
        err.print(f"... {report.invalid_count - len(report.invalid)} more skipped")


async def _import(
    file: Path,
    replace: bool,
    service: str | None,
    region: str | None,
    number_format: str,
    skip_invalid: bool,
) -> dnc_lists.ImportReport:
    async with open_database():
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    label = "reading" if phase == "read" else "writing"
                    tasks[phase] = bar.add_task(label, total=total or None)
                bar.update(tasks[phase], completed=done, total=total or None)

            fmt: Any = number_format
            return await dnc_lists.import_numbers(
                file,
                service_name=service,
                replace=replace,
                region=region,
                number_format=fmt,
                skip_invalid=skip_invalid,
                progress=progress,
            )
