"""The embedded Do-Not-Call provider: the list in the database, held in memory.

``start()`` reads the whole list (snapshot parts + the rows added since, see
:mod:`opendialer.sdk.dnc_lists`) into a :class:`NumberIndex` (sorted
``int64``; 10 million numbers = 80 MB). Lookups never touch the database.

Changes reach every node two ways: on PostgreSQL a ``LISTEN`` connection wakes
the provider as soon as an import commits (anywhere: another node, the CLI);
on both backends a poll of ``list_version`` every ``poll_interval_s`` (default
1 s; one indexed single-row query) catches what a notification missed — they
are lost while the listening connection is down, so after it is restored the
provider also looks once. An append is applied as a delta (only the numbers
added since this node's version are read and merged in); a replace reloads the
whole list. The new index is built beside the old one and the reference is
swapped in one step, together with its version: a lookup sees the old list or
the new one, never a mix.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from opendialer import sdk
from opendialer.sdk import (
    DncServiceConfig,
    DncUnavailable,
    DncVerdict,
    Health,
    NumberIndex,
    PluginContext,
    dnc_lists,
    normalise_e164,
)

log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL_S = 1.0
#: Pause before listening again after the connection was lost or refused.
RELISTEN_AFTER_S = 1.0


@dataclass(frozen=True)
class ListLoad:
    """How the list last changed in memory (Diagnostics, ``bench/dnc.py``)."""

    kind: str  # "full" (start, replace) or "delta" (append)
    version: int
    numbers_read: int
    read_s: float  # waiting for the database
    parse_s: float  # database bytes → int64 arrays
    index_s: float  # sort / merge into the index
    at: datetime

    @property
    def total_s(self) -> float:
        return self.read_s + self.parse_s + self.index_s


class _ServiceDeleted(DncUnavailable):
    pass


def _build_index(read: dnc_lists.ListRead) -> NumberIndex:
    """The index of a whole-list read, sorted in place in the array it arrived in."""
    if read.combined is None:
        return NumberIndex(read.base, assume_sorted_unique=True).merged(read.added)
    # Snapshot then the rows added since: two sorted runs, merged by timsort in linear
    # time. Without a snapshot the rows come in no order: an ordinary sort.
    return NumberIndex.adopt(read.combined, sorted_runs=read.base.size > 0)


class EmbeddedDncProvider:
    """Kind ``"embedded"``. Options: ``poll_interval_s`` (number > 0, default 1.0),
    ``listen`` (PostgreSQL change notifications, default true)."""

    @staticmethod
    def validate_options(options: Mapping[str, Any]) -> dict[str, Any]:
        """An embedded service has no url nor ca_bundle: its list is in the database."""
        problems = sdk.OptionProblems()
        for name in ("url", "ca_bundle"):
            if options.get(name) not in (None, ""):
                problems.errors.append(
                    sdk.OptionError("dnc.embedded_has_no", option=name, name=name)
                )
        problems.raise_if_any()
        return {"url": None, "ca_bundle": None}

    def __init__(self, config: DncServiceConfig, context: PluginContext | None = None) -> None:
        self.config = config
        self.context = context
        interval = config.options.get("poll_interval_s", DEFAULT_POLL_INTERVAL_S)
        if not isinstance(interval, int | float) or isinstance(interval, bool) or interval <= 0:
            raise ValueError(
                f"DNC service {config.name!r}: option poll_interval_s must be a number > 0"
            )
        listen = config.options.get("listen", True)
        if not isinstance(listen, bool):
            raise ValueError(f"DNC service {config.name!r}: option listen must be true or false")
        self.poll_interval_s = float(interval)
        self.listen = listen
        self.last_load: ListLoad | None = None
        #: When the list in memory was last imported (its verdicts' ``list_date``).
        self.list_date: datetime | None = None
        self._index: NumberIndex | None = None
        self._version: int | None = None
        self._problem = ""
        self._problem_since: datetime | None = None
        self._changed = asyncio.Event()
        self._refresh_lock = asyncio.Lock()
        self._listener: dnc_lists.ChangeListener | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        await self.reload()
        name = f"dnc-{self.config.id}"
        self._tasks.append(asyncio.create_task(self._watch(), name=f"{name}-watch"))
        if self.listen:
            self._tasks.append(asyncio.create_task(self._keep_listening(), name=f"{name}-listen"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._listener is not None:
            await self._listener.close()
            self._listener = None

    async def reload(self) -> None:
        """Read the whole list again and swap it in."""
        async with self._refresh_lock:
            await self._load(since=None)

    async def refresh(self) -> None:
        """Bring the index up to the database's list version: the added numbers after
        appends, the whole list after a replace; nothing when the version has not moved."""
        async with self._refresh_lock:
            version = await dnc_lists.list_version(self.config.id)
            if version is None:
                self._index = None  # fail closed: a deleted list answers nothing
                raise _ServiceDeleted("the service was deleted")
            if version != self._version or self._index is None:
                await self._load(since=self._version if self._index is not None else None)

    async def _load(self, *, since: int | None) -> None:
        # Read before the list: an import committed in between makes it older, never
        # newer, than the numbers it goes with.
        list_date = await dnc_lists.list_date(self.config.id)
        read = await dnc_lists.read_list(self.config.id, since=since)
        if read is None:
            self._index = None
            raise _ServiceDeleted(f"DNC service {self.config.name!r} no longer exists")
        started = time.perf_counter()
        current = self._index
        if read.delta and current is not None:
            index = await asyncio.to_thread(current.merged, read.added)
        else:
            index = await asyncio.to_thread(_build_index, read)
        load = ListLoad(
            kind="delta" if read.delta else "full",
            version=read.version,
            numbers_read=int(read.base.size + read.added.size),
            read_s=read.read_s,
            parse_s=read.parse_s,
            index_s=time.perf_counter() - started,
            at=datetime.now(UTC),
        )
        del read
        # One step with no await in between: lookups see (old list, old version) or
        # (new list, new version).
        self._index, self._version, self.last_load = index, load.version, load
        self.list_date = list_date
        log.info(
            "dnc_list_loaded service=%s kind=%s numbers=%d read=%d version=%d seconds=%.2f",
            self.config.name,
            load.kind,
            len(index),
            load.numbers_read,
            load.version,
            load.total_s,
        )

    async def _watch(self) -> None:
        """Refresh when notified, and every ``poll_interval_s`` in any case."""
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancellation that races its timeout, and close() would wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval_s):
                    await self._changed.wait()
            self._changed.clear()
            try:
                await self.refresh()
            except _ServiceDeleted:
                self._set_problem("the service was deleted")
            except Exception as exc:  # keep serving the loaded list; say why it may be stale
                self._set_problem(f"cannot check the list for changes: {type(exc).__name__}")
                log.warning("dnc_refresh_failed service=%s error=%r", self.config.name, exc)
            else:
                self._set_problem("")

    def _on_change(self, service_id: int, version: int) -> None:
        if service_id == self.config.id and version != self._version:
            self._changed.set()

    async def _keep_listening(self) -> None:
        """Hold a LISTEN connection (PostgreSQL); open it again whenever it is lost."""
        while True:
            try:
                listener = await dnc_lists.listen_for_changes(self._on_change)
            except Exception as exc:
                log.warning("dnc_listen_failed service=%s error=%r", self.config.name, exc)
                await asyncio.sleep(RELISTEN_AFTER_S)
                continue
            if listener is None:
                return  # this backend has no notifications: polling alone
            self._listener = listener
            self._changed.set()  # what changed while nobody listened: look once
            try:
                await listener.wait_lost()
            finally:
                self._listener = None
                await listener.close()
            log.warning("dnc_listen_lost service=%s", self.config.name)
            await asyncio.sleep(RELISTEN_AFTER_S)

    def _set_problem(self, problem: str) -> None:
        if problem and not self._problem:
            self._problem_since = datetime.now(UTC)
        self._problem = problem

    # -- lookups -----------------------------------------------------------

    @property
    def list_version(self) -> int | None:
        return self._version

    @property
    def listening(self) -> bool:
        """Is a change-notification connection up right now?"""
        return self._listener is not None

    @property
    def listener_backend_pid(self) -> int | None:
        """The PostgreSQL backend of the LISTEN connection (operators: pg_stat_activity)."""
        return self._listener.backend_pid if self._listener is not None else None

    def __len__(self) -> int:
        return len(self._index) if self._index is not None else 0

    def is_listed(self, number: int) -> bool:
        """Is ``number`` (E.164 digits as an int) on the list? Raises if not loaded."""
        index = self._index
        if index is None:
            raise DncUnavailable(f"DNC service {self.config.name!r}: list not loaded")
        return number in index

    def are_listed(self, numbers: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Vectorised :meth:`is_listed` for a batch of numbers (one index for all of them)."""
        index = self._index
        if index is None:
            raise DncUnavailable(f"DNC service {self.config.name!r}: list not loaded")
        return index.contains_many(numbers)

    async def check(self, number: str) -> DncVerdict:
        try:
            value = normalise_e164(number)
        except ValueError as exc:
            raise DncUnavailable(f"DNC service {self.config.name!r}: {number!r}: {exc}") from None
        # The index, its version and its load are swapped together (_load), with no
        # await between this lookup and reading them.
        listed = self.is_listed(value)
        now = self.context.now() if self.context is not None else datetime.now(UTC)
        load = self.last_load
        return DncVerdict(
            number=number.lstrip("+"),
            do_not_call=listed,
            service=self.config.name,
            checked_at=now,
            list_version=self._version,
            list_loaded_at=load.at if load is not None else None,
            list_date=self.list_date,
        )

    def health(self) -> Health:
        load = self.last_load
        if self._index is None or load is None:
            return Health(ok=False, detail="list not loaded")
        changes = "notified and polled" if self.listening else "polled"
        detail = (
            f"{len(self._index)} numbers, list version {self._version}, "
            f"{load.kind} load at {load.at:%Y-%m-%d %H:%M:%S} UTC in {load.total_s:.1f} s; "
            f"changes {changes} (every {self.poll_interval_s:g} s)"
        )
        if self._problem:
            return Health(ok=False, detail=f"{self._problem}; {detail}", since=self._problem_since)
        return Health(ok=True, detail=detail, since=load.at)
