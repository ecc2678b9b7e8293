"""Routing reservations shared by every engine node (table ``routing_reservation``).

A routing target holds one slot — a free agent of a queue, an IVR channel —
per call it launched, until the contact center's count shows that call (or,
for an IVR, until the transferred call ends). Each node used to keep those
holds in memory only: two nodes reading "1 free agent" both launched a call.
Here the holds are rows, and a node may only launch a call for a slot it has
*claimed* in the database:

- :func:`claim` — in one transaction: apply the node's queued releases, lock
  the pool (PostgreSQL ``pg_advisory_xact_lock``; SQLite has one writer
  anyway), count the live holds of the pool, insert at most ``capacity −
  held`` new ones. Two nodes claiming the last free agent at the same moment
  queue on the lock; the second sees the first's row and gets nothing. Exact,
  not probabilistic. On PostgreSQL it is one statement, the PL/pgSQL function
  ``routing_claim`` of migration m0007 (one round trip on the launch path).
- A hold is *live* while ``expires_at`` is in the future, its node's
  ``engine_node`` heartbeat is fresh (a killed node's holds stop counting as
  soon as it is declared dead) and — for counts that already see transferred
  calls — the call was transferred after the count was fetched.
- Fair share: a node refused slots is recorded as *waiting*
  (``routing_waiter``); while others wait, a node holds at most its share of
  the pool, so the slot its own ended call frees goes to a waiting node rather
  than straight back to it.
- :class:`SharedReservations` — what a routing target uses: the claim, the
  releases queued from the event loop (written with the next claim or
  refresh), and a snapshot of the *other* nodes' holds refreshed in the
  background, so ``free_slots`` stays an in-memory computation.

SQLite is the single-node backend: the routing targets only share their holds
on PostgreSQL (:meth:`SharedReservations.for_context`); the functions work on
both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from bisect import bisect_left
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from opendialer.core.engine.transactions import write_transaction
from opendialer.core.storage import Database
from opendialer.core.storage.tables import RoutingReservation

log = logging.getLogger("opendialer.routing.shared")

#: First key of ``pg_advisory_xact_lock(int4, int4)`` for a pool; the second is
#: ``hashtext(pool)``. (The scheduler's lock uses the one-bigint form: another key space.)
POOL_LOCK_CLASS = 0x0D1A
#: How often a node re-reads the other nodes' holds (the claim is exact whatever this is).
DEFAULT_REFRESH_S = 0.3
#: Expired rows are deleted every this many refreshes (they stop counting at once anyway).
_CLEANUP_EVERY = 20
#: A refused node counts as waiting this long after its last refused claim.
WAIT_S = 2.0


@dataclass(frozen=True, slots=True)
class Hold:
    """One live hold as a node reads it."""

    pool: str
    node: str
    transferred_at: datetime | None

    def counts_against(self, settled_before: datetime | None) -> bool:
        """Whether a count fetched at ``settled_before`` cannot see this hold yet."""
        return (
            self.transferred_at is None
            or settled_before is None
            or self.transferred_at >= settled_before
        )


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


@dataclass(slots=True)
class PendingWrites:
    """Releases decided in the event loop, written by the next claim or refresh."""

    released: set[str]
    #: call id → (transferred at, new expiry)
    transferred: dict[str, tuple[datetime, datetime]]

    def __bool__(self) -> bool:
        return bool(self.released or self.transferred)


def _engine() -> Any:
    return RoutingReservation._meta.db


def shared_backend() -> bool:
    """True when the tables are on PostgreSQL (several engine nodes possible)."""
    return isinstance(_engine(), PostgresEngine)


async def _sql(sql: str, *args: Any) -> list[dict[str, Any]]:
    return await RoutingReservation.raw(sql, *args).run()  # type: ignore[no-any-return]


def _marks(n: int) -> str:
    return ", ".join(["{}"] * n)


@asynccontextmanager
async def _transaction() -> AsyncIterator[None]:
    engine = _engine()
    postgres = isinstance(engine, PostgresEngine)
    db = Database(url="", engine=engine, dialect="postgres" if postgres else "sqlite")
    async with write_transaction(db, urgent=True):  # on the launch path
        yield


async def _apply(pending: PendingWrites) -> None:
    for call_id, (at, latest) in pending.transferred.items():
        if call_id in pending.released:
            continue
        await _sql(
            "UPDATE routing_reservation SET transferred_at = {}, expires_at = {} "
            "WHERE call_id = {}",
            at,
            latest,
            call_id,
        )
    if pending.released:
        ids = sorted(pending.released)
        await _sql(f"DELETE FROM routing_reservation WHERE call_id IN ({_marks(len(ids))})", *ids)


async def _live_holds(
    pools: list[str], *, node: str, now: datetime, alive_since: datetime, others_only: bool
) -> list[Hold]:
    """Holds of ``pools`` that count: not expired, held by ``node`` or a live node."""
    who = (
        "r.node <> {} AND e.heartbeat_at >= {}"
        if others_only
        else ("(r.node = {} OR e.heartbeat_at >= {})")
    )
    rows = await _sql(
        "SELECT r.pool, r.node, r.transferred_at FROM routing_reservation r "
        "LEFT JOIN engine_node e ON e.node_id = r.node "
        f"WHERE r.pool IN ({_marks(len(pools))}) AND r.expires_at > {{}} AND {who}",
        *pools,
        now,
        node,
        alive_since,
    )
    return [Hold(r["pool"], r["node"], _aware(r["transferred_at"])) for r in rows]


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


async def claim(
    *,
    pool: str,
    node: str,
    campaign_id: int,
    call_ids: list[str],
    capacity: int,
    now: datetime,
    alive_since: datetime,
    expires_at: datetime,
    settled_before: datetime | None = None,
    pending: PendingWrites | None = None,
    was_waiting: bool = False,
) -> tuple[list[str], list[Hold]]:
    """Hold up to ``capacity`` slots of ``pool`` in total, across every live node.

    Returns the call ids granted (a prefix of ``call_ids``) and the other nodes'
    live holds of the pool as seen under the lock. ``settled_before``: the time
    the caller's count was fetched; holds transferred before it are already in
    that count (None: every live hold counts, as for IVR channels).

    Fair share: while other live nodes wait (refused within :data:`WAIT_S`), a
    node may hold at most ``ceil(capacity / (1 + waiting nodes))`` — a slot its
    own ended call frees then goes to a waiting node, not back to it. A node
    granted less than it asked is recorded as waiting (``was_waiting``: it was,
    and the marker is removed once it gets all it asks for).
    """
    if shared_backend():
        return await _claim_postgres(
            pool=pool,
            node=node,
            campaign_id=campaign_id,
            call_ids=call_ids,
            capacity=capacity,
            now=now,
            alive_since=alive_since,
            expires_at=expires_at,
            settled_before=settled_before,
            pending=pending or PendingWrites(set(), {}),
            was_waiting=was_waiting,
        )
    async with _transaction():
        if pending:
            await _apply(pending)
        if shared_backend():
            # Serialises the claims of one pool; held until COMMIT. The count below is a
            # new statement, so (READ COMMITTED) it sees every claim committed before us.
            await _sql("SELECT pg_advisory_xact_lock({}, hashtext({}))", POOL_LOCK_CLASS, pool)
        holds = await _live_holds(
            [pool], node=node, now=now, alive_since=alive_since, others_only=False
        )
        counted = [h for h in holds if h.counts_against(settled_before)]
        room = capacity - len(counted)
        waiting = await _sql(
            "SELECT w.node FROM routing_waiter w JOIN engine_node e ON e.node_id = w.node "
            "WHERE w.pool = {} AND w.until > {} AND w.node <> {} AND e.heartbeat_at >= {}",
            pool,
            now,
            node,
            alive_since,
        )
        if waiting:
            share = math.ceil(capacity / (1 + len(waiting)))
            room = min(room, share - sum(1 for h in counted if h.node == node))
        granted = call_ids[: max(0, room)]
        if len(granted) < len(call_ids):
            await _sql(
                "INSERT INTO routing_waiter (pool, node, until) VALUES ({}, {}, {}) "
                "ON CONFLICT (pool, node) DO UPDATE SET until = excluded.until",
                pool,
                node,
                now + timedelta(seconds=WAIT_S),
            )
        elif was_waiting:
            await _sql("DELETE FROM routing_waiter WHERE pool = {} AND node = {}", pool, node)
        if granted:
            values: list[Any] = []
            for call_id in granted:
                values += [call_id, pool, node, campaign_id, now, expires_at]
            await _sql(
                "INSERT INTO routing_reservation "
                "(call_id, pool, node, campaign, created_at, expires_at) VALUES "
                + ", ".join(["({}, {}, {}, {}, {}, {})"] * len(granted)),
                *values,
            )
    return granted, [h for h in holds if h.node != node]


async def _claim_postgres(
    *,
    pool: str,
    node: str,
    campaign_id: int,
    call_ids: list[str],
    capacity: int,
    now: datetime,
    alive_since: datetime,
    expires_at: datetime,
    settled_before: datetime | None,
    pending: PendingWrites,
    was_waiting: bool,
) -> tuple[list[str], list[Hold]]:
    """:func:`claim` as one statement: the ``routing_claim`` function of migration m0007
    (same steps, same order, one round trip on the launch path)."""
    moved = [(cid, at, until) for cid, (at, until) in pending.transferred.items()]
    rows = await _sql(
        "SELECT o_kind AS kind, o_call_id AS call_id, o_node AS node, "
        "o_transferred_at AS transferred_at FROM routing_claim(" + _marks(16) + ")",
        pool,
        node,
        campaign_id,
        call_ids,
        capacity,
        now,
        alive_since,
        expires_at,
        settled_before,
        sorted(pending.released),
        [m[0] for m in moved],
        [m[1] for m in moved],
        [m[2] for m in moved],
        was_waiting,
        now + timedelta(seconds=WAIT_S),
        POOL_LOCK_CLASS,
    )
    granted = [r["call_id"] for r in rows if r["kind"] == "granted"]
    others = [Hold(pool, r["node"], r["transferred_at"]) for r in rows if r["kind"] == "other"]
    return granted, others


async def others_holds(
    pools: list[str], *, node: str, now: datetime, alive_since: datetime
) -> list[Hold]:
    """The live holds of ``pools`` by nodes other than ``node``."""
    if not pools:
        return []
    return await _live_holds(pools, node=node, now=now, alive_since=alive_since, others_only=True)


async def write_pending(pending: PendingWrites) -> None:
    if pending:
        async with _transaction():
            await _apply(pending)


async def delete_expired(now: datetime) -> int:
    rows = await _sql(
        "DELETE FROM routing_reservation WHERE expires_at <= {} RETURNING call_id", now
    )
    await _sql("DELETE FROM routing_waiter WHERE until <= {}", now)
    return len(rows)


async def forget_node(node: str, family: str) -> None:
    """Drop the holds of ``node`` in the pools named ``family…`` (its target starts
    afresh, or stops: its calls are gone). Another target's pools are not touched."""
    like = family.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    for table in ("routing_reservation", "routing_waiter"):
        await _sql(
            f"DELETE FROM {table} WHERE node = {{}} AND pool LIKE {{}} ESCAPE '\\'", node, like
        )


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


__all__ = [
    "DEFAULT_REFRESH_S",
    "POOL_LOCK_CLASS",
    "Hold",
    "OthersView",
    "PendingWrites",
    "SharedReservations",
    "claim",
    "delete_expired",
    "forget_node",
    "others_holds",
    "shared_backend",
]
