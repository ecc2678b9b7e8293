"""Piccolo's configuration module (``PICCOLO_CONF`` points here).

``DB`` is replaced by :func:`opendialer.core.storage.bind` with the engine the
dialer was started on; Piccolo's migration machinery reads it from here.
"""

from __future__ import annotations

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine

DB: Engine = SQLiteEngine(path=":memory:")  # placeholder until bind() runs

APP_REGISTRY = AppRegistry(apps=["opendialer.core.storage.piccolo_app"])
