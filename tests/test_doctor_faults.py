"""``opendialer doctor`` on the faults its first tests did not reach, each through a
public seam: the kernel clock's reader (patched in the child process before the CLI
runs), a database server whose ``clock_timestamp()`` is skewed (a real function in
the test database, found first through the connection's ``search_path``), a plugin
installed through the entry-point door a third party uses (a ``.dist-info`` on the
child's path) that fails to import, DNC providers that do not start or do not
answer, certificates named by DNC services and routing targets, and a database
nobody migrated (which the doctor must leave untouched)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from doctor_support import certificate
from test_doctor import doctor, lines_of

from opendialer.core import dnc, health
from opendialer.core.storage import Database
from opendialer.core.storage.tables import DncService
from opendialer.sdk.contracts import DncVerdict, Health
from opendialer.sdk.hookspecs import hookimpl
from opendialer.testing import registered_plugin

pytestmark = pytest.mark.timeout(180)


async def patched_doctor(
    env: dict[str, str], synced: bool, *args: str
) -> tuple[int, list[dict[str, Any]]]:
    """``opendialer doctor --json ARGS`` in a child process whose kernel-clock reader
    (``health.clock.kernel_sync``, adjtimex) answers ``synced``."""
    code = (
        "import opendialer.core.health.clock as clock;"
        f"clock.kernel_sync = lambda: ({synced}, 'adjtimex (as the test says)');"
        "from opendialer.cli import main; main()"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, "doctor", "--json", *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None, err
    return process.returncode, json.loads(out.decode())["checks"]


async def test_an_unsynchronised_kernel_clock_fails(db: Database, cli_env: dict[str, str]) -> None:
    code, checks = await patched_doctor(cli_env, False, "--check", "clock")
    node = next(c for c in checks if c["subject"] == "this node")
    assert node["status"] == "fail" and code == 1
    assert node["message"].startswith("adjtimex (as the test says): ")
    assert "calling hours" in node["message"] and "run an NTP client" in node["message"]

    code, checks = await patched_doctor(cli_env, True, "--check", "clock")
    assert [c["status"] for c in checks] == ["ok", "ok"] and code == 0


@pytest.fixture
async def skewed_server_clock(db: Database, db_url: str) -> AsyncIterator[Any]:
    """``set_skew(seconds)``: the test database's ``public.clock_timestamp()`` runs that
    far ahead of the real one; the URL returned reaches it first (``search_path``)."""
    if not db.is_postgres:
        pytest.skip("SQLite has no database server clock")

    async def set_skew(seconds: float) -> str:
        await db.engine.run_ddl(
            "CREATE OR REPLACE FUNCTION public.clock_timestamp() RETURNS timestamptz "
            "LANGUAGE sql AS $$ SELECT pg_catalog.clock_timestamp() "
            f"+ interval '{seconds} seconds' $$"
        )
        # asyncpg passes unknown URL parameters on as server settings
        return f"{db_url}?search_path=public,pg_catalog"

    try:
        yield set_skew
    finally:
        await db.engine.run_ddl("DROP FUNCTION IF EXISTS public.clock_timestamp()")


@pytest.mark.pg
async def test_database_server_clock_skew_warns_then_fails(
    skewed_server_clock: Any, cli_env: dict[str, str]
) -> None:
    env = {**cli_env, "OPENDIALER_DATABASE_URL": await skewed_server_clock(60)}
    code, checks = await patched_doctor(env, True, "--check", "clock")
    server = next(c for c in checks if c["subject"] == "database server")
    assert server["status"] == "fail" and code == 1
    # the shadowing function's offset is exact, the round trip is not: 59.999 s or 60.0 s
    behind = re.search(r"this node is ([0-9.]+) s behind the", server["message"])
    assert behind and abs(float(behind.group(1)) - 60.0) < 0.05, server["message"]
    assert "leases and node heartbeats will misjudge" in server["message"]

    env["OPENDIALER_DATABASE_URL"] = await skewed_server_clock(-3)
    code, checks = await patched_doctor(env, True, "--check", "clock")
    server = next(c for c in checks if c["subject"] == "database server")
    assert server["status"] == "warn" and code == 0
    ahead = re.search(r"this node is ([0-9.]+) s ahead of the", server["message"])
    assert ahead and abs(float(ahead.group(1)) - 3.0) < 0.05, server["message"]
    code, _ = await patched_doctor(env, True, "--check", "clock", "--strict")
    assert code == 1


def installed_broken_plugin(tmp_path: Path) -> tuple[str, str]:
    """A distribution on a directory of the path, as ``pip install`` leaves one: its
    ``.dist-info`` declares an ``opendialer`` entry point whose module cannot import.
    (entry point name, the directory to put on PYTHONPATH)"""
    tag = secrets.token_hex(3)
    name = f"doctor_broken_{tag}"
    root = tmp_path / "site"
    info = root / f"opendialer_doctor_broken_{tag}-1.0.dist-info"
    info.mkdir(parents=True)
    (root / f"{name}.py").write_text("raise ImportError('needs libfoo')\n")
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: opendialer-doctor-broken-{tag}\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(f"[opendialer]\n{name} = {name}\n")
    return name, str(root)


async def test_a_plugin_that_fails_to_load_fails_naming_it(
    db: Database, cli_env: dict[str, str], tmp_path: Path
) -> None:
    name, site = installed_broken_plugin(tmp_path)
    path = os.pathsep.join(p for p in (site, cli_env.get("PYTHONPATH", "")) if p)
    env = {**cli_env, "PYTHONPATH": path}
    code, checks, err = await doctor(env, "--check", "plugins")
    assert code == 1, (checks, err)
    loaded, broken = checks
    assert loaded["status"] == "ok" and "route_oscc" in loaded["message"]  # the rest load
    assert broken["name"] == f"plugins: {name}" and broken["status"] == "fail"
    assert "did not load (opendialer-doctor-broken-" in broken["message"]  # its distribution
    assert "ImportError: needs libfoo" in broken["message"]
    assert f"OPENDIALER_DISABLE_PLUGINS={name}" in broken["message"]

    code, checks, _ = await doctor(
        {**env, "OPENDIALER_DISABLE_PLUGINS": name}, "--check", "plugins"
    )
    assert code == 0 and [c["status"] for c in checks] == ["ok"]  # the fix it names works


class _NeverStarts:
    """A DNC provider whose start never ends (a list that never finishes loading)."""

    def __init__(self, config: Any, context: Any) -> None:
        self.config = config

    async def start(self) -> None:
        await asyncio.Event().wait()

    async def close(self) -> None:
        return None

    async def check(self, number: str) -> DncVerdict:
        raise AssertionError("never started")

    def health(self) -> Health:
        return Health(True, "started")


class _NeverAnswers(_NeverStarts):
    """Starts at once; its lookups never answer."""

    async def start(self) -> None:
        return None

    async def check(self, number: str) -> DncVerdict:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class _SlowDncPlugin:
    @hookimpl
    def register_dnc_providers(self) -> dict[str, Any]:
        return {"never_starts": _NeverStarts, "never_answers": _NeverAnswers}


async def test_dnc_timeouts_name_the_bound_that_ran_out(db: Database) -> None:
    for name, kind in (("Loading", "never_starts"), ("Silent", "never_answers")):
        await DncService(name=name, kind=kind, timeout_ms=500, options={}).save().run()
    options = health.DoctorOptions(timeout_s=0.5, dnc_start_timeout_s=1.5)
    try:
        with registered_plugin(_SlowDncPlugin(), "doctor_slow_dnc"):
            results = await health.run_checks(db, options, only=["dnc"])
    finally:
        await dnc.close_all()
    by_subject = {r.subject: r for r in results}
    loading, silent = by_subject["Loading"], by_subject["Silent"]
    # no campaign uses them: a warning, each naming its own bound
    assert loading.status is health.Status.WARN and silent.status is health.Status.WARN
    assert loading.message.startswith("did not start within 1.5 s (no campaign uses it)")
    assert silent.message.startswith("no answer to a lookup within 0.5 s (no campaign uses it)")


async def test_certificates_of_dnc_services_and_routing_targets_are_checked(
    db: Database, cli_env: dict[str, str], tmp_path: Path
) -> None:
    from opendialer.core.services import dnc_services, routing_config
    from opendialer.core.services.common import SYSTEM

    soon = await asyncio.to_thread(Path(certificate(tmp_path, "dnc-ca", days_left=10)).read_text)
    await dnc_services.create_service(
        SYSTEM,
        {"name": "Registry", "kind": "http", "url": "https://dnc.test/check", "ca_bundle": soon},
    )
    expired = certificate(tmp_path, "oscc-ca", days_left=-1)
    await routing_config.put(
        SYSTEM, "oscc", {"base_url": "https://oscc.test:9443/rest", "ca_bundle": expired}
    )
    code, checks, _ = await doctor(cli_env, "--check", "tls")
    assert code == 1
    by_name = {c["name"]: c for c in lines_of(checks, "tls")}
    dnc_line = by_name["tls: DNC Registry ca_bundle"]
    assert dnc_line["status"] == "warn"
    assert "the CA bundle stored with the service expires on" in dnc_line["message"]
    assert "in 10 days: renew it (Do-Not-Call → Services → Registry" in dnc_line["message"]
    oscc_line = by_name["tls: routing oscc ca_bundle"]
    assert oscc_line["status"] == "fail"
    assert f"{expired} expired on" in oscc_line["message"]
    assert "option ca_bundle of routing target oscc" in oscc_line["message"]

    await routing_config.put(
        SYSTEM,
        "oscc",
        {
            "base_url": "https://oscc.test:9443/rest",
            "ca_bundle": certificate(tmp_path, "renewed", days_left=300),
        },
    )
    code, checks, _ = await doctor(cli_env, "--check", "tls")
    assert code == 0 and sorted(c["status"] for c in checks) == ["ok", "warn"]


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture
async def empty_database(
    db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[str, Any]]:
    """(URL, async function listing its tables) of a database of the current backend
    that nobody migrated."""
    if db_url.startswith("sqlite"):
        path = tmp_path / "empty.sqlite"

        async def sqlite_tables() -> list[str]:
            with sqlite3.connect(path) as connection:
                rows = connection.execute("SELECT name FROM sqlite_master").fetchall()
            return [row[0] for row in rows]

        yield f"sqlite:///{path}", sqlite_tables
        return
    admin = request.getfixturevalue("postgres_admin_url")
    name = f"opendialer_empty_{secrets.token_hex(4)}"
    connection = await asyncpg.connect(admin, timeout=5)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    url = _with_database(admin, name)

    async def postgres_tables() -> list[str]:
        inside = await asyncpg.connect(url, timeout=5)
        try:
            rows = await inside.fetch(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            )
        finally:
            await inside.close()
        return [row["table_name"] for row in rows]

    try:
        yield url, postgres_tables
    finally:
        connection = await asyncpg.connect(admin, timeout=5)
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


@pytest.mark.pg
async def test_a_database_nobody_migrated_is_reported_and_left_empty(
    empty_database: tuple[str, Any], cli_env: dict[str, str]
) -> None:
    url, tables = empty_database
    code, checks, err = await doctor({**cli_env, "OPENDIALER_DATABASE_URL": url}, "--timeout", "2")
    assert code == 1, (checks, err)
    assert lines_of(checks, "database")[0]["status"] == "ok"
    [migrations] = lines_of(checks, "migrations")
    assert migrations["status"] == "fail"
    assert migrations["message"].startswith("not migrated")
    assert migrations["message"].endswith("run `opendialer db migrate`")
    # the checks that need tables say why they fail
    assert "apply the pending migrations first" in lines_of(checks, "dnc")[0]["message"]
    assert await tables() == []  # a health check writes nothing, not even Piccolo's table
