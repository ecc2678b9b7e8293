"""Where things are: the data directory and the database URL, from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DATA_DIR_ENV = "OPENDIALER_DATA_DIR"
DATABASE_URL_ENV = "OPENDIALER_DATABASE_URL"


def data_dir() -> Path:
    """``$OPENDIALER_DATA_DIR`` or the user's data directory (created on first use)."""
    raw = os.environ.get(DATA_DIR_ENV)
    path = Path(raw) if raw else Path(platformdirs.user_data_dir("opendialer", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """``$OPENDIALER_DATABASE_URL``, or an SQLite file in the data directory."""
    raw = os.environ.get(DATABASE_URL_ENV, "").strip()
    if raw:
        return raw
    return f"sqlite:///{data_dir() / 'opendialer.sqlite'}"


def demo_dir() -> Path:
    """Where ``opendialer demo`` keeps its database and logs: ``<data dir>/demo``, apart
    from the database ``serve`` uses by default (not created here)."""
    return data_dir() / "demo"
