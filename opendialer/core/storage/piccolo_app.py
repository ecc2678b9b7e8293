"""The Piccolo app that owns OpenDialer's tables and migrations."""

from __future__ import annotations

import os

from piccolo.conf.apps import AppConfig

from opendialer.core.storage.tables import ALL_TABLES

APP_NAME = "opendialer"

APP_CONFIG = AppConfig(
    app_name=APP_NAME,
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=[],
    commands=[],
)
