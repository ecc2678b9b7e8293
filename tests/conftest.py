"""Shared fixtures: a database per backend (SQLite and PostgreSQL), reset per test; the tiers.

A test that uses ``db`` (or ``db_url``, ``database``, ``cli_env``, ``app_client``,
``live_server``) runs on SQLite. A test marked ``pg`` — one whose outcome depends on
the database: storage, claims and leases, several nodes, LISTEN/NOTIFY, bulk DNC
storage, routing reservations, dialect-specific queries — runs on SQLite and on
PostgreSQL (ids ``[sqlite]`` and ``[postgres]``; the PostgreSQL half also carries
the ``postgres`` marker). A new test file therefore runs on SQLite only until it is
marked: ``pytestmark = pytest.mark.pg``. The tiers are in README.md ("Testing").

PostgreSQL comes from ``OPENDIALER_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``); a fresh database is created for the
session and dropped at the end. Without a reachable server the PostgreSQL half is
skipped with the reason — except under ``CI=true``, where that fails the run.

Markers ``browser`` (any test that uses Chromium) and ``pg`` are applied here too;
``sip`` (SIPp on the wire) and ``slow`` are on the test modules.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from opendialer.core.storage import Database, connect
from opendialer.core.storage.migrate import migrate

sys.path.insert(0, str(Path(__file__).parent))

from api_client import app_cache, app_client  # noqa: F401  (the JSON API test client fixtures)
from helpers import reset_database
from sip_scripted_far_end import far_end  # noqa: F401  (the scripted SIP far end fixture)

# Cheap argon2 for the test run: suites create hundreds of users. Hashes record
# their own costs, so nothing else changes (see core/services/passwords.py).
os.environ.setdefault("OPENDIALER_ARGON2_TIME_COST", "1")
os.environ.setdefault("OPENDIALER_ARGON2_MEMORY_KIB", "1024")

PG_URL_ENV = "OPENDIALER_TEST_POSTGRES_URL"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgres"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every database test runs on SQLite; a ``pg`` test on PostgreSQL too."""
    if "db_url" not in metafunc.fixturenames:
        return
    backends = BACKENDS if metafunc.definition.get_closest_marker("pg") else ["sqlite"]
    metafunc.parametrize("db_url", backends, indirect=True, scope="session")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what the tiers select by: the PostgreSQL half, and every test that uses Chromium."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("db_url") == "postgres":
            item.add_marker(pytest.mark.postgres)
        if "chromium_executable" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _create_pg_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_pg_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    return os.environ.get(PG_URL_ENV, PG_DEFAULT)


@pytest.fixture(scope="session")
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated-on-first-use database URL of the backend ``pytest_generate_tests`` chose,
    fresh for this test session."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'opendialer.sqlite'}"
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    name = f"opendialer_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        asyncio.run(_create_pg_database(admin_url, name))
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL not reachable at {admin_url}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true requires PostgreSQL)", pytrace=False)
        pytest.skip(reason)
    try:
        yield _with_database(admin_url, name)
    finally:
        asyncio.run(_drop_pg_database(admin_url, name))


@pytest.fixture(scope="session")
async def database(db_url: str) -> AsyncIterator[Database]:
    db = await connect(db_url)
    await migrate(db)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
async def db(database: Database) -> AsyncIterator[Database]:
    """The session's database of the current backend, emptied back to its seed rows."""
    from opendialer.core.storage import bind

    bind(database.engine)  # another backend's fixture may have bound its engine last
    await reset_database(database)
    yield database


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for running the ``opendialer`` CLI against the test database."""
    env = dict(os.environ)
    env["OPENDIALER_DATABASE_URL"] = db_url
    env["OPENDIALER_DATA_DIR"] = str(tmp_path / "data")
    env.pop("OPENDIALER_DISABLE_PLUGINS", None)
    # the first Master's language follows the shell's locale: the same on every machine
    for name in ("LC_ALL", "LC_MESSAGES"):
        env.pop(name, None)
    env["LANG"] = "C.UTF-8"
    return env


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say plainly which backends and far ends the run exercised (CI must show PostgreSQL ran)."""
    counts: dict[str, dict[str, int]] = {}
    kinds = ("sqlite", "postgres", "sip", "browser")
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            keywords = getattr(report, "keywords", {}) or {}
            params = nodeid.rpartition("[")[2].rstrip("]").split("-") if "[" in nodeid else []
            for kind in kinds:
                if kind in params or (kind in ("sip", "browser") and kind in keywords):
                    counts.setdefault(kind, {}).setdefault(outcome, 0)
                    counts[kind][outcome] += 1
    terminalreporter.write_sep("-", "backends and far ends exercised")
    for kind in kinds:
        seen = counts.get(kind, {})
        text = ", ".join(f"{n} {o}" for o, n in sorted(seen.items())) or "none"
        terminalreporter.write_line(f"{kind:>9}: {text}")
