"""When each Do-Not-Call list was last imported (issue 18: DNC data age).

- ``dnc_service.list_updated_at``: set by every import into an embedded list, in the
  transaction that bumps its ``list_version``; the embedded provider reports it as its
  verdicts' ``list_date``, so a campaign whose compliance policy sets
  ``dnc_max_age_days`` is not dialed against an older list. NULL: never imported since
  this migration (its age is unknown: such a campaign waits, DNC out of service, until
  the list is imported again).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from opendialer.core.storage import piccolo_conf

ID = "2026-12-07T15:00:00:000003"
VERSION = "1.38.0"
DESCRIPTION = "DNC list import time"

STATEMENTS = [
    "ALTER TABLE dnc_service ADD COLUMN list_updated_at TIMESTAMPTZ NULL DEFAULT NULL",
]


async def apply() -> None:
    engine = piccolo_conf.DB
    for statement in STATEMENTS:
        await engine.run_ddl(statement)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="opendialer", description=DESCRIPTION)
    manager.add_raw(apply)
    return manager
