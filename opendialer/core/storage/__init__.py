"""Storage: one database (SQLite embedded, or PostgreSQL) bound to every table.

``OPENDIALER_DATABASE_URL`` picks it: unset → an SQLite file in the data
directory; ``sqlite:///path``; ``postgresql://user@host:port/db`` (asyncpg).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

os.environ.setdefault("PICCOLO_CONF", "opendialer.core.storage.piccolo_conf")

from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine

from opendialer.core.storage import piccolo_conf
from opendialer.core.storage.sqlite_pool import PooledSQLiteEngine
from opendialer.core.storage.tables import ALL_TABLES


class DatabaseUrlError(ValueError):
    """The database URL cannot be used; the message says why and what is accepted."""


@dataclass
class Database:
    url: str
    engine: Engine
    dialect: str  # "sqlite" or "postgres"

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgres"

    async def close(self) -> None:
        if isinstance(self.engine, PostgresEngine):
            await self.engine.close_connection_pool()
        elif isinstance(self.engine, PooledSQLiteEngine):
            await self.engine.close_pool()

    def describe(self) -> str:
        """The URL without its password, for logs and the CLI."""
        parts = urlsplit(self.url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return parts._replace(netloc=netloc).geturl()
        return self.url


def engine_for(url: str) -> tuple[Engine, str]:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        # sqlite:///abs/path and sqlite:////abs/path both mean /abs/path.
        path = url[len("sqlite://") :]
        if path.startswith("//"):
            path = path[1:]
        if path == "/:memory:":
            path = ":memory:"
        if not path or path == "/":
            raise DatabaseUrlError(
                f"{url!r}: an SQLite URL needs a file path, e.g. sqlite:///var/lib/opendialer.sqlite"
            )
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # timeout: wait for the write lock (busy_timeout) instead of failing at once under
        # concurrent writers. Pooled: Piccolo's own engine opens a connection (and a
        # thread) per query, which a burst of a few hundred calls cannot afford.
        return PooledSQLiteEngine(path=path, timeout=30), "sqlite"
    if scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        return PostgresEngine(config={"dsn": dsn}, log_queries=False), "postgres"
    raise DatabaseUrlError(
        f"{url!r}: unsupported database URL scheme {scheme!r}; "
        "use sqlite:///path/to/file.sqlite or postgresql://user@host:5432/dbname"
    )


def bind(engine: Engine) -> None:
    """Point every table (ours and Piccolo's migration table) at ``engine``."""
    piccolo_conf.DB = engine
    for table in [*ALL_TABLES, Migration]:
        table._meta.db = engine  # type: ignore[attr-defined]


_current: Database | None = None


async def connect(url: str, *, pool_size: int = 10) -> Database:
    """Open the database at ``url`` and bind every table to it."""
    global _current
    engine, dialect = engine_for(url)
    if isinstance(engine, PostgresEngine):
        try:
            await engine.start_connection_pool(min_size=1, max_size=pool_size)
        except OSError as exc:
            raise DatabaseUrlError(f"cannot reach PostgreSQL at {url!r}: {exc}") from exc
    else:
        await engine.run_ddl("PRAGMA journal_mode=WAL")
    bind(engine)
    _current = Database(url=url, engine=engine, dialect=dialect)
    return _current


def current() -> Database:
    """The database bound by the last :func:`connect`."""
    if _current is None:
        raise RuntimeError("no database connected: call opendialer.core.storage.connect() first")
    return _current
