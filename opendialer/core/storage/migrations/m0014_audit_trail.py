"""The audit trail: ``audit_event``, append-only, one row per decision that matters
for compliance (``docs/audit.md``).

Each row is written in the same transaction as the state it explains (the call
record, the lead): a DNC check and its answer, an attempt started, answered and
ended (AMD verdict, disposition), an abandoned call and its safe-harbour message,
a lead deferred by a policy. ``detail`` holds the facts as a JSON object (text).

No foreign key: the rows outlive the campaign and the lead they speak of (a
compliance officer asks for them after the campaign is deleted), so the campaign's
name is kept beside its id. Append-only is a database rule on both backends:
triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL). Nothing in the
product changes a row; a DBA who must purge old rows drops the triggers for it,
on purpose.

``(campaign, at)`` is indexed: the export and the Summary page read a campaign's
rows by time.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.postgres import PostgresEngine

from opendialer.core.storage import piccolo_conf

ID = "2026-12-07T15:00:00:000002"
VERSION = "1.38.0"
DESCRIPTION = "audit trail (append-only)"

#: The refusal both backends give (tests and docs quote it).
REFUSAL = "audit_event is append-only"


def _table(id_column: str) -> str:
    return (
        "CREATE TABLE IF NOT EXISTS audit_event ("
        f" id {id_column},"
        " at TIMESTAMPTZ NOT NULL,"
        " campaign INTEGER NOT NULL,"
        " campaign_name VARCHAR(100) NOT NULL DEFAULT '',"
        " lead INTEGER NULL,"
        " attempt INTEGER NULL,"
        " call_id VARCHAR(64) NULL,"
        " number VARCHAR(20) NOT NULL DEFAULT '',"
        " kind VARCHAR(32) NOT NULL,"
        " node VARCHAR(64) NOT NULL DEFAULT '',"
        " detail TEXT NOT NULL DEFAULT '{}')"
    )


INDEX = "CREATE INDEX IF NOT EXISTS audit_event_campaign_at ON audit_event (campaign, at, id)"

POSTGRES_GUARD = [
    "CREATE OR REPLACE FUNCTION audit_event_refuse() RETURNS trigger LANGUAGE plpgsql AS $$"
    f" BEGIN RAISE EXCEPTION '{REFUSAL}: % refused', TG_OP"
    " USING ERRCODE = 'insufficient_privilege'; END $$",
    "DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event",
    "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event"
    " FOR EACH ROW EXECUTE FUNCTION audit_event_refuse()",
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event",
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event"
    " FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse()",
]

SQLITE_GUARD = [
    "CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event"
    f" BEGIN SELECT RAISE(ABORT, '{REFUSAL}: UPDATE refused'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event"
    f" BEGIN SELECT RAISE(ABORT, '{REFUSAL}: DELETE refused'); END",
]


def statements(postgres: bool) -> list[str]:
    """The DDL of this migration for one backend (the test suite's reset reuses the guard)."""
    if postgres:
        return [_table("BIGSERIAL PRIMARY KEY"), INDEX, *POSTGRES_GUARD]
    # AUTOINCREMENT: an id is never given twice, even after the last row went.
    return [_table("INTEGER PRIMARY KEY AUTOINCREMENT"), INDEX, *SQLITE_GUARD]


async def apply() -> None:
    engine = piccolo_conf.DB
    for statement in statements(isinstance(engine, PostgresEngine)):
        await engine.run_ddl(statement)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="opendialer", description=DESCRIPTION)
    manager.add_raw(apply)
    return manager
