"""The database door of the plugin SDK: raw SQL on tables the migrations define.

A plugin that keeps state shared by the engine nodes (the SIP platform's port
leases, table ``platform_port_lease``) gets a :class:`PluginDatabase` — as the
``database`` option of a platform that edits its options
(:class:`~opendialer.sdk.options.EditsOptions`), or from
``opendialer.sdk.plugin_database(db)`` in tests — and runs its own SQL through
it. The tables stay where the migrations define them; this door is
deliberately thin (one query method and the dialect) so a plugin never needs
``opendialer.core.storage``.
"""

from __future__ import annotations

from typing import Any

from opendialer.core.storage import Database
from opendialer.core.storage.tables import EngineNode


class PluginDatabase:
    """Raw SQL for a plugin: ``{}`` placeholders, values passed separately."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def is_postgres(self) -> bool:
        """PostgreSQL (several engine nodes may share it) rather than SQLite (one node)."""
        return self._db.is_postgres

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """Run ``sql`` with ``args`` in its ``{}`` placeholders; the rows it returns."""
        rows = await EngineNode.raw(sql, *args).run()
        return list(rows or [])


def plugin_database(db: Database) -> PluginDatabase:
    """The door over ``db`` (the process's one database)."""
    return PluginDatabase(db)


__all__ = ["PluginDatabase", "plugin_database"]
