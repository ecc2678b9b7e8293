"""Structured logs: JSON lines in rotating files (one per process, in a log directory
processes may share), key=value on the console, secrets masked, every process's files
in the export zip; bad settings are clear errors."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import run_cli

from opendialer.core import logs


def _remove_our_handlers() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_opendialer", False):
            root.removeHandler(handler)
            handler.close()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data directory of its own, no log directory setting; handlers removed after."""
    monkeypatch.setenv("OPENDIALER_DATA_DIR", str(tmp_path / "data"))
    for name in (logs.LOG_DIR_ENV, logs.FORMAT_ENV, logs.LEVEL_ENV, logs.NODE_ENV):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path / "data"
    _remove_our_handlers()


@pytest.fixture
def configured(data_dir: Path) -> Path:
    """This process's log file, as the web role of node ``web-1``."""
    return logs.configure(role="web", node="web-1", level="INFO", console_format="kv")


def test_one_json_object_per_line_with_fields(configured: Path, data_dir: Path) -> None:
    assert configured == data_dir / "logs" / "opendialer-web-web-1.log"
    log = logging.getLogger("opendialer.engine")
    log.info("call_outcome", extra={"campaign": 3, "lead": 91, "status": "BUSY", "sip_code": 486})
    log.warning("port_login", extra={"user": "port001", "password": "s3cret"})
    lines = configured.read_text().splitlines()
    first, second = (json.loads(line) for line in lines[-2:])
    assert first["event"] == "call_outcome"
    assert (first["campaign"], first["lead"], first["status"], first["sip_code"]) == (
        3,
        91,
        "BUSY",
        486,
    )
    assert first["level"] == "INFO" and first["logger"] == "opendialer.engine"
    assert second["password"] == "***"
    assert "s3cret" not in configured.read_text()


def test_console_is_key_value(capsys: pytest.CaptureFixture[str], configured: Path) -> None:
    logging.getLogger("opendialer.engine").info(
        "call_outcome", extra={"lead": 7, "detail": "two words", "sip_code": None}
    )
    err = capsys.readouterr().err
    assert 'call_outcome lead=7 detail="two words" sip_code=-' in err


def test_export_bundles_every_log_file(configured: Path, tmp_path: Path) -> None:
    logging.getLogger("opendialer").info("something_happened")
    (configured.parent / f"{configured.name}.1").write_text('{"event": "older"}\n')
    (configured.parent / "notes.txt").write_text("not a log\n")
    target = tmp_path / "out" / "logs.zip"
    files = logs.export_zip(target)
    names = zipfile.ZipFile(target).namelist()
    assert names == [f"logs/{configured.name}", f"logs/{configured.name}.1"]
    assert [p.name for p in files] == [n.removeprefix("logs/") for n in names]


def test_configure_is_idempotent(configured: Path) -> None:
    logs.configure(role="web", node="web-1")
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_opendialer", False)]
    assert len(ours) == 2


def test_node_defaults_to_the_node_id_setting(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(logs.NODE_ENV, "dialer 2/b")
    path = logs.configure(role="engine")
    assert path.name == "opendialer-engine-dialer_2_b.log"  # one safe file name


def test_files_rotate_capped_and_all_go_in_the_zip(configured: Path, tmp_path: Path) -> None:
    path = logs.configure(role="engine", node="n1", max_bytes=2_000, backups=3)
    log = logging.getLogger("opendialer.engine")
    for n in range(200):  # ~150 bytes a line: several rotations over
        log.info("pace_round", extra={"campaign": 1, "round": n, "padding": "x" * 40})
    rotated = sorted(p.name for p in path.parent.glob(f"{path.name}.*"))
    assert rotated == [f"{path.name}.1", f"{path.name}.2", f"{path.name}.3"]  # capped at 3
    assert all(p.stat().st_size <= 2_000 for p in path.parent.glob(f"{path.name}*"))
    last = json.loads(path.read_text().splitlines()[-1])
    assert last["round"] == 199  # the newest lines are in the current file
    target = tmp_path / "logs.zip"
    logs.export_zip(target)
    names = set(zipfile.ZipFile(target).namelist())
    assert {f"logs/{path.name}", *(f"logs/{name}" for name in rotated)} <= names


def test_processes_sharing_the_log_directory_each_write_their_own_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The systemd units: web and engine keep their data directories and share
    OPENDIALER_LOG_DIR, so the web node's zip holds the engine's call_outcome lines."""
    shared = tmp_path / "shared-logs"
    (tmp_path / "web").mkdir()
    (tmp_path / "engine").mkdir()
    base = {**os.environ, logs.LOG_DIR_ENV: str(shared), logs.NODE_ENV: "dialer-1"}
    base.pop(logs.FORMAT_ENV, None)
    script = (
        "import logging, sys\n"
        "from opendialer.core import logs\n"
        "logs.configure(role=sys.argv[1])\n"
        "log = logging.getLogger('opendialer.engine.calls')\n"
        "log.info(sys.argv[2], extra={'role': sys.argv[1]})\n"
    )
    for role, event in (("web", "login_ok"), ("engine", "call_outcome")):
        env = {**base, "OPENDIALER_DATA_DIR": str(tmp_path / role)}
        done = subprocess.run(
            [sys.executable, "-c", script, role, event], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in shared.iterdir()) == [
        "opendialer-engine-dialer-1.log",
        "opendialer-web-dialer-1.log",
    ]
    monkeypatch.setenv(logs.LOG_DIR_ENV, str(shared))
    monkeypatch.setenv("OPENDIALER_DATA_DIR", str(tmp_path / "web"))  # the web node's view
    target = tmp_path / "web.zip"
    logs.export_zip(target)
    with zipfile.ZipFile(target) as bundle:
        engine = json.loads(bundle.read("logs/opendialer-engine-dialer-1.log"))
        web = json.loads(bundle.read("logs/opendialer-web-dialer-1.log"))
    assert (engine["event"], engine["role"]) == ("call_outcome", "engine")
    assert (web["event"], web["role"]) == ("login_ok", "web")


@pytest.mark.parametrize(
    ("setting", "value", "allowed"),
    [
        (logs.FORMAT_ENV, "xml", "kv, json"),
        (logs.LEVEL_ENV, "LOUD", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ],
)
def test_a_bad_setting_is_an_error_naming_the_allowed_values(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, setting: str, value: str, allowed: str
) -> None:
    monkeypatch.setenv(setting, value)
    with pytest.raises(logs.LogConfigError) as raised:
        logs.configure(role="web")
    assert str(raised.value) == f"{setting}='{value}' is not one of {allowed}"
    assert not [h for h in logging.getLogger().handlers if getattr(h, "_opendialer", False)]


def test_serve_with_a_bad_log_format_stops_with_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "OPENDIALER_DATA_DIR": str(tmp_path),
        logs.FORMAT_ENV: "yaml",
        "COLUMNS": "200",
    }
    result = run_cli("serve", "--role", "web", "--port", "0", env=env)
    assert result.returncode == 1
    assert "OPENDIALER_LOG_FORMAT='yaml' is not one of kv, json" in result.stderr
    assert "Traceback" not in result.stderr


def test_format_and_level_are_case_insensitive(data_dir: Path) -> None:
    logs.configure(role="web", level="debug", console_format="JSON")
    assert logging.getLogger().level == logging.DEBUG


def test_cli_logs_export_writes_the_zip(tmp_path: Path) -> None:
    logs_dir = tmp_path / "shared"
    logs_dir.mkdir()
    (logs_dir / "opendialer-engine-dialer-1.log").write_text('{"event": "call_outcome"}\n')
    (logs_dir / "opendialer-engine-dialer-1.log.1").write_text('{"event": "older"}\n')
    (logs_dir / "opendialer-web-dialer-1.log").write_text('{"event": "login"}\n')
    env = {
        **os.environ,
        "OPENDIALER_DATA_DIR": str(tmp_path / "data"),
        logs.LOG_DIR_ENV: str(logs_dir),
    }
    target = tmp_path / "bundle.zip"
    result = run_cli("logs", "export", "--all", "--output", str(target), env=env)
    assert result.returncode == 0, result.stderr
    assert "3 log file(s)" in result.stdout
    with zipfile.ZipFile(target) as bundle:
        assert bundle.read("logs/opendialer-engine-dialer-1.log") == b'{"event": "call_outcome"}\n'
        assert len(bundle.namelist()) == 3


def test_cli_logs_export_reads_another_directory_when_told(tmp_path: Path) -> None:
    other = tmp_path / "engine-logs"
    other.mkdir()
    (other / "opendialer-engine-n.log").write_text("{}\n")
    env = {**os.environ, "OPENDIALER_DATA_DIR": str(tmp_path / "data")}
    env.pop(logs.LOG_DIR_ENV, None)
    target = tmp_path / "b.zip"
    result = run_cli("logs", "export", "--all", "--log-dir", str(other), "-o", str(target), env=env)
    assert result.returncode == 0, result.stderr
    assert zipfile.ZipFile(target).namelist() == ["logs/opendialer-engine-n.log"]


def test_cli_logs_export_with_no_log_file_fails_and_says_where_it_looked(tmp_path: Path) -> None:
    env = {**os.environ, "OPENDIALER_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "300"}
    env.pop(logs.LOG_DIR_ENV, None)
    target = tmp_path / "empty.zip"
    result = run_cli("logs", "export", "--all", "--output", str(target), env=env)
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert f"no log file in {tmp_path / 'data' / 'logs'}" in message
    assert not target.exists()
    # without --all it needs the installation, so the database the processes use
    result = run_cli("logs", "export", "--output", str(target), env=env)
    assert result.returncode == 1
    assert "no database at sqlite:///" in " ".join(result.stderr.split())
    assert not target.exists()


def test_the_web_app_keeps_the_dialers_log_handlers(configured: Path, data_dir: Path) -> None:
    from litestar.testing import TestClient

    from opendialer.admin_ui.app import create_app

    with TestClient(create_app("sqlite:///" + str(data_dir / "app.sqlite"))) as client:
        assert client.get("/healthz").status_code == 200
        logging.getLogger("opendialer.engine").info("after_app_start", extra={"lead": 1})
    lines = configured.read_text().splitlines()
    assert any(json.loads(line)["event"] == "after_app_start" for line in lines)
