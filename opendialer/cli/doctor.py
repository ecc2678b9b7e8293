"""``opendialer doctor``: check the installation, one line per check."""

from __future__ import annotations

import json
import sys

import typer

from opendialer.cli.runner import fail, out, run
from opendialer.core import config


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
