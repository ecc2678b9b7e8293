"""The dialing engine: node heartbeats, a campaign's routing target, one record per attempt.

Plain SQL that SQLite and PostgreSQL both accept (``TIMESTAMPTZ`` is the type
name Piccolo's SQLite converters recognise).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from opendialer.core.storage import piccolo_conf

ID = "2026-11-27T06:10:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "engine nodes, campaign routing target, unique attempt per lead"

STATEMENTS = [
    "CREATE TABLE IF NOT EXISTS engine_node ("
    " node_id VARCHAR(64) PRIMARY KEY,"
    " host VARCHAR(255) NOT NULL DEFAULT '',"
    " pid INTEGER NOT NULL DEFAULT 0,"
    " started_at TIMESTAMPTZ NOT NULL,"
    " heartbeat_at TIMESTAMPTZ NOT NULL,"
    " is_leader BOOLEAN NOT NULL DEFAULT FALSE)",
    "ALTER TABLE campaign ADD COLUMN routing_target VARCHAR(32) NULL DEFAULT NULL",
    # The database itself refuses a second record for the same attempt of a lead:
    # "never dialed twice for the same attempt" does not rest on the engine alone.
    "CREATE UNIQUE INDEX IF NOT EXISTS call_record_lead_attempt ON call_record (lead, attempt)",
    # Open (in-flight) records of a node, for crash reconciliation.
    "CREATE INDEX IF NOT EXISTS call_record_node_open ON call_record (node, status)",
]


async def apply() -> None:
    engine = piccolo_conf.DB
    for statement in STATEMENTS:
        await engine.run_ddl(statement)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="opendialer", description=DESCRIPTION)
    manager.add_raw(apply)
    return manager
