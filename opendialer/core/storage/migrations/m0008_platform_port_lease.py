"""Dialer ports shared between engine nodes: one lease row per SIP account.

Several engine nodes on one PostgreSQL read the same stored platform
configuration. Without leases every node registered every account (each
REGISTER overwrote the other's Contact) and two nodes could place two calls on
one port. A row says which live node owns a port until ``expires_at`` (the
database's clock); the primary key makes "one node per port" a database rule.
SQLite is single-node and never writes it; the table exists there too so both
schemas stay the same.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from opendialer.core.storage import piccolo_conf

ID = "2026-11-27T10:10:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "SIP dialer ports leased by one engine node each"

TIMESTAMP = {"postgres": "TIMESTAMPTZ", "sqlite": "TIMESTAMP"}


async def apply() -> None:
    engine = piccolo_conf.DB
    await engine.run_ddl(
        "CREATE TABLE IF NOT EXISTS platform_port_lease ("
        " port VARCHAR(64) PRIMARY KEY,"
        " node_id VARCHAR(64) NOT NULL,"
        f" expires_at {TIMESTAMP[engine.engine_type]} NOT NULL)"
    )
    await engine.run_ddl(
        "CREATE INDEX IF NOT EXISTS platform_port_lease_node ON platform_port_lease (node_id)"
    )


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="opendialer", description=DESCRIPTION)
    manager.add_raw(apply)
    return manager
