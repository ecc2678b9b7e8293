"""Bulk database paths for Do-Not-Call numbers, per backend.

**Writing** (an import) is one transaction: bump ``dnc_service.list_version`` to
v first (the row lock makes imports of one list run one after another); on a
replace delete the old rows and set ``replaced_in = v``; insert the numbers with
``added_in = v``; write the *snapshot* — the whole list as sorted ``int64`` bytes
in ``dnc_snapshot`` parts — on a replace, or on an append once the numbers added
since the last snapshot reach :data:`.layout.SNAPSHOT_DELTA_LIMIT`. PostgreSQL
also sends ``NOTIFY opendialer_dnc, '<service>:<v>'``, delivered at commit.

**Reading** (a node loading its index) happens in one consistent snapshot of the
database: the whole list is the snapshot parts plus the rows added after it
(at most :data:`.layout.SNAPSHOT_DELTA_LIMIT` of them); a node at version
``since`` with no replace after it reads only the rows with ``added_in > since``.
10 million numbers measured 17 s as rows (binary COPY) and under 2 s as parts.

Modules: :mod:`.layout` (the tables' shape, the arrays read, tuning constants),
:mod:`.postgres` and :mod:`.sqlite` (each backend's writer and reader),
:mod:`.changes` (PostgreSQL change notifications). This module picks the backend.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from opendialer.core.services.dnc_bulk import changes, layout, postgres, sqlite
from opendialer.core.services.dnc_bulk.changes import ChangeListener
from opendialer.core.services.dnc_bulk.layout import ListRead, Numbers, WriteProgress
from opendialer.core.storage.tables import DncNumber


def _engine() -> Any:
    return DncNumber._meta.db


def is_postgres() -> bool:
    return isinstance(_engine(), PostgresEngine)


async def write_numbers(
    service_id: int, numbers: Numbers, *, replace: bool, progress: WriteProgress | None = None
) -> tuple[int, int, int]:
    """Append (or replace with) ``numbers`` (sorted, distinct) atomically; bump the list version.

    :return: (rows added, rows on the list now, new list version)
    """
    layout.require_sorted_distinct(numbers)
    engine = _engine()
    if isinstance(engine, PostgresEngine):
        return await postgres.write(engine, service_id, numbers, replace, progress)
    return await sqlite.write(engine, service_id, numbers, replace, progress)


async def read_list(service_id: int, *, since: int | None = None) -> ListRead | None:
    """The list of one service as of now, or only what was added after version ``since``
    (when no replace happened after it). None when the service no longer exists."""
    engine = _engine()
    if isinstance(engine, PostgresEngine):
        return await postgres.read(engine, service_id, since)
    return await sqlite.read(engine, service_id, since)


async def read_numbers(service_id: int) -> Numbers:
    """Every number of one list, as a sorted ``int64`` array (empty for no such service)."""
    whole = await read_list(service_id)
    if whole is None:
        return layout.empty()
    return await asyncio.to_thread(layout.sorted_whole, whole)


async def listen_for_changes(on_change: Callable[[int, int], None]) -> ChangeListener | None:
    """A started :class:`~.changes.ChangeListener`, or None where the backend has no
    notifications (SQLite: nodes rely on polling)."""
    return await changes.listen(_engine(), on_change)


__all__ = [
    "ChangeListener",
    "ListRead",
    "Numbers",
    "WriteProgress",
    "is_postgres",
    "listen_for_changes",
    "read_list",
    "read_numbers",
    "write_numbers",
]
