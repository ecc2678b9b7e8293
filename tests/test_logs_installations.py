"""Log files belong to an installation (the id its database keeps), not to a host:
two OpenDialer installations on one host sharing a log directory never write into one
file, and each one's bundle — `opendialer logs export` and System → Diagnostics —
holds its own files only. Real `serve` processes, real databases."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from helpers import run_cli
from process_support import clean_env, instance_of, log_in, start, stop

from opendialer.core import logs
from opendialer.core.services import installation
from opendialer.core.storage import Database

pytestmark = pytest.mark.timeout(240)
PASSWORD = "two-installs-pw"


def test_two_installations_on_one_host_keep_their_logs_apart(tmp_path: Path) -> None:
    shared = tmp_path / "logs"  # one log directory, one node name: only the database differs
    envs = {}
    for name in ("a", "b"):
        env = clean_env(tmp_path / f"data-{name}")
        env["OPENDIALER_DATABASE_URL"] = f"sqlite:///{tmp_path / f'{name}.sqlite'}"
        env[logs.LOG_DIR_ENV] = str(shared)
        env[logs.NODE_ENV] = "dialer-1"
        env["OPENDIALER_MASTER_PASSWORD"] = PASSWORD
        made = run_cli("users", "create-master", "--username", f"boss-{name}", env=env)
        assert made.returncode == 0, made.stderr
        envs[name] = env
    ids = {name: instance_of(tmp_path / f"{name}.sqlite") for name in envs}
    assert ids["a"] != ids["b"]

    servers = {
        name: start(["serve", "--role", "web"], env, tmp_path / f"{name}.out")
        for name, env in envs.items()
    }
    try:
        assert sorted(p.name for p in shared.iterdir()) == sorted(
            f"opendialer-{ids[name]}-web-dialer-1.log" for name in envs
        )
        for name in envs:
            lines = [
                json.loads(line)
                for line in (shared / f"opendialer-{ids[name]}-web-dialer-1.log")
                .read_text()
                .splitlines()
            ]
            started = [line for line in lines if line["event"] == "server_started"]
            assert [(s["installation"], s["database"]) for s in started] == [
                (ids[name], f"sqlite:///{tmp_path / f'{name}.sqlite'}")
            ]

        # System → Diagnostics of installation a: its page counts, its zip holds, a's file
        boss = log_in(servers["a"].base, "boss-a", PASSWORD)
        try:
            page = boss.get("/system")
            assert page.status_code == 200
            assert f"1 log file in {shared}." in page.text
            assert f"Installation {ids['a']}: the zip holds" in page.text
            download = boss.get("/system/logs.zip")
        finally:
            boss.close()
        assert download.status_code == 200
        with zipfile.ZipFile(io.BytesIO(download.content)) as bundle:
            assert bundle.namelist() == [f"logs/opendialer-{ids['a']}-web-dialer-1.log"]
    finally:
        for server in servers.values():
            stop(server)

    # `opendialer logs export` with b's environment: b's file only; --all: both
    target = tmp_path / "b.zip"
    exported = run_cli("logs", "export", "-o", str(target), env=envs["b"])
    assert exported.returncode == 0, exported.stderr
    assert zipfile.ZipFile(target).namelist() == [f"logs/opendialer-{ids['b']}-web-dialer-1.log"]
    everything = tmp_path / "all.zip"
    exported = run_cli("logs", "export", "--all", "-o", str(everything), env=envs["b"])
    assert exported.returncode == 0, exported.stderr
    assert len(zipfile.ZipFile(everything).namelist()) == 2


async def test_export_takes_the_installation_from_the_database(
    db: Database, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """Web and engine nodes of one installation (one database) share a log directory:
    their files go together; another installation's files there stay out."""
    ours = await installation.instance_id()
    assert await installation.instance_id() == ours  # made once, then kept
    shared = tmp_path / "shared"
    shared.mkdir()
    for name in (
        f"opendialer-{ours}-web-web-1.log",
        f"opendialer-{ours}-engine-dialer-2.log",
        f"opendialer-{ours}-engine-dialer-2.log.1",
        "opendialer-0123456789ab-web-web-1.log",  # another installation
        "opendialer-web-web-1.log",  # a file from before installations had ids
    ):
        (shared / name).write_text('{"event": "x"}\n')
    target = tmp_path / "ours.zip"
    env = {**cli_env, logs.LOG_DIR_ENV: str(shared)}
    result = run_cli("logs", "export", "-o", str(target), env=env)
    assert result.returncode == 0, result.stderr
    assert zipfile.ZipFile(target).namelist() == [
        f"logs/opendialer-{ours}-engine-dialer-2.log",
        f"logs/opendialer-{ours}-engine-dialer-2.log.1",
        f"logs/opendialer-{ours}-web-web-1.log",
    ]


async def test_export_of_a_database_never_served_says_so(
    db: Database, cli_env: dict[str, str], tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "opendialer-0123456789ab-web-web-1.log").write_text("{}\n")
    env = {**cli_env, logs.LOG_DIR_ENV: str(shared), "COLUMNS": "300"}
    result = run_cli("logs", "export", "-o", str(tmp_path / "x.zip"), env=env)
    assert result.returncode == 1
    assert "has no installation id yet (never served)" in result.stderr
    assert not (tmp_path / "x.zip").exists()
    assert os.listdir(shared) == ["opendialer-0123456789ab-web-web-1.log"]
