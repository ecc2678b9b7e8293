"""Structured logs: one event per line, JSON in files, key=value on a terminal.

Code logs an *event name* as the message and the facts as ``extra``::

    log.info("call_outcome", extra={"campaign": 3, "lead": 91, "status": "BUSY"})

Each process writes its own rotating file, named after its installation, role and
node (``opendialer-<installation>-engine-dialer-1.log``, ``.1``, ``.2`` …), in one log
directory (``$OPENDIALER_LOG_DIR``, else ``<data dir>/logs``) that the web and engine
processes of a machine may share. The installation id is kept in the database
(``core/services/installation.py``): two installations on one host never write into
one file, and the Diagnostics page and ``opendialer logs export`` bundle the files of
their own installation only (every process of it). Files are always JSON (machines
read them); the console is key=value unless ``OPENDIALER_LOG_FORMAT=json``.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import re
import socket
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opendialer.core import config
from opendialer.core.services.errors import ServiceError

#: The file of a process that did not say its role (``opendialer-<node>.log``) and,
#: before 0.x, of every process (``opendialer.log``) share this prefix.
PREFIX = "opendialer"
MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 9
LOG_DIR_ENV = "OPENDIALER_LOG_DIR"
FORMAT_ENV = "OPENDIALER_LOG_FORMAT"
LEVEL_ENV = "OPENDIALER_LOG_LEVEL"
NODE_ENV = "OPENDIALER_NODE_ID"
FORMATS = ("kv", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: A current or rotated log file of any process: opendialer[-role-node].log[.N]
_LOG_FILE = re.compile(rf"^{PREFIX}(-[A-Za-z0-9._-]+)?\.log(\.\d+)?$")

#: Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
#: Never written, whatever a caller passes in ``extra``.
_SECRET_KEYS = frozenset({"password", "auth_password", "token", "secret", "authorization"})


class LogConfigError(ServiceError):
    """A log setting of the environment is wrong. A ServiceError so that every CLI
    command (``serve``, ``demo``) prints it as one line, not a traceback."""


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
            text = "-" if value is None else str(value)  # None: the fact does not apply
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
    """``$OPENDIALER_LOG_DIR``, else ``<data dir>/logs`` (created on first use)."""
    raw = os.environ.get(LOG_DIR_ENV, "").strip()
    path = Path(raw) if raw else config.data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _safe(text: str) -> str:
    # A node id is free text: keep the name one safe path component.
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def log_file_name(
    role: str | None = None, node: str | None = None, instance: str | None = None
) -> str:
    """``opendialer-<instance>-<role>-<node>.log``: one file per process in a shared
    directory, never shared by two installations.

    ``node``: ``$OPENDIALER_NODE_ID``, else the host name."""
    node = node or os.environ.get(NODE_ENV, "").strip() or socket.gethostname()
    return _safe("-".join([PREFIX, *(p for p in (instance, role, node) if p)])) + ".log"


def log_files(directory: Path | None = None, instance: str | None = None) -> list[Path]:
    """Every process's current and rotated log files — of installation ``instance`` only
    when given (file I/O: not on the event loop)."""
    directory = directory or log_dir()
    own = f"{PREFIX}-{_safe(instance)}-" if instance else ""
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and _LOG_FILE.match(p.name) and p.name.startswith(own)
    )


def _setting(value: str | None, env: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = (value or os.environ.get(env, "") or default).strip()
    for choice in allowed:
        if raw.lower() == choice.lower():
            return choice
    raise LogConfigError("logs.setting_invalid", env=env, value=raw, allowed=", ".join(allowed))


def check_settings() -> None:
    """Raise :class:`LogConfigError` for a bad ``$OPENDIALER_LOG_FORMAT`` / ``_LEVEL``
    (``serve`` checks them before it opens the database)."""
    _setting(None, LEVEL_ENV, "INFO", LEVELS)
    _setting(None, FORMAT_ENV, "kv", FORMATS)


def configure(
    *,
    role: str | None = None,
    node: str | None = None,
    instance: str | None = None,
    level: str | None = None,
    console_format: str | None = None,
    max_bytes: int = MAX_BYTES,
    backups: int = BACKUPS,
) -> Path:
    """Console + this process's rotating JSON file. Idempotent; returns the file.

    ``instance`` (the installation id), ``role`` (``web``, ``engine``, ``all``) and
    ``node`` name the file so that processes sharing the log directory never rotate
    each other's file."""
    level = _setting(level, LEVEL_ENV, "INFO", LEVELS)
    console_format = _setting(console_format, FORMAT_ENV, "kv", FORMATS)
    path = log_dir() / log_file_name(role, node, instance)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_opendialer", False):
            root.removeHandler(handler)
            handler.close()
    console = _CurrentStderr()
    console.setFormatter(JsonFormatter() if console_format == "json" else KeyValueFormatter())
    files = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    files.setFormatter(JsonFormatter())
    for handler in (console, files):
        setattr(handler, "_opendialer", True)  # noqa: B010 - tags our handlers for configure()
        root.addHandler(handler)
    root.setLevel(level)
    # Piccolo announces every engine start at INFO; that is noise for operators.
    logging.getLogger("piccolo").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return path


def export_zip(
    destination: Path, directory: Path | None = None, instance: str | None = None
) -> list[Path]:
    """Bundle every process's log files (current and rotated) — of installation
    ``instance`` only when given — into ``destination`` (a .zip, under ``logs/``); the
    files bundled."""
    files = log_files(directory, instance)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for path in files:
            bundle.write(path, arcname=f"logs/{path.name}")
    return files
