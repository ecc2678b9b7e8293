"""The database: reachable, and every migration the code knows applied."""

from __future__ import annotations

import asyncio
import time

from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.tables import Migration

from opendialer.core.health.model import CheckResult, DoctorOptions, Status
from opendialer.core.storage import Database, connect
from opendialer.core.storage.piccolo_app import APP_CONFIG, APP_NAME

FIX_REACH = (
    "check OPENDIALER_DATABASE_URL, that the database server runs and accepts this node "
    "(pg_hba.conf, firewall)"
)


async def connect_database(url: str, options: DoctorOptions) -> tuple[Database | None, CheckResult]:
    """Open the database for the doctor; on failure, the line that says why."""
    try:
        database = await asyncio.wait_for(connect(url, pool_size=2), options.timeout_s)
    except TimeoutError:
        return None, CheckResult(
            "database",
            Status.FAIL,
            f"no answer from the database within {options.timeout_s:g} s: {FIX_REACH}",
        )
    except Exception as exc:  # any reason to be unreachable is reported, never raised
        return None, CheckResult(
            "database", Status.FAIL, f"cannot open the database ({exc}): {FIX_REACH}"
        )
    return database, await check_database(database, options)


async def check_database(database: Database, options: DoctorOptions) -> CheckResult:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(database.engine.run_ddl("SELECT 1"), options.timeout_s)
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        return CheckResult("database", Status.FAIL, f"{database.describe()}: {reason}: {FIX_REACH}")
    took_ms = (time.perf_counter() - started) * 1000
    return CheckResult(
        "database",
        Status.OK,
        f"{database.dialect} reachable in {took_ms:.1f} ms: {database.describe()}",
    )


async def migration_ids() -> tuple[list[str], list[str] | None, dict[str, str]]:
    """(known to this code, applied to the database) migration ids, and each known
    one's module name (``m0003_engine``: what people recognise). Applied is None when
    the database has no migration table: never migrated. Read-only: a health check
    never creates that table (Piccolo's own ``create_migration_table`` would)."""
    manager = BaseMigrationManager()
    modules = manager.get_migration_modules(APP_CONFIG.resolved_migrations_folder_path)
    known = manager.get_migration_ids(modules)
    applied: list[str] | None = None
    if await Migration.table_exists().run():
        applied = await Migration.get_migrations_which_ran(app_name=APP_NAME)
    return (
        sorted(known),
        None if applied is None else sorted(applied),
        {
            migration_id: module.__name__.rsplit(".", 1)[-1]
            for migration_id, module in modules.items()
        },
    )


async def check_migrations(database: Database, options: DoctorOptions) -> CheckResult:
    known, applied, names = await migration_ids()
    if applied is None:
        return CheckResult(
            "migrations",
            Status.FAIL,
            f"not migrated (no migration table; {len(known)} migrations to apply): "
            "run `opendialer db migrate`",
        )
    pending = sorted(set(known) - set(applied))
    unknown = sorted(set(applied) - set(known))
    if pending:
        return CheckResult(
            "migrations",
            Status.FAIL,
            f"{len(pending)} of {len(known)} migrations not applied "
            f"({', '.join(names.get(p, p) for p in pending)}): "
            "run `opendialer db migrate`",
        )
    if unknown:
        return CheckResult(
            "migrations",
            Status.WARN,
            f"the database has migrations this code does not know ({', '.join(unknown)}): "
            "a newer OpenDialer migrated it; run the same version on every node",
        )
    return CheckResult("migrations", Status.OK, f"all {len(known)} migrations applied")
