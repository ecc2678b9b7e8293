"""Structured logs: one event per line, JSON in files, key=value on a terminal.

Code logs an *event name* as the message and the facts as ``extra``::

    log.info("call_outcome", extra={"campaign": 3, "lead": 91, "status": "BUSY"})

Files rotate in ``<data dir>/logs/`` and are always JSON (machines read them);
the console is key=value unless ``OPENDIALER_LOG_FORMAT=json``. The Diagnostics
page and ``opendialer logs export`` bundle the files into a zip.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opendialer.core import config

LOG_FILE = "opendialer.log"
MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 9
FORMAT_ENV = "OPENDIALER_LOG_FORMAT"
LEVEL_ENV = "OPENDIALER_LOG_LEVEL"

#: Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
#: Never written, whatever a caller passes in ``extra``.
_SECRET_KEYS = frozenset({"password", "auth_password", "token", "secret", "authorization"})


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in vars(record).items():
        if key in _STANDARD or key.startswith("_"):
            continue
        out[key] = "***" if key.lower() in _SECRET_KEYS else value
    return out


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str, ensure_ascii=False)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), record.levelname, record.name, record.getMessage()]
        for key, value in _fields(record).items():
            text = str(value)
            parts.append(f"{key}={json.dumps(text) if (' ' in text or not text) else text}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (test runners and daemons swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def log_dir() -> Path:
    path = config.data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def configure(*, level: str | None = None, console_format: str | None = None) -> Path:
    """Console + rotating JSON files. Idempotent; returns the log directory."""
    level = (level or os.environ.get(LEVEL_ENV) or "INFO").upper()
    console_format = console_format or os.environ.get(FORMAT_ENV) or "kv"
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_opendialer", False):
            root.removeHandler(handler)
            handler.close()
    console = _CurrentStderr()
    console.setFormatter(JsonFormatter() if console_format == "json" else KeyValueFormatter())
    directory = log_dir()
    files = logging.handlers.RotatingFileHandler(
        directory / LOG_FILE, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    files.setFormatter(JsonFormatter())
    for handler in (console, files):
        setattr(handler, "_opendialer", True)  # noqa: B010 - tags our handlers for configure()
        root.addHandler(handler)
    root.setLevel(level)
    # Piccolo announces every engine start at INFO; that is noise for operators.
    logging.getLogger("piccolo").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return directory


def export_zip(destination: Path) -> Path:
    """Bundle every log file (current and rotated) into ``destination`` (a .zip)."""
    directory = log_dir()
    destination.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(directory.glob(f"{LOG_FILE}*")):
            bundle.write(path, arcname=f"logs/{path.name}")
    return destination
