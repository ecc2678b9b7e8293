"""The composition root of a node: what ``opendialer serve`` and ``opendialer demo`` run.

A node plays one role: ``all`` (web + engine in one process), ``web`` (no engine) or
``engine`` (no web server; several engine nodes share one PostgreSQL). This package
builds and runs the engine for every role — settings, plugin manager, the platform
(fixed by the environment, or following the Master's choice), the metrics exporter —
and stops things in order. The web app is not built here: the role's caller hands
in a builder (``opendialer.admin_ui.server``), so ``serve --role engine`` never
imports the web package.

=====================  =========================================================
``node.py``            :func:`serve_node`: checks, logs, exporter, engine, web, and
                       the shutdown order
``engine_start.py``    :func:`start_engine`: an :class:`Engine` built from the
                       node's settings and started
``http.py``            uvicorn wrapped so a signal asks to stop (the engine drains)
``metrics_http.py``    ``GET /metrics`` and ``/healthz``: the access rule, the
                       exporter, the metrics-only app of ``--role engine``
=====================  =========================================================
"""

from __future__ import annotations

from opendialer.core.runtime.engine_start import start_engine
from opendialer.core.runtime.node import ROLES, WebApp, serve_node

__all__ = ["ROLES", "WebApp", "serve_node", "start_engine"]
