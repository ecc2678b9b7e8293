"""The embedded Do-Not-Call lists, as a DNC provider reads them.

A list lives in the dialer's database (``opendialer dnc import``, the admin's
Do-Not-Call page); a provider keeps an index of it in memory
(:class:`~opendialer.sdk.NumberIndex`) and follows its changes:

* :func:`list_version` — the list's version (bumped by every import), or None
  once the service is deleted: compare it with what you indexed;
* :func:`list_date` — when the list was last imported (None: unknown), for the
  verdicts' ``list_date``;
* :func:`read_list` — the whole list, or (``since=version``) only the numbers
  added after that version when nothing was replaced meanwhile;
* :func:`listen_for_changes` — a :class:`ChangeListener` that calls
  ``on_change(service_id, version)`` for every change committed on any node
  (PostgreSQL; None on SQLite, where a provider polls). It holds one database
  connection: close it when the provider closes;
* :func:`import_numbers` — import a file into a list, as ``opendialer dnc
  import`` does (for a plugin's own CLI command; see :func:`~opendialer.sdk.open_database`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from opendialer.core.services import dnc_bulk, dnc_numbers
from opendialer.core.services.common import SYSTEM
from opendialer.core.services.dnc_bulk import ChangeListener, ListRead
from opendialer.core.services.dnc_numbers import ImportProgress, ImportReport

#: The DNC service kind whose list the dialer stores (the built-in ``dnc_embedded``).
EMBEDDED_KIND = dnc_numbers.EMBEDDED_KIND


async def list_version(service_id: int) -> int | None:
    """The list's version, or None when the service no longer exists."""
    return await dnc_numbers.list_version(service_id)


async def list_date(service_id: int) -> datetime | None:
    """When the list was last imported (None: unknown, or no such service)."""
    return await dnc_numbers.list_updated_at(service_id)


async def read_list(service_id: int, *, since: int | None = None) -> ListRead | None:
    """The list (``since`` None) or what was added after version ``since``; None when
    the service no longer exists. See :class:`ListRead` for the arrays' shapes."""
    return await dnc_bulk.read_list(service_id, since=since)


async def listen_for_changes(on_change: Callable[[int, int], None]) -> ChangeListener | None:
    """A started listener for list changes on every node; None without notifications."""
    return await dnc_bulk.listen_for_changes(on_change)


async def import_numbers(
    source: Path | bytes | BinaryIO,
    *,
    service_name: str | None = None,
    replace: bool = False,
    region: str | None = None,
    number_format: Any = "phone",
    skip_invalid: bool = False,
    progress: ImportProgress | None = None,
) -> ImportReport:
    """Import a list file into an embedded service (default: the built-in one), as the
    system (no user). Raises :class:`~opendialer.sdk.ServiceError` with what to fix."""
    return await dnc_numbers.import_numbers(
        SYSTEM,
        source,
        service_name=service_name,
        replace=replace,
        region=region,
        number_format=number_format,
        skip_invalid=skip_invalid,
        progress=progress,
    )


__all__ = [
    "EMBEDDED_KIND",
    "ChangeListener",
    "ImportProgress",
    "ImportReport",
    "ListRead",
    "import_numbers",
    "list_date",
    "list_version",
    "listen_for_changes",
    "read_list",
]
