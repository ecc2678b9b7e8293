"""Each node's unresolved calls in its ``pacing_decision`` row, for the fair share.

``unresolved``: the node's calls of the campaign launched and not yet with an agent nor
ended, when its decision was stored; ``unresolved_among``: the fewest participants of
the fair share any of them was launched among. A node joining a campaign another
over-dials counts that other's calls beyond its share as its own
(``core/engine/fair_share.py``, ``docs/pacing.md``). Rows written before this
migration read as no unresolved call.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from opendialer.core.storage import piccolo_conf

ID = "2026-12-07T08:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "pacing decision: unresolved calls"

STATEMENTS = [
    "ALTER TABLE pacing_decision ADD COLUMN unresolved INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE pacing_decision ADD COLUMN unresolved_among INTEGER NOT NULL DEFAULT 1",
]


async def apply() -> None:
    engine = piccolo_conf.DB
    for statement in STATEMENTS:
        await engine.run_ddl(statement)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="opendialer", description=DESCRIPTION)
    manager.add_raw(apply)
    return manager
