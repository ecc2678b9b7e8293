"""Failed log-ins in the database, so every web node counts the same failures.

The throttle was per process: with N web nodes behind a load balancer an attacker
got N times the limit. One narrow table (key, time) with an index on both.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from opendialer.core.storage import piccolo_conf

ID = "2026-11-27T09:40:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "failed log-ins shared by every node"

ID_COLUMN = {
    "postgres": "id SERIAL PRIMARY KEY",
    "sqlite": "id INTEGER PRIMARY KEY AUTOINCREMENT",
}


async def apply() -> None:
    engine = piccolo_conf.DB
    await engine.run_ddl(
        f"CREATE TABLE IF NOT EXISTS login_failure ({ID_COLUMN[engine.engine_type]},"
        " key VARCHAR(320) NOT NULL, at DOUBLE PRECISION NOT NULL)"
    )
    await engine.run_ddl(
        "CREATE INDEX IF NOT EXISTS login_failure_key_at ON login_failure (key, at)"
    )


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="opendialer", description=DESCRIPTION)
    manager.add_raw(apply)
    return manager
