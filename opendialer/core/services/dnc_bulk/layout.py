"""How a Do-Not-Call list is laid out in the database, whatever the backend.

Rows of ``dnc_number`` tagged with the list version that added them, a
``dnc_snapshot`` of the whole list in parts of sorted ``int64`` bytes, and the
array a node reads it into (:class:`ListRead`). The tuning constants live here
so both backends (and tests) see one value; the backends read them at call time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Numbers = npt.NDArray[np.int64]
WriteProgress = Callable[[int, int], None]  # (rows written, rows to write)

WRITE_CHUNK = 100_000
READ_CHUNK = 200_000
#: Numbers per snapshot part (8 MB): big enough for few round trips, small
#: enough that a load never holds more than one part's bytes besides the array.
SNAPSHOT_PART = 1_000_000
#: An append rewrites the snapshot once this many numbers were added since it,
#: so a full load never reads more rows than this.
SNAPSHOT_DELTA_LIMIT = 1_000_000
#: Snapshot bytes are little-endian whatever the machine.
SNAPSHOT_DTYPE = np.dtype("<i8")


def empty() -> Numbers:
    return np.empty(0, dtype=np.int64)


@dataclass
class ListRead:
    """What a node reads to build or update its index.

    ``delta``: ``added`` holds the numbers added since the version asked for.
    Otherwise ``base`` (sorted, distinct) plus ``added`` is the whole list, and
    ``combined`` is the one array both are views of (``base`` first): the caller
    may sort it in place into the index. ``added`` is distinct and disjoint from
    ``base``; sorted when a snapshot precedes it.
    """

    version: int
    delta: bool
    base: Numbers
    added: Numbers
    read_s: float  # waiting for the database
    parse_s: float  # turning its bytes into int64 arrays
    combined: Numbers | None = None


def require_sorted_distinct(numbers: Numbers) -> None:
    if numbers.size > 1 and not bool(np.all(numbers[1:] > numbers[:-1])):
        raise ValueError(
            "write_numbers needs sorted, distinct numbers (a snapshot is built of them)"
        )


def snapshot_parts(numbers: Numbers) -> Iterator[tuple[int, int, bytes]]:
    """(part, count, bytes) of a sorted list, in order; one part's bytes at a time."""
    for part, start in enumerate(range(0, numbers.size, SNAPSHOT_PART)):
        chunk = numbers[start : start + SNAPSHOT_PART]
        yield part, int(chunk.size), chunk.astype(SNAPSHOT_DTYPE, copy=False).tobytes()


def sorted_whole(whole: ListRead) -> Numbers:
    """The whole list of a full read, sorted (in place when it came as one array)."""
    if whole.combined is None:
        merged = np.concatenate([whole.base, whole.added])
    else:
        merged = whole.combined
    # Snapshot then rows: two sorted runs, which the stable sort (timsort) merges in
    # linear time; rows alone are in no order, where quicksort is faster.
    merged.sort(kind="stable" if whole.base.size else None)
    return merged


_BUMP_SQL = (
    "UPDATE dnc_service SET list_version = list_version + 1, list_updated_at = {now}{replaced}"
    " WHERE id = {param}"
)
#: The import's time, as each backend stores a TIMESTAMPTZ (SQLite: Piccolo's text).
_NOW_SQL = {
    "postgres": "now()",
    "sqlite": "strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')",
}


def bump_sql(replace: bool, param: str, *, backend: str) -> str:
    """The statement that bumps a list's version and its import time (and marks a
    replace), with the backend's placeholder ``param``."""
    replaced = ", replaced_in = list_version + 1" if replace else ""
    return _BUMP_SQL.format(replaced=replaced, param=param, now=_NOW_SQL[backend])


def usable(snapshot_version: Any, replaced_in: int, version: int) -> bool:
    """A snapshot older than the last replace holds numbers the replace removed; one
    newer than the list is left over from a deleted service whose id was reused."""
    return snapshot_version is not None and replaced_in <= int(snapshot_version) <= version


class WholeList:
    """One array for the whole list: the snapshot parts first, the rows added after
    it at the end — two sorted runs that the index merges in place (no second copy)."""

    def __init__(self, in_snapshot: int, added: Numbers) -> None:
        self.in_snapshot = in_snapshot
        if in_snapshot == 0:
            self.combined = added
        else:
            self.combined = np.empty(in_snapshot + added.size, dtype=np.int64)
            self.combined[in_snapshot:] = np.sort(added)
        self.filled = 0

    def add_part(self, data: bytes) -> None:
        part = np.frombuffer(data, dtype=SNAPSHOT_DTYPE)
        if self.filled + part.size > self.in_snapshot:
            raise RuntimeError("DNC snapshot parts hold more numbers than they declare")
        self.combined[self.filled : self.filled + part.size] = part
        self.filled += part.size

    def read(self, service_id: int, version: int, read_s: float, parse_s: float) -> ListRead:
        if self.filled != self.in_snapshot:
            raise RuntimeError(
                f"DNC snapshot of service {service_id}: {self.filled} numbers, "
                f"not {self.in_snapshot}"
            )
        split = self.in_snapshot
        return ListRead(
            version,
            False,
            self.combined[:split],
            self.combined[split:],
            read_s,
            parse_s,
            combined=self.combined,
        )
