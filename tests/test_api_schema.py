"""Schemathesis against the served ``/schema/openapi.json``: requests generated from the
schema — valid ones and deliberately invalid ones — for every operation, as a Master
with a bearer token, must never get a 5xx. Runs on SQLite and PostgreSQL.

The app runs under uvicorn in a child process (as in production), on a free port, on
the test database; examples per operation are bounded so a run stays well under two
minutes. Operations that end the caller's own session (log-out, revoking tokens,
password resets) run last so they cannot cut the other operations short.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from asyncio.subprocess import Process
from pathlib import Path

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from opendialer.core.services import auth, groups, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database

EXAMPLES_PER_MODE = 6
#: Run last: each can end the Master's own token.
SELF_ENDING = (
    "/api/v1/users/{user_id}/password",
    "/api/v1/auth/tokens/{token_id}",
    "/api/v1/auth/logout",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _start_server(db_url: str, tmp_path: Path) -> tuple[Process, str, Path]:
    port = _free_port()
    log = tmp_path / "server.log"
    env = dict(os.environ, OPENDIALER_DATABASE_URL=db_url, OPENDIALER_DATA_DIR=str(tmp_path))
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "opendialer.admin_ui.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if proc.returncode is not None:
                raise AssertionError(f"the server exited: {log.read_text()[-3000:]}")
            try:
                if (await client.get(f"{base_url}/healthz")).status_code == 200:
                    return proc, base_url, log
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    proc.kill()
    raise AssertionError(f"the server did not start in 30 s: {log.read_text()[-3000:]}")


def _fuzz(base_url: str, token: str) -> tuple[int, int, list[str]]:
    """Every operation, valid and invalid inputs; returns (requests sent, 2xx answers,
    5xx seen)."""
    schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: SELF_ENDING.index(op.path) if op.path in SELF_ENDING else -1)
    headers = {"Authorization": f"Bearer {token}"}
    server_errors: list[str] = []
    sent = succeeded = 0

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_MODE,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: schemathesis.Case) -> None:
                nonlocal sent, succeeded
                response = case.call(base_url=base_url, headers=headers, timeout=30)
                sent += 1
                succeeded += response.status_code < 300
                if response.status_code >= 500:
                    server_errors.append(
                        f"{case.method} {case.formatted_path} query={case.query} "
                        f"body={case.body!r:.300} -> {response.status_code} {response.text[:300]}"
                    )

            try:
                run()
            except Unsatisfiable:
                # Nothing in this operation can be made invalid (e.g. no parameters).
                if mode is GenerationMode.POSITIVE:
                    raise
    return sent, succeeded, server_errors


async def test_generated_requests_never_get_a_server_error(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    # Something to find: a group with a campaign administrator, and the Master itself.
    group = await groups.create_group(SYSTEM, {"name": "fuzz-group"})
    await users.create_user(
        SYSTEM,
        {
            "username": "fuzz-admin",
            "password": "correct-horse-battery",
            "role": "campaign_admin",
            "group_ids": [group["id"]],
        },
    )
    master = await users.create_master("fuzz-master", "correct-horse-battery")
    token = (await auth.issue(await users.actor_for(master["id"]), auth.BEARER)).token

    proc, base_url, log = await _start_server(db_url, tmp_path)
    try:
        sent, succeeded, server_errors = await asyncio.to_thread(_fuzz, base_url, token)
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    assert sent > 100, f"only {sent} requests were generated"
    # Not a run of 401s: the Master's token got in and real work was done.
    assert succeeded > 20, f"only {succeeded} of {sent} requests succeeded"
    assert not server_errors, (
        f"{len(server_errors)} of {sent} generated requests got a 5xx:\n"
        + "\n".join(server_errors[:20])
        + f"\n--- server log ---\n{log.read_text()[-4000:]}"
    )
