"""Structured logs: JSON lines in rotating files, key=value on the console, secrets masked."""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

import pytest

from opendialer.core import logs


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENDIALER_DATA_DIR", str(tmp_path))
    directory = logs.configure(level="INFO", console_format="kv")
    yield directory
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_opendialer", False):
            root.removeHandler(handler)
            handler.close()


def test_one_json_object_per_line_with_fields(configured: Path) -> None:
    log = logging.getLogger("opendialer.engine")
    log.info("call_outcome", extra={"campaign": 3, "lead": 91, "status": "BUSY", "sip_code": 486})
    log.warning("port_login", extra={"user": "port001", "password": "s3cret"})
    lines = (configured / logs.LOG_FILE).read_text().splitlines()
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
    assert "s3cret" not in (configured / logs.LOG_FILE).read_text()


def test_console_is_key_value(capsys: pytest.CaptureFixture[str], configured: Path) -> None:
    logging.getLogger("opendialer.engine").info(
        "call_outcome", extra={"lead": 7, "detail": "two words"}
    )
    err = capsys.readouterr().err
    assert 'call_outcome lead=7 detail="two words"' in err


def test_export_bundles_every_log_file(configured: Path, tmp_path: Path) -> None:
    logging.getLogger("opendialer").info("something_happened")
    (configured / f"{logs.LOG_FILE}.1").write_text('{"event": "older"}\n')
    bundle = logs.export_zip(tmp_path / "out" / "logs.zip")
    names = zipfile.ZipFile(bundle).namelist()
    assert names == [f"logs/{logs.LOG_FILE}", f"logs/{logs.LOG_FILE}.1"]


def test_configure_is_idempotent(configured: Path) -> None:
    logs.configure()
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_opendialer", False)]
    assert len(ours) == 2


def test_cli_logs_export_writes_the_zip(tmp_path: Path) -> None:
    import os

    from helpers import run_cli

    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    (data / "logs" / logs.LOG_FILE).write_text('{"event": "call_outcome"}\n')
    env = {**os.environ, "OPENDIALER_DATA_DIR": str(data)}
    target = tmp_path / "bundle.zip"
    result = run_cli("logs", "export", "--output", str(target), env=env)
    assert result.returncode == 0, result.stderr
    assert "1 log file(s)" in result.stdout
    with zipfile.ZipFile(target) as bundle:
        assert bundle.read(f"logs/{logs.LOG_FILE}") == b'{"event": "call_outcome"}\n'


def test_the_web_app_keeps_the_dialers_log_handlers(configured: Path) -> None:
    from litestar.testing import TestClient

    from opendialer.admin_ui.app import create_app

    with TestClient(create_app("sqlite:///" + str(configured.parent / "app.sqlite"))) as client:
        assert client.get("/healthz").status_code == 200
        logging.getLogger("opendialer.engine").info("after_app_start", extra={"lead": 1})
    lines = (configured / logs.LOG_FILE).read_text().splitlines()
    assert any(json.loads(line)["event"] == "after_app_start" for line in lines)
