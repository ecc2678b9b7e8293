"""Built-in plugin ``dnc_embedded``: the Do-Not-Call list kept in the database.

Provider kind ``"embedded"`` (see :mod:`.provider`) and the CLI command
``opendialer dnc import`` (see :mod:`.cli`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opendialer.plugins.dnc_embedded.provider import EmbeddedDncProvider
from opendialer.sdk import DncProviderFactory, hookimpl


@hookimpl
def register_dnc_providers() -> Mapping[str, DncProviderFactory]:
    return {"embedded": EmbeddedDncProvider}


@hookimpl
def register_commands(app: Any) -> None:
    from opendialer.plugins.dnc_embedded.cli import dnc_app

    app.add_typer(dnc_app, name="dnc")
