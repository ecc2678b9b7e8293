"""The embedded Do-Not-Call provider: the list in the database, held in memory.

``start()`` reads the whole list in bulk into a :class:`NumberIndex` (sorted
``int64``; 10 million numbers = 80 MB); a background task then polls the
service's ``list_version`` (one indexed single-row query, every
``poll_interval_s``, default 1 s) and reloads when it moved — so an import on
any node, or from the CLI, is seen by every node within a couple of seconds.
Lookups never touch the database. A reload builds the new index beside the old
one and swaps the reference: lookups in between answer from the old list.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from opendialer.core.contracts import DncServiceConfig, DncUnavailable, DncVerdict, Health
from opendialer.core.services import dnc_numbers
from opendialer.core.services.dnc_csv import normalise_e164
from opendialer.plugins.dnc_embedded.index import NumberIndex

log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL_S = 1.0


class EmbeddedDncProvider:
    """Kind ``"embedded"``. Options: ``poll_interval_s`` (float, default 1.0)."""

    def __init__(self, config: DncServiceConfig, context: Any = None) -> None:
        self.config = config
        self.context = context
        interval = config.options.get("poll_interval_s", DEFAULT_POLL_INTERVAL_S)
        if not isinstance(interval, int | float) or isinstance(interval, bool) or interval <= 0:
            raise ValueError(
                f"DNC service {config.name!r}: option poll_interval_s must be a number > 0"
            )
        self.poll_interval_s = float(interval)
        self._index: NumberIndex | None = None
        self._version: int | None = None
        self._loaded_at: datetime | None = None
        self._load_seconds = 0.0
        self._problem = ""
        self._problem_since: datetime | None = None
        self._poller: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        await self.reload()
        self._poller = asyncio.create_task(self._poll(), name=f"dnc-poll-{self.config.id}")

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None

    async def reload(self) -> None:
        """Read the list again (the version first: a change in between reloads once more)."""
        started = time.perf_counter()
        version = await dnc_numbers.list_version(self.config.id)
        if version is None:
            raise DncUnavailable(f"DNC service {self.config.name!r} no longer exists")
        numbers = await dnc_numbers.read_numbers(self.config.id)
        index = await asyncio.to_thread(NumberIndex.adopt, numbers)
        del numbers
        self._index, self._version = index, version
        self._loaded_at = datetime.now(UTC)
        self._load_seconds = time.perf_counter() - started
        log.info(
            "dnc_list_loaded service=%s numbers=%d version=%d seconds=%.2f",
            self.config.name,
            len(index),
            version,
            self._load_seconds,
        )

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval_s)
            try:
                version = await dnc_numbers.list_version(self.config.id)
                if version is None:
                    self._set_problem("the service was deleted")
                    self._index = None  # fail closed: a deleted list answers nothing
                elif version != self._version:
                    await self.reload()
                    self._set_problem("")
                else:
                    self._set_problem("")
            except Exception as exc:  # keep serving the loaded list; say why it may be stale
                self._set_problem(f"cannot check the list for changes: {type(exc).__name__}")
                log.warning("dnc_poll_failed service=%s error=%r", self.config.name, exc)

    def _set_problem(self, problem: str) -> None:
        if problem and not self._problem:
            self._problem_since = datetime.now(UTC)
        self._problem = problem

    # -- lookups -----------------------------------------------------------

    @property
    def list_version(self) -> int | None:
        return self._version

    def __len__(self) -> int:
        return len(self._index) if self._index is not None else 0

    def is_listed(self, number: int) -> bool:
        """Is ``number`` (E.164 digits as an int) on the list? Raises if not loaded."""
        if self._index is None:
            raise DncUnavailable(f"DNC service {self.config.name!r}: list not loaded")
        return number in self._index

    def are_listed(self, numbers: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Vectorised :meth:`is_listed` for a batch of numbers."""
        if self._index is None:
            raise DncUnavailable(f"DNC service {self.config.name!r}: list not loaded")
        return self._index.contains_many(numbers)

    async def check(self, number: str) -> DncVerdict:
        try:
            value = normalise_e164(number)
        except ValueError as exc:
            raise DncUnavailable(f"DNC service {self.config.name!r}: {number!r}: {exc}") from None
        listed = self.is_listed(value)
        now = self.context.now() if self.context is not None else datetime.now(UTC)
        return DncVerdict(
            number=number.lstrip("+"), do_not_call=listed, service=self.config.name, checked_at=now
        )

    def health(self) -> Health:
        if self._index is None:
            return Health(ok=False, detail="list not loaded")
        detail = (
            f"{len(self._index)} numbers, list version {self._version}, "
            f"loaded {self._loaded_at:%Y-%m-%d %H:%M:%S} UTC in {self._load_seconds:.1f} s"
        )
        if self._problem:
            return Health(ok=False, detail=f"{self._problem}; {detail}", since=self._problem_since)
        return Health(ok=True, detail=detail, since=self._loaded_at)
