"""How a command of the ``opendialer`` CLI runs: its consoles, one-line failures,
its async body (service and database errors turned into one line), the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

from opendialer.core import config

T = TypeVar("T")

# soft_wrap: a printed message stays one line however long (a database path in a
# pytest temp folder wrapped "is up to date" over two lines); tables still fit the width.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


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
