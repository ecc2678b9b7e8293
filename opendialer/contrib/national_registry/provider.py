"""A national registry's files → a local index, refreshed periodically, with a maximum age.

The service option ``directory`` holds what the registry publishes (a sync job,
``rsync`` or the operator puts them there), one E.164 number per line:

* ``full-YYYYMMDD.txt`` — the whole list as of that date;
* ``add-YYYYMMDD.txt`` / ``del-YYYYMMDD.txt`` — numbers added / removed that day.

The index is the newest full file plus every later change file, in date order.
The data's date is the newest file applied; past ``max_age_days`` (default 31)
every check raises ``DncUnavailable("data older than N days ...")``. The folder
is looked at every ``refresh_interval_s`` (default 300) and re-read when its
files changed. A file that cannot be read keeps the previous index in service
(while it is young enough) and says so in ``health()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from opendialer.sdk import (
    DncServiceConfig,
    DncUnavailable,
    DncVerdict,
    Health,
    NumberIndex,
    PluginContext,
    normalise_e164,
    parse_numbers,
    sorted_unique,
)

log = logging.getLogger(__name__)

FILE_RE = re.compile(r"^(full|add|del)-(\d{8})\.txt$")


@dataclass(frozen=True, slots=True)
class RegistryFile:
    kind: str  # "full" | "add" | "del"
    day: date
    path: Path


class RegistryFiles:
    """The files of one registry folder, and the index they make."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def listing(self) -> list[RegistryFile]:
        files = []
        for path in self.directory.iterdir():
            match = FILE_RE.match(path.name)
            if match:
                day = datetime.strptime(match.group(2), "%Y%m%d").date()
                files.append(RegistryFile(match.group(1), day, path))
        order = {"full": 0, "del": 1, "add": 2}  # a number removed and re-added stays
        return sorted(files, key=lambda f: (f.day, order[f.kind]))

    def signature(self) -> tuple[tuple[str, int, int], ...]:
        """Names, sizes and modification times: changes when the registry publishes."""
        return tuple(
            (f.path.name, f.path.stat().st_size, f.path.stat().st_mtime_ns) for f in self.listing()
        )

    def build(self) -> tuple[NumberIndex, date, list[str]]:
        """Index of the newest full file plus the later changes (blocking; run in a thread)."""
        files = self.listing()
        fulls = [f for f in files if f.kind == "full"]
        if not fulls:
            raise FileNotFoundError(f"no full-YYYYMMDD.txt file in {self.directory}")
        base = fulls[-1]
        numbers = self._read(base.path)
        applied = [base.path.name]
        for change in (f for f in files if f.day > base.day and f.kind != "full"):
            part = self._read(change.path)
            if change.kind == "add":
                numbers = sorted_unique(np.concatenate([numbers, part]))
            else:
                numbers = numbers[~NumberIndex(part).contains_many(numbers)]
            applied.append(change.path.name)
        newest = max(f.day for f in files if f.path.name in applied)
        return NumberIndex(numbers, assume_sorted_unique=True), newest, applied

    @staticmethod
    def _read(path: Path) -> np.ndarray[Any, np.dtype[np.int64]]:
        parsed = parse_numbers(path, region="US", number_format="e164")
        if parsed.invalid_count:
            first = parsed.invalid[0]
            raise ValueError(
                f"{path.name}: {parsed.invalid_count} invalid line(s), first line "
                f"{first.line}: {first.text!r}: {first.reason}"
            )
        return sorted_unique(parsed.numbers)


class NationalRegistryProvider:
    """Kind ``"national_registry"``. Options: ``directory`` (required),
    ``max_age_days`` (31), ``refresh_interval_s`` (300)."""

    def __init__(self, config: DncServiceConfig, context: PluginContext | None = None) -> None:
        where = f"DNC service {config.name!r}"
        directory = config.options.get("directory")
        if not isinstance(directory, str) or not directory:
            raise ValueError(f"{where}: option 'directory' (the registry's files) is required")
        self.max_age_days = int(config.options.get("max_age_days", 31))
        self.refresh_interval_s = float(config.options.get("refresh_interval_s", 300))
        if self.max_age_days < 1 or self.refresh_interval_s <= 0:
            raise ValueError(f"{where}: max_age_days must be >= 1 and refresh_interval_s > 0")
        self.config = config
        self.context = context
        self.files = RegistryFiles(Path(directory))
        self._index: NumberIndex | None = None
        self._data_day: date | None = None
        self._applied: list[str] = []
        self._signature: tuple[tuple[str, int, int], ...] = ()
        self._problem = ""
        self._task: asyncio.Task[None] | None = None

    def _now(self) -> datetime:
        return self.context.now() if self.context is not None else datetime.now(UTC)

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._refresh_forever())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def refresh(self) -> bool:
        """Re-read the folder if its files changed; True when a new index is in service."""
        try:
            signature = await asyncio.to_thread(self.files.signature)
            if signature == self._signature and self._index is not None:
                return False
            index, day, applied = await asyncio.to_thread(self.files.build)
        except (OSError, ValueError) as exc:
            self._problem = f"cannot import the registry files: {exc}"
            log.warning(
                "national_registry_import_failed service=%s error=%s", self.config.name, exc
            )
            return False
        self._index, self._data_day, self._applied = index, day, applied
        self._signature, self._problem = signature, ""
        log.info(
            "national_registry_loaded service=%s numbers=%d date=%s",
            self.config.name,
            len(index),
            day,
        )
        return True

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_interval_s)
            await self.refresh()

    def _age_problem(self) -> str:
        if self._index is None or self._data_day is None:
            return self._problem or "no registry data loaded"
        age = (self._now().date() - self._data_day).days
        if age > self.max_age_days:
            return (
                f"data older than {self.max_age_days} days: the newest file is of "
                f"{self._data_day.isoformat()} ({age} days ago); fetch the registry's files"
            )
        return ""

    async def check(self, number: str) -> DncVerdict:
        problem = self._age_problem()
        if problem or self._index is None:
            raise DncUnavailable(f"DNC service {self.config.name!r}: {problem}")
        try:
            value = normalise_e164(number)
        except ValueError as exc:
            raise DncUnavailable(f"DNC service {self.config.name!r}: {number!r}: {exc}") from None
        return DncVerdict(
            number=number,
            do_not_call=value in self._index,
            service=self.config.name,
            checked_at=self._now(),
        )

    def health(self) -> Health:
        problem = self._age_problem()
        if problem:
            return Health(ok=False, detail=problem)
        assert self._index is not None
        detail = (
            f"{len(self._index)} numbers as of {self._data_day}; files: {', '.join(self._applied)}"
        )
        if self._problem:  # serving the previous data, still young enough
            return Health(ok=True, detail=f"{detail}; {self._problem}")
        return Health(ok=True, detail=detail)
