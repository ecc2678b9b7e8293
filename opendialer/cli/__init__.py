"""The ``opendialer`` command line.

Sub-commands are grouped by resource, one module each (``plugins``, ``db``,
``users``, ``leads``, ``logs``, ``platform``, ``routing``, ``doctor``, ``serve``
and ``demo``); :mod:`.app` assembles them, :mod:`.runner` is how a command runs.
Plugins add theirs through the ``register_commands`` hook (``dnc``, ``amd``,
``plugins new``).
"""

from __future__ import annotations

from opendialer.cli.app import app, build_app, main

__all__ = ["app", "build_app", "main"]
