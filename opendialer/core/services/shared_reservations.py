"""What a routing target uses to share its slots with every engine node:
:class:`SharedReservations` (exported by :mod:`opendialer.sdk`).

The claim (exact, in the database: :mod:`.routing_reservations`), the releases
queued from the event loop (written with the next claim or refresh), and a
snapshot of the *other* nodes' holds refreshed in the background, so
``free_slots`` stays an in-memory computation. SQLite is the single-node
backend: a target only shares its holds on PostgreSQL (:meth:`SharedReservations.for_context`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from opendialer.core.services.routing_reservations import (
    Hold,
    PendingWrites,
    claim,
    delete_expired,
    forget_node,
    others_holds,
    shared_backend,
    write_pending,
)

log = logging.getLogger("opendialer.routing.shared")

#: How often a node re-reads the other nodes' holds (the claim is exact whatever this is).
DEFAULT_REFRESH_S = 0.3
#: Expired rows are deleted every this many refreshes (they stop counting at once anyway).
_CLEANUP_EVERY = 20


@dataclass(frozen=True, slots=True)
class OthersView:
    """The other nodes' live holds of one pool, summed up for ``free_slots``."""

    untransferred: int
    #: Sorted: the holds a count fetched at t cannot see are those transferred at >= t.
    transferred: tuple[datetime, ...]
    nodes: int

    @classmethod
    def of(cls, holds: list[Hold]) -> OthersView:
        moved = sorted(h.transferred_at for h in holds if h.transferred_at is not None)
        return cls(len(holds) - len(moved), tuple(moved), len({h.node for h in holds}))

    def count(self, settled_before: datetime | None) -> int:
        if settled_before is None or not self.transferred:
            return self.untransferred + len(self.transferred)
        return (
            self.untransferred
            + len(self.transferred)
            - bisect_left(self.transferred, settled_before)
        )


_NOBODY = OthersView(0, (), 0)


class SharedReservations:
    """A routing target's link to the holds of every node (see the module doc).

    ``family`` starts the name of every pool of the target (``oscc:``, ``ivr``);
    ``pools()`` says which pools it counts now (refreshed in the background).
    Times come from ``now`` (the engine's clock, like the heartbeats they are
    compared with).
    """

    def __init__(
        self,
        node: str,
        *,
        family: str,
        pools: Callable[[], Iterable[str]],
        now: Callable[[], datetime],
        dead_after_s: float,
        refresh_s: float = DEFAULT_REFRESH_S,
    ) -> None:
        self.node = node
        self.family = family
        self._pools = pools
        self._now = now
        self._dead_after = timedelta(seconds=dead_after_s)
        self._refresh_s = refresh_s
        self._others: dict[str, OthersView] = {}
        self._waiting: set[str] = set()  # pools this node was refused slots of
        self._pending = PendingWrites(set(), {})
        #: Held while this node's queued releases are being written: a claim must not
        #: count rows that a refresh is deleting at that very moment.
        self._writing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.refreshed_mono: float | None = None
        self.last_error = ""
        self.claims = 0
        self.claims_short = 0  # the database granted fewer than asked

    @classmethod
    def for_context(
        cls,
        context: Any,
        family: str,
        pools: Callable[[], Iterable[str]],
        now: Callable[[], datetime],
    ) -> SharedReservations | None:
        """Shared holds for an engine node on PostgreSQL; None otherwise (a target used
        outside the engine, or SQLite — the single-node backend: memory is exact there)."""
        settings = getattr(context, "settings", None) or {}
        node = settings.get("node_id")
        if not node or not shared_backend():
            return None
        return cls(
            str(node),
            family=family,
            pools=pools,
            now=now,
            dead_after_s=float(settings.get("dead_after_s", 15.0)),
            refresh_s=float(settings.get("routing_refresh_s", DEFAULT_REFRESH_S)),
        )

    # -- life cycle ----------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None:
            return
        await forget_node(self.node, self.family)  # a previous life's calls are gone
        self._task = asyncio.create_task(self._refresh_loop(), name=f"shared-holds-{self.node}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await forget_node(self.node, self.family)
        except Exception:
            log.exception("shared_holds_forget_failed node=%s", self.node)
        self._others.clear()

    # -- what free_slots reads -----------------------------------------------

    def others(self, pool: str, settled_before: datetime | None = None) -> int:
        """Slots of ``pool`` the other live nodes hold (last refresh), that a count
        fetched at ``settled_before`` cannot see yet."""
        return self._others.get(pool, _NOBODY).count(settled_before)

    def free(self, pool: str, capacity: int, own: int, settled_before: datetime | None) -> int:
        """What ``free_slots`` should say: ``capacity`` minus every node's holds — or, when
        other nodes hold slots, at least this node's fair share minus its own holds, so
        that it asks (the claim decides; a refused node makes the others keep to their
        share)."""
        view = self._others.get(pool, _NOBODY)
        if not view.nodes:
            return max(0, capacity - own)
        free = capacity - own - view.count(settled_before)
        return max(0, free, -(-capacity // (1 + view.nodes)) - own)  # ceil division

    # -- claims and releases -------------------------------------------------

    async def claim(
        self,
        pool: str,
        campaign_id: int,
        call_ids: list[str],
        *,
        capacity: int,
        hold_s: float,
        settled_before: datetime | None = None,
    ) -> list[str]:
        """The call ids granted a slot of ``pool`` (none when the database fails)."""
        if capacity <= 0 or not call_ids:
            return []
        async with self._writing:
            return await self._claim(pool, campaign_id, call_ids, capacity, hold_s, settled_before)

    async def _claim(
        self,
        pool: str,
        campaign_id: int,
        call_ids: list[str],
        capacity: int,
        hold_s: float,
        settled_before: datetime | None,
    ) -> list[str]:
        now = self._now()
        pending = self._take_pending()
        try:
            granted, others = await claim(
                pool=pool,
                node=self.node,
                campaign_id=campaign_id,
                call_ids=call_ids,
                capacity=capacity,
                now=now,
                alive_since=now - self._dead_after,
                expires_at=now + timedelta(seconds=hold_s),
                settled_before=settled_before,
                pending=pending,
                was_waiting=pool in self._waiting,
            )
        except Exception as exc:
            self._restore(pending)
            self._failed(f"claim failed: {type(exc).__name__}: {exc}")
            return []  # fail safe: no slot, no call
        self._others[pool] = OthersView.of(others)
        self.claims += 1
        if len(granted) < len(call_ids):
            self.claims_short += 1
            self._waiting.add(pool)
        else:
            self._waiting.discard(pool)
        return granted

    def released(self, call_id: str) -> None:
        """The call never reached its target, or its transferred call ended: slot free."""
        self._pending.released.add(call_id)

    def transferred(self, call_id: str, *, keep_s: float) -> None:
        """The call reached its target; the hold now expires ``keep_s`` from now."""
        now = self._now()
        self._pending.transferred[call_id] = (now, now + timedelta(seconds=keep_s))

    def status(self) -> dict[str, Any]:
        age = time.monotonic() - self.refreshed_mono if self.refreshed_mono is not None else None
        return {
            "node": self.node,
            "held_by_other_nodes": {
                pool: view.count(None) for pool, view in sorted(self._others.items())
            },
            "waiting_for": sorted(self._waiting),
            "refreshed_s_ago": round(age, 3) if age is not None else None,
            "claims": self.claims,
            "claims_short": self.claims_short,
            "last_error": self.last_error or None,
        }

    # -- background ----------------------------------------------------------

    def _take_pending(self) -> PendingWrites:
        pending, self._pending = self._pending, PendingWrites(set(), {})
        return pending

    def _restore(self, pending: PendingWrites) -> None:
        self._pending.released |= pending.released
        for call_id, value in pending.transferred.items():
            self._pending.transferred.setdefault(call_id, value)

    def _failed(self, error: str) -> None:
        if error != self.last_error:
            log.warning("shared_holds_error node=%s %s", self.node, error)
        self.last_error = error

    async def refresh(self, *, cleanup: bool = False) -> None:
        """Write queued releases, re-read the other nodes' holds."""
        async with self._writing:
            now = self._now()
            pending = self._take_pending()
            try:
                await write_pending(pending)
            except Exception:
                self._restore(pending)
                raise
        pools = sorted(set(self._pools()))
        holds = await others_holds(
            pools, node=self.node, now=now, alive_since=now - self._dead_after
        )
        by_pool: dict[str, list[Hold]] = {pool: [] for pool in pools}
        for hold in holds:
            by_pool[hold.pool].append(hold)
        self._others = {pool: OthersView.of(h) for pool, h in by_pool.items()}
        self.refreshed_mono = time.monotonic()
        if cleanup:
            await delete_expired(now)
        if self.last_error:
            log.info("shared_holds_ok node=%s", self.node)
            self.last_error = ""

    async def _refresh_loop(self) -> None:
        rounds = 0
        while True:
            rounds += 1
            try:
                await self.refresh(cleanup=rounds % _CLEANUP_EVERY == 0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failed(f"refresh failed: {type(exc).__name__}: {exc}")
            await asyncio.sleep(self._refresh_s)


__all__ = ["DEFAULT_REFRESH_S", "OthersView", "SharedReservations"]
