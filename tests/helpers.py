"""Test helpers shared by the test modules (not fixtures: plain functions)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from opendialer.core.storage import Database

#: Child tables first, so deleting never trips a foreign key.
DATA_TABLES = [
    "call_record",
    "lead",
    "schedule",
    "campaign",
    "api_token",
    "user_group",
    "dialer_user",
    "dnc_snapshot",
    "dnc_number",
    "setting",
    "engine_node",
    "login_failure",
    "platform_port_lease",
    "routing_reservation",
    "routing_waiter",
]

OPENDIALER = [sys.executable, "-m", "opendialer.cli"]


async def reset_database(db: Database) -> None:
    """Delete every row a test may have made; keep the migration's seed rows."""
    for table in DATA_TABLES:
        await db.engine.run_ddl(f"DELETE FROM {table}")
    await db.engine.run_ddl("DELETE FROM dnc_service WHERE builtin = FALSE")
    await db.engine.run_ddl("UPDATE dnc_service SET list_version = 0, replaced_in = 0")
    # the seeded group is the first one; a test may have renamed it (its name is data)
    await db.engine.run_ddl(
        "DELETE FROM dialer_group WHERE id <> (SELECT MIN(id) FROM dialer_group)"
    )
    await db.engine.run_ddl(
        "UPDATE dialer_group SET name = 'Default Dialer Group',"
        " description = 'Created at installation', enabled = TRUE"
    )
    await clear_audit_trail(db)


async def clear_audit_trail(db: Database) -> None:
    """Empty the append-only ``audit_event`` the way only its owner can: its guard
    triggers set aside for the delete and put back (m0014), as a DBA purging old rows would."""
    from opendialer.core.storage.migrations import m0014_audit_trail as m0014

    if not await db.engine.run_ddl("SELECT 1 FROM audit_event LIMIT 1"):
        return
    if db.is_postgres:
        await db.engine.run_ddl(  # one statement: the guard is never left off
            "DO $$ BEGIN ALTER TABLE audit_event DISABLE TRIGGER USER;"
            " DELETE FROM audit_event; ALTER TABLE audit_event ENABLE TRIGGER USER; END $$"
        )
        return
    await db.engine.run_ddl("DROP TRIGGER audit_event_no_update")
    await db.engine.run_ddl("DROP TRIGGER audit_event_no_delete")
    await db.engine.run_ddl("DELETE FROM audit_event")
    for statement in m0014.SQLITE_GUARD:
        await db.engine.run_ddl(statement)


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    input: str | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``opendialer ARGS`` as a user would, in a child process."""
    return subprocess.run(
        [*OPENDIALER, *args],
        env=env if env is not None else dict(os.environ),
        input=input,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )
