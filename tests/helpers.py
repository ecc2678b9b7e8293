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
    await db.engine.run_ddl("DELETE FROM dialer_group WHERE name <> 'Default Dialer Group'")
    await db.engine.run_ddl("UPDATE dialer_group SET enabled = TRUE")


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
