"""Indexes of the hot queries, composite unique constraints, and the seed rows.

Piccolo runs a migration's raw steps before its table steps, so these live in a
migration of their own, after the tables exist.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from opendialer.core.storage import piccolo_conf

ID = "2026-11-27T05:32:48:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes and seed rows"


# Composite unique constraints and the indexes of the hot queries: due leads of
# a campaign, leads by status, call records by campaign and time. Plain SQL that
# SQLite and PostgreSQL both accept.
INDEXES = [
    'CREATE UNIQUE INDEX IF NOT EXISTS user_group_member ON user_group ("user", "group")',
    "CREATE UNIQUE INDEX IF NOT EXISTS schedule_campaign_date ON schedule (campaign, date)",
    "CREATE UNIQUE INDEX IF NOT EXISTS lead_campaign_phone ON lead (campaign, phone)",
    "CREATE INDEX IF NOT EXISTS lead_due ON lead (campaign, next_attempt_at)",
    "CREATE INDEX IF NOT EXISTS lead_campaign_status ON lead (campaign, status)",
    "CREATE INDEX IF NOT EXISTS lead_lease ON lead (lease_until)",
    "CREATE INDEX IF NOT EXISTS call_record_campaign_time ON call_record (campaign, created_at)",
    "CREATE INDEX IF NOT EXISTS call_record_lead ON call_record (lead, attempt)",
    "CREATE INDEX IF NOT EXISTS call_record_open ON call_record (status, node)",
    "CREATE UNIQUE INDEX IF NOT EXISTS dnc_number_service_number ON dnc_number (service, number)",
    'CREATE INDEX IF NOT EXISTS api_token_user ON api_token ("user")',
]


async def create_indexes() -> None:
    engine = piccolo_conf.DB
    for statement in INDEXES:
        await engine.run_ddl(statement)


async def seed_defaults() -> None:
    engine = piccolo_conf.DB
    await engine.run_ddl(
        "INSERT INTO dialer_group (name, description, enabled, created_at) "
        "VALUES ('Default Dialer Group', 'Created at installation', TRUE, CURRENT_TIMESTAMP)"
    )
    await engine.run_ddl(
        "INSERT INTO dnc_service (name, kind, url, ca_bundle, timeout_ms, insecure, builtin, "
        "options, list_version, created_at, updated_at) VALUES ('Embedded Service', 'embedded', "
        "NULL, NULL, 2000, FALSE, TRUE, '{}', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="opendialer", description=DESCRIPTION)
    manager.add_raw(create_indexes)
    manager.add_raw(seed_defaults)
    return manager
