"""A compact, immutable set of phone numbers: one sorted ``int64`` array.

10 million E.164 numbers take 80 MB; a lookup is a binary search
(``np.searchsorted``), about 24 comparisons, and a batch of lookups is one
vectorised call. Readers never lock: a reload builds a new index and swaps the
reference, so a lookup sees either the old list or the new one, never a mix;
an append builds the new index with :meth:`NumberIndex.merged` (no full re-sort).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

Numbers = npt.NDArray[np.int64]


def sorted_unique(
    numbers: npt.ArrayLike, *, in_place: bool = False, sorted_runs: bool = False
) -> Numbers:
    """Sorted distinct numbers. Sort-based on purpose: numpy 2's hash-based
    ``np.unique`` measured 20x slower than a sort on large int64 arrays.
    ``in_place`` sorts the caller's array itself (no second copy of a big list).
    ``sorted_runs``: the array is a few sorted runs one after the other (a snapshot,
    then the numbers added since): the stable sort (timsort) merges runs in linear
    time — 10M + 2,000 measured 0.08 s against 0.28 s for ``np.insert``."""
    array = np.asarray(numbers, dtype=np.int64)
    kind: Any = "stable" if sorted_runs else None
    if in_place:
        array.sort(kind=kind)
    else:
        array = np.sort(array, kind=kind)
    if array.size < 2:
        return array
    keep = np.empty(array.size, dtype=bool)
    keep[0] = True
    np.not_equal(array[1:], array[:-1], out=keep[1:])
    return array if keep.all() else array[keep]


class NumberIndex:
    __slots__ = ("_numbers",)

    def __init__(self, numbers: Numbers, *, assume_sorted_unique: bool = False) -> None:
        array = np.ascontiguousarray(numbers, dtype=np.int64)
        if not assume_sorted_unique:
            array = sorted_unique(array)
        self._numbers: Numbers = array

    @classmethod
    def adopt(cls, numbers: Numbers, *, sorted_runs: bool = False) -> NumberIndex:
        """An index over ``numbers`` itself, sorted in place: the caller gives it up.
        ``sorted_runs``: see :func:`sorted_unique`."""
        return cls(
            sorted_unique(numbers, in_place=True, sorted_runs=sorted_runs),
            assume_sorted_unique=True,
        )

    @classmethod
    def empty(cls) -> NumberIndex:
        return cls(np.empty(0, dtype=np.int64), assume_sorted_unique=True)

    @classmethod
    def from_chunks(cls, chunks: Iterable[Numbers]) -> NumberIndex:
        parts = list(chunks)
        if not parts:
            return cls.empty()
        return cls(np.concatenate(parts))

    def __len__(self) -> int:
        return int(self._numbers.size)

    @property
    def nbytes(self) -> int:
        return int(self._numbers.nbytes)

    def __contains__(self, number: int) -> bool:
        numbers = self._numbers
        position = int(np.searchsorted(numbers, number))
        return position < numbers.size and int(numbers[position]) == number

    def contains_many(self, numbers: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """One boolean per number: is it on the list? (vectorised)"""
        wanted = np.asarray(numbers, dtype=np.int64).ravel()
        listed = self._numbers
        if listed.size == 0 or wanted.size == 0:
            return np.zeros(wanted.shape, dtype=bool)
        # Searching in sorted order walks the list once, cache-friendly: measured 3x
        # faster than random-order probes on a 1M list, more on 10M.
        order = np.argsort(wanted)
        ordered = wanted[order]
        positions = np.searchsorted(listed, ordered)
        np.minimum(positions, listed.size - 1, out=positions)
        found = np.empty(wanted.size, dtype=bool)
        found[order] = listed[positions] == ordered
        return found

    def merged(self, more: npt.ArrayLike) -> NumberIndex:
        """A new index with ``more`` added (the delta of an append); this one is unchanged.

        Linear in the list, not a re-sort: the list and the sorted new numbers are two
        runs that a stable sort merges (10M + 1M: 0.1 s; ``np.insert`` took 0.7 s).
        """
        added = sorted_unique(more)
        if added.size and self._numbers.size:
            added = added[~self.contains_many(added)]
        if added.size == 0:
            return self
        merged = np.concatenate([self._numbers, added])
        merged.sort(kind="stable")
        return NumberIndex(merged, assume_sorted_unique=True)

    def to_array(self) -> Numbers:
        """The sorted numbers (read-only view)."""
        view = self._numbers.view()
        view.flags.writeable = False
        return view
