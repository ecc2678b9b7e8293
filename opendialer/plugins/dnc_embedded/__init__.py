"""Built-in plugin ``dnc_embedded``: the Do-Not-Call list kept in the database.

Provider kind ``"embedded"`` (see :mod:`.provider`) and the CLI command
``opendialer dnc import`` (see :mod:`.cli`).
"""

from __future__ import annotations

from typing import Any

from opendialer.plugins.dnc_embedded.provider import EmbeddedDncProvider
from opendialer.sdk import hookimpl


@hookimpl
def register_dnc_providers() -> dict[str, Any]:
    return {"embedded": EmbeddedDncProvider}


@hookimpl
def register_commands(app: Any) -> None:
    from opendialer.plugins.dnc_embedded.cli import dnc_app

    app.add_typer(dnc_app, name="dnc")
