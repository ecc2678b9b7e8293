"""The web side of ``opendialer serve``: builds the admin's Litestar app for the node
runtime (:func:`opendialer.core.runtime.serve_node`), which runs it under uvicorn and,
for role ``all``, runs the dialing engine alongside.

Roles: ``all`` (web + engine, one process), ``web`` (no engine), ``engine``
(no web server: the CLI runs that role through the runtime alone, without this
package).
"""

from __future__ import annotations

from opendialer.admin_ui.app import create_app
from opendialer.core.storage import Database
from opendialer.sdk.contracts import MetricsExporter

__all__ = ["web_app"]


def web_app(database: Database | None, metrics: MetricsExporter | None) -> object:
    """The admin's app: on the engine's database in role ``all`` (None: its own)."""
    return create_app(database=database, metrics=metrics)
