"""Built-in plugin ``amd_numpy``: answering-machine detection in numpy.

Registers the AMD strategy ``"numpy"`` and the ``opendialer amd`` commands.
See docs/amd.md for the signal path, the parameters and the presets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opendialer.sdk import AmdStrategyFactory, hookimpl

from .strategy import NumpyAmdStrategy


@hookimpl
def register_amd_strategies() -> Mapping[str, AmdStrategyFactory]:
    return {"numpy": NumpyAmdStrategy}


@hookimpl
def register_commands(app: Any) -> None:
    from .cli import amd_app

    app.add_typer(amd_app, name="amd")
