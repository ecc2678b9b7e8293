"""The web side of ``opendialer serve``: builds the admin's Litestar app for the node
runtime (:mod:`opendialer.core.runtime`), which runs it under uvicorn and, for role
``all``, runs the dialing engine alongside.

Roles: ``all`` (web + engine, one process), ``web`` (no engine), ``engine``
(no web server: the CLI runs that role through the runtime alone, without this
package).
"""

from __future__ import annotations

from opendialer.admin_ui.app import create_app
from opendialer.core.engine.settings import EngineConfig
from opendialer.core.runtime import ROLES, serve_node
from opendialer.core.storage import Database
from opendialer.sdk.contracts import MetricsExporter

__all__ = ["ROLES", "serve_forever", "web_app"]


def web_app(database: Database | None, metrics: MetricsExporter | None) -> object:
    """The admin's app: on the engine's database in role ``all`` (None: its own)."""
    return create_app(database=database, metrics=metrics)


async def serve_forever(
    *,
    host: str,
    port: int,
    certfile: str | None = None,
    keyfile: str | None = None,
    role: str = "all",
    engine_config: EngineConfig | None = None,
    metrics_port: int | None = None,
    demo_database: str = "refuse",
) -> None:
    """:func:`opendialer.core.runtime.serve_node` with the admin's web app."""
    await serve_node(
        host=host,
        port=port,
        certfile=certfile,
        keyfile=keyfile,
        role=role,
        engine_config=engine_config,
        metrics_port=metrics_port,
        demo_database=demo_database,
        web_app=web_app,
    )
