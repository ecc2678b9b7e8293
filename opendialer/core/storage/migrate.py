"""Apply Piccolo migrations: idempotent, and safe when several nodes start at once."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import asyncpg
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager
from piccolo.apps.migrations.tables import Migration

from opendialer.core.storage import Database
from opendialer.core.storage.piccolo_app import APP_CONFIG, APP_NAME

#: Held while migrating so two nodes starting together do not both migrate.
MIGRATION_LOCK_KEY = 0x0D1A1E0001


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class MigrationReport:
    applied: list[str]
    already_applied: list[str]


async def _status() -> tuple[list[str], list[str]]:
    manager = BaseMigrationManager()
    await manager.create_migration_table()
    modules = manager.get_migration_modules(APP_CONFIG.resolved_migrations_folder_path)
    known = manager.get_migration_ids(modules)
    ran = await Migration.get_migrations_which_ran(app_name=APP_NAME)
    return known, ran


async def migrations_applied() -> bool:
    """Whether any migration ran on the bound database (read-only: a missing migration
    table means none, and is not created)."""
    try:
        return bool(await Migration.get_migrations_which_ran(app_name=APP_NAME))
    except Exception:  # no migration table: a database OpenDialer never migrated
        return False


async def pending_migrations(db: Database) -> list[str]:
    known, ran = await _status()
    return sorted(set(known) - set(ran))


async def migrate(db: Database) -> MigrationReport:
    """Apply every migration not yet applied; report what was done."""
    lock_conn = None
    if db.is_postgres:
        lock_conn = await asyncpg.connect(db.url.replace("postgresql+asyncpg://", "postgresql://"))
        await lock_conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        known, ran_before = await _status()
        todo = sorted(set(known) - set(ran_before))
        if todo:
            # Piccolo prints progress with emoji; the CLI prints its own summary.
            with contextlib.redirect_stdout(io.StringIO()) as out:
                result = await ForwardsMigrationManager(app_name=APP_NAME).run()
            if not result.success:
                raise MigrationError(f"migration failed: {result.message}\n{out.getvalue()}")
        return MigrationReport(applied=todo, already_applied=sorted(ran_before))
    finally:
        if lock_conn is not None:
            await lock_conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
            await lock_conn.close()
