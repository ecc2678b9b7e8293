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

This module is the storage of the holds (the SQL). What a routing target uses —
the claim, the releases queued from the event loop, a snapshot of the *other*
nodes' holds refreshed in the background — is
:class:`~opendialer.core.services.shared_reservations.SharedReservations`.

SQLite is the single-node backend: the routing targets only share their holds
on PostgreSQL (:meth:`SharedReservations.for_context`); the functions work on
both.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from opendialer.core.engine.transactions import write_transaction
from opendialer.core.storage import Database
from opendialer.core.storage.tables import RoutingReservation

#: First key of ``pg_advisory_xact_lock(int4, int4)`` for a pool; the second is
#: ``hashtext(pool)``. (The scheduler's lock uses the one-bigint form: another key space.)
POOL_LOCK_CLASS = 0x0D1A
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


__all__ = [
    "POOL_LOCK_CLASS",
    "Hold",
    "PendingWrites",
    "claim",
    "delete_expired",
    "forget_node",
    "others_holds",
    "shared_backend",
    "write_pending",
]
