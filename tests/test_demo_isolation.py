"""`opendialer demo` keeps its own data directory, which `--reset` empties; `serve`
refuses a database the demo seeded (a published password never reaches production);
the demo's Diagnostics judges the simulator it dials with.
Every command runs in a child process, as an admin would type it."""

from __future__ import annotations

import html
import json
import re
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import reset_database, run_cli
from process_support import Running, clean_env, free_port, instance_of, log_in, start, stop

from opendialer.core.demo import DEMO_PASSWORD
from opendialer.core.services import installation, users
from opendialer.core.storage import Database
from opendialer.core.storage.tables import Campaign, Setting

pytestmark = pytest.mark.timeout(240)

ROW = re.compile(
    r'<tr class="health-(\w+)">\s*<td>(.*?)</td>\s*<td[^>]*>.*?</td>\s*<td class="muted"[^>]*>(.*?)</td>',
    re.S,
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, Path]]:
    """One ``opendialer demo`` for the module, with a data directory of its own."""
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    running = start(["demo"], clean_env(data_dir), data_dir.parent / "demo.out")
    try:
        yield running, data_dir
    finally:
        stop(running)


def test_demo_keeps_its_data_apart_and_says_where(demo: tuple[Running, Path]) -> None:
    running, data_dir = demo
    own = data_dir / "demo"
    assert f"Demo data in {own}; `opendialer demo --reset` starts clean" in running.text()
    assert (own / "opendialer.sqlite").is_file()
    assert not (data_dir / "opendialer.sqlite").exists()  # `serve`'s default: untouched
    instance = instance_of(own / "opendialer.sqlite")
    assert [p.name for p in (own / "logs").iterdir()] == [
        f"opendialer-{instance}-all-{socket.gethostname()}.log"
    ]


def test_demo_diagnostics_judge_the_simulator_it_dials_with(demo: tuple[Running, Path]) -> None:
    running, _ = demo
    master = log_in(running.base, "master", DEMO_PASSWORD)
    try:
        page = master.get("/system/health")
    finally:
        master.close()
    assert page.status_code == 200
    rows = {
        html.unescape(title): (status, html.unescape(message))
        for status, title, message in ROW.findall(page.text)
    }
    assert rows["SIP registrations"] == ("ok", "not in use: the engine's platform is 'sim'")
    assert "no communication platform chosen" not in page.text


def test_demo_platform_page_says_the_simulator_is_in_use(demo: tuple[Running, Path]) -> None:
    """The demo dials with the simulator because it is the stored choice: the page that
    changes it shows it chosen, not "no platform chosen"."""
    running, _ = demo
    master = log_in(running.base, "master", DEMO_PASSWORD)
    try:
        page = master.get("/system/platform")
        choice = master.get("/api/v1/platform/choice")
    finally:
        master.close()
    assert 'id="platform-sim" checked' in page.text
    assert 'id="platform-none"' not in page.text
    assert choice.json()["name"] == "sim"


def test_serve_refuses_the_demo_database_and_reset_starts_clean(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = clean_env(data_dir)
    first = start(["demo"], env, tmp_path / "first.out")
    stop(first)
    demo_db = data_dir / "demo" / "opendialer.sqlite"
    before = instance_of(demo_db)

    on_demo = {**env, "OPENDIALER_DATABASE_URL": f"sqlite:///{demo_db}"}
    refused = run_cli("serve", "--role", "web", "--port", str(free_port()), env=on_demo)
    assert refused.returncode == 1
    assert "this database was seeded by `opendialer demo`" in refused.stderr
    assert "Traceback" not in refused.stderr
    everywhere = run_cli(
        "serve", "--allow-demo-database", "--host", "0.0.0.0", "--role", "web", env=on_demo
    )
    assert everywhere.returncode == 1
    assert "on loopback only, not on '0.0.0.0'" in everywhere.stderr
    shown = start(["serve", "--role", "web", "--allow-demo-database"], on_demo, tmp_path / "s.out")
    stop(shown)  # on loopback, asked for explicitly: it runs

    (data_dir / "mine.txt").write_text("not the demo's\n")
    again = start(["demo", "--reset"], env, tmp_path / "again.out")
    stop(again)
    assert instance_of(demo_db) != before  # a new database, not the old one
    assert (data_dir / "mine.txt").exists()  # only the demo directory went
    with sqlite3.connect(demo_db) as conn:
        assert conn.execute("SELECT count(*) FROM dialer_user").fetchone() == (2,)


def test_reset_refuses_an_explicit_database(tmp_path: Path) -> None:
    env = {**clean_env(tmp_path / "data"), "OPENDIALER_DATABASE_URL": "sqlite:///x.sqlite"}
    result = run_cli("demo", "--reset", env=env)
    assert result.returncode == 1
    assert "--reset empties only the demo's own directory" in result.stderr
    assert not (tmp_path / "data" / "demo").exists()


async def test_serve_refuses_a_demo_database_on_either_backend(
    db: Database, cli_env: dict[str, str]
) -> None:
    await installation.mark_demo()
    try:
        result = run_cli("serve", "--role", "web", "--port", str(free_port()), env=cli_env)
        assert result.returncode == 1
        assert "seeded by `opendialer demo`" in result.stderr
    finally:
        # servers started later on the session's database (ui_browser) must not see it
        await Setting.delete().where(Setting.key == installation.DEMO_KEY).run()


async def test_serve_refuses_a_demo_database_from_before_the_mark(
    db: Database, cli_env: dict[str, str]
) -> None:
    """Before the mark, the demo seeded serve's default database: its logins give it away."""
    await users.create_master("master", DEMO_PASSWORD)
    try:
        result = run_cli("serve", "--role", "web", "--port", str(free_port()), env=cli_env)
        assert result.returncode == 1
        assert "user 'master' of this database still has the published password" in " ".join(
            result.stderr.split()
        )
    finally:
        await reset_database(db)  # servers started later on this database must start


async def test_demo_never_seeds_a_real_installation(db: Database, cli_env: dict[str, str]) -> None:
    """OPENDIALER_DATABASE_URL set for the demo: used only when empty or a demo one."""
    await users.create_master("admin", "a-real-password-1")
    result = run_cli("demo", "--port", str(free_port()), env=cli_env)
    assert result.returncode == 1
    assert "has users that `opendialer demo` did not create" in result.stderr
    assert not await installation.is_demo()
    assert await Campaign.count().run() == 0
    assert await Setting.count().where(Setting.key == installation.DEMO_KEY).run() == 0


def test_serve_on_a_database_never_migrated_says_what_to_do(tmp_path: Path) -> None:
    """`serve` reads the installation (and the demo mark) first: an empty database is
    one line naming the command, not a traceback."""
    result = run_cli("serve", "--role", "web", "--port", str(free_port()), env=clean_env(tmp_path))
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert "has no OpenDialer schema yet: run `opendialer db migrate` first" in message
    assert "Traceback" not in result.stderr


async def test_the_running_engines_platform_wins_over_stored_settings(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An engine in this process dialing with the simulator: the SIP line says so, even
    with OPENDIALER_PLATFORM=sip and a SIP configuration saved (nothing is probed)."""
    from opendialer.core import health
    from opendialer.core.services import platform_config

    monkeypatch.setenv("OPENDIALER_PLATFORM", "sip")
    stored = {"server": "192.0.2.1:5060", "ports": [{"user": "port001", "password": "x"}]}
    await Setting.insert(Setting(key=platform_config.key_of("sip"), value=json.dumps(stored))).run()
    options = health.DoctorOptions(timeout_s=0.5)
    before = await health.run_checks(db, options, only=["sip"])
    assert [r.status for r in before] != [health.Status.OK]  # probes 192.0.2.1: no answer
    health.note_engine_platform("sim", {})
    try:
        results = await health.run_checks(db, options, only=["sip"])
    finally:
        health.note_engine_platform(None)
    assert [(r.status, r.message) for r in results] == [
        (health.Status.OK, "not in use: the engine's platform is 'sim'")
    ]


async def test_the_demo_users_read_the_pages_in_the_operators_language(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As its campaign runs in the machine's time zone, the demo's pages open in the
    shell's language: a Mexican operator's demo is in Spanish from the first login."""
    from opendialer.core import demo as demo_seed

    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "es_MX.UTF-8")
    logins = await demo_seed.prepare_demo()
    assert {login.username for login in logins} >= {"master", "demo"}
    for username in ("master", "demo"):
        actor = await users.authenticate(username, DEMO_PASSWORD)
        assert (await users.me(actor))["language"] == "es"
    # its campaign is described in that language too (seeded data, not page text)
    [campaign] = await Campaign.select(Campaign.description).run()
    assert campaign["description"].startswith("Llamadas simuladas: personas, contestadores")
