"""A call record's detail as a code: ``call_record.detail_code`` and ``detail_params``.

The call log showed a record's ``detail`` (an English sentence a platform wrote) by
matching it against regular expressions. Platforms now give a code and its values
(``CallOutcome.detail_code``/``detail_params``): the call log shows the code's sentence
in the viewer's language. Both columns are NULL for older records, which keep their
English ``detail``. ``detail_params`` is a JSON object of text values, typed as the
table's other JSON columns (``JSON``: PostgreSQL's json, text on SQLite).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from opendialer.core.storage import piccolo_conf

ID = "2026-12-07T06:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "call record detail code and parameters"

STATEMENTS = [
    "ALTER TABLE call_record ADD COLUMN detail_code VARCHAR(100) NULL DEFAULT NULL",
    "ALTER TABLE call_record ADD COLUMN detail_params JSON NULL DEFAULT NULL",
]


async def apply() -> None:
    engine = piccolo_conf.DB
    for statement in STATEMENTS:
        await engine.run_ddl(statement)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="opendialer", description=DESCRIPTION)
    manager.add_raw(apply)
    return manager
