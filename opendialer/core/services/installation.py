"""What a database says about the installation that runs on it.

Two ``setting`` rows:

- ``installation.id``: a random id, made the first time the database is migrated or
  served. Log files carry it in their name, so two installations on one host never
  write into the same file, and a Diagnostics bundle holds only its own installation's
  files. The web and engine nodes of one installation share the database, so they
  share the id (and, with a shared log directory, the bundle).
- ``installation.demo``: written by ``opendialer demo`` when it seeds a database with
  its published logins. ``serve`` refuses such a database (:func:`refuse_demo_database`):
  a known password never reaches a production install.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from opendialer.core.services.errors import ServiceError
from opendialer.core.services.passwords import verify_password
from opendialer.core.storage.tables import DialerUser, Setting

INSTANCE_KEY = "installation.id"
DEMO_KEY = "installation.demo"
#: The logins ``opendialer demo`` seeds (``core/demo.py``), with its published password.
DEMO_USERNAMES = ("master", "demo")
DEMO_PASSWORD = "opendialer-demo"


class DemoDatabase(ServiceError):
    """``serve`` was pointed at a database ``opendialer demo`` seeded, or the demo at a
    real installation's database."""

    status = 409
    error = "demo_database"


class NotMigrated(ServiceError):
    """The database has no OpenDialer schema yet (``opendialer db migrate`` never ran)."""

    status = 409
    error = "not_migrated"


def _value(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw or "{}")
        except ValueError:
            return {}
    return raw if isinstance(raw, dict) else {}


async def _read(key: str) -> dict[str, Any] | None:
    row = await Setting.select(Setting.value).where(Setting.key == key).first().run()
    return None if row is None else _value(row["value"])


async def read_instance_id() -> str | None:
    """The installation id, or None when none was made yet (never changes anything)."""
    stored = await _read(INSTANCE_KEY)
    value = (stored or {}).get("id")
    return value if isinstance(value, str) and value else None


async def instance_id() -> str:
    """The installation id, made on first use (nodes starting together agree: the
    first insert wins, the others read it)."""
    existing = await read_instance_id()
    if existing:
        return existing
    candidate = secrets.token_hex(6)
    await (
        Setting.insert(
            Setting(key=INSTANCE_KEY, value=json.dumps({"id": candidate}), updated_at=_now())
        )
        .on_conflict(target=Setting.key, action="DO NOTHING")
        .run()
    )
    stored = await read_instance_id()
    if stored is None:  # a row without a usable id (edited by hand): replace it
        await (
            Setting.update(
                {Setting.value: json.dumps({"id": candidate}), Setting.updated_at: _now()}
            )
            .where(Setting.key == INSTANCE_KEY)
            .run()
        )
        return candidate
    return stored


def _now() -> datetime:
    return datetime.now(UTC)


async def mark_demo() -> None:
    """Say that ``opendialer demo`` seeded this database (idempotent)."""
    value = json.dumps({"seeded_at": _now().isoformat(timespec="seconds")})
    await (
        Setting.insert(Setting(key=DEMO_KEY, value=value, updated_at=_now()))
        .on_conflict(target=Setting.key, action="DO NOTHING")
        .run()
    )


async def is_demo() -> bool:
    return await _read(DEMO_KEY) is not None


async def user_with_demo_password() -> str | None:
    """The first demo login whose password is still the demo's, else None."""
    rows = await DialerUser.select(DialerUser.username, DialerUser.password_hash).where(
        DialerUser.username.is_in(list(DEMO_USERNAMES))
    )
    for row in sorted(rows, key=lambda r: DEMO_USERNAMES.index(r["username"])):
        if await verify_password(row["password_hash"], DEMO_PASSWORD):
            return str(row["username"])
    return None


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def refuse_demo_database(*, allow: bool, host: str) -> None:
    """Raise :class:`DemoDatabase` when ``serve`` would run on a demo database — marked
    so, or one whose demo logins still have the demo's password (seeded before the
    mark existed): always without ``allow`` (``serve --allow-demo-database``), and with
    it on any address but loopback — the password is published, so those logins stay
    on this machine."""
    if await is_demo():
        if not allow:
            raise DemoDatabase("install.demo_database")
    else:
        # a demo database from before the mark: the demo then used serve's default file
        user = await user_with_demo_password()
        if user is None:
            return
        if not allow:
            raise DemoDatabase("install.demo_password", user=user)
    if not is_loopback(host):
        raise DemoDatabase("install.demo_not_loopback", host=host)
