"""Substring search over a campaign's leads (``?q=``) without a table scan.

``name ILIKE '%mar%'`` cannot use a B-tree index, so on a 1,000,000-lead campaign
every search read the whole table (p50 0.9 s). PostgreSQL's ``pg_trgm`` GIN indexes
answer ``ILIKE``/``LIKE`` with a leading wildcard from the index. ``pg_trgm`` is a
trusted extension (PostgreSQL 13+): the database owner may create it. Where it
cannot be created (older server, restricted role) the migration logs why and the
search keeps working, by scanning. SQLite has no equivalent; its search scans.
"""

import logging

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.querystring import QueryString

from opendialer.core.storage import piccolo_conf

ID = "2026-11-27T09:10:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "trigram indexes for the lead search (PostgreSQL)"

log = logging.getLogger(__name__)

POSTGRES_STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS lead_name_trgm ON lead USING gin (name gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS lead_phone_trgm ON lead USING gin (phone gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS lead_description_trgm ON lead USING gin (description gin_trgm_ops)",
]


CAN_CREATE_TRGM = (
    "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') AS installed,"
    " EXISTS (SELECT 1 FROM pg_available_extension_versions"
    "  WHERE name = 'pg_trgm' AND (trusted OR"
    "  (SELECT rolsuper FROM pg_roles WHERE rolname = current_user))) AS creatable,"
    " has_database_privilege(current_database(), 'CREATE') AS may_create"
)


async def apply() -> None:
    engine = piccolo_conf.DB
    if engine.engine_type != "postgres":
        return
    # Asked first rather than tried: a failed CREATE EXTENSION would abort the
    # migration's transaction, and the rest of the schema with it.
    [row] = await engine.run_querystring(QueryString(CAN_CREATE_TRGM))
    if not row["installed"] and not (row["creatable"] and row["may_create"]):
        log.warning(
            "lead search: this database role cannot create the pg_trgm extension, so "
            "searches over a campaign's leads will scan. A superuser can run "
            "CREATE EXTENSION pg_trgm; followed by the statements in docs/api.md "
            "(section 'Lead search')."
        )
        return
    await engine.run_ddl("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for statement in POSTGRES_STATEMENTS:
        await engine.run_ddl(statement)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="opendialer", description=DESCRIPTION)
    manager.add_raw(apply)
    return manager
