"""When each campaign was last started (the Summary's "Starting" grace).

- ``campaign.started_at``: set by Start (core/services/campaign_states.py) and by
  nothing else, unlike ``updated_at``, which a running campaign's compliance policy
  change also moves. The Summary's pacing card reads it: a campaign started a few
  seconds ago that no engine has paced yet is *starting*, not unpaced
  (core/services/pacing_summary.py). NULL: not started since this migration.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from opendialer.core.storage import piccolo_conf

ID = "2026-12-14T15:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "Campaign start time"

STATEMENTS = [
    "ALTER TABLE campaign ADD COLUMN started_at TIMESTAMPTZ NULL DEFAULT NULL",
]


async def apply() -> None:
    engine = piccolo_conf.DB
    for statement in STATEMENTS:
        await engine.run_ddl(statement)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="opendialer", description=DESCRIPTION)
    manager.add_raw(apply)
    return manager
