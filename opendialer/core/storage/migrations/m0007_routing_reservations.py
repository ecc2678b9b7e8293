"""Routing reservations shared by every engine node.

A routing target (``oscc``, ``ivr``) holds one slot — a free agent, an IVR
channel — per call it launched until the contact center's count shows that
call (or, for an IVR, until the transferred call ends). With several engine
nodes on one PostgreSQL each node must see the others' holds, so they are
rows: ``pool`` is what the slots belong to (``oscc:<queue>``, ``ivr``),
``node`` who holds it (only nodes whose ``engine_node`` heartbeat is fresh
count), ``expires_at`` when it stops counting whatever happens,
``transferred_at`` when the call reached its target (a count fetched after
that moment already shows the slot busy). ``routing_waiter``: nodes refused
slots they wanted, so the others keep to a fair share. See ``docs/routing.md``.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.postgres import PostgresEngine

from opendialer.core.storage import piccolo_conf

ID = "2026-11-27T10:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "routing reservations shared by the engine nodes"

STATEMENTS = [
    "CREATE TABLE IF NOT EXISTS routing_reservation ("
    " call_id VARCHAR(64) PRIMARY KEY,"
    " pool VARCHAR(300) NOT NULL,"
    " node VARCHAR(64) NOT NULL,"
    " campaign INTEGER NOT NULL,"
    " created_at TIMESTAMPTZ NOT NULL,"
    " expires_at TIMESTAMPTZ NOT NULL,"
    " transferred_at TIMESTAMPTZ NULL)",
    # The claim counts one pool's live holds; the refresh reads the others' holds.
    "CREATE INDEX IF NOT EXISTS routing_reservation_pool ON routing_reservation (pool, expires_at)",
    "CREATE INDEX IF NOT EXISTS routing_reservation_node ON routing_reservation (node)",
    # A node that was refused slots it wanted: while it waits, every node may hold at
    # most its fair share of the pool, so one node cannot keep every agent to itself.
    "CREATE TABLE IF NOT EXISTS routing_waiter ("
    " pool VARCHAR(300) NOT NULL,"
    " node VARCHAR(64) NOT NULL,"
    " until TIMESTAMPTZ NOT NULL,"
    " PRIMARY KEY (pool, node))",
]


#: PostgreSQL: the whole claim (see ``opendialer.core.services.routing_reservations.claim``)
#: in one statement, so a launch waits for one round trip, not seven. A VOLATILE
#: function takes a new snapshot per command: the count after the lock sees every
#: claim of the pool committed before the lock was granted.
CLAIM_FUNCTION = """
CREATE OR REPLACE FUNCTION routing_claim(
    p_pool TEXT, p_node TEXT, p_campaign INTEGER, p_call_ids TEXT[], p_capacity INTEGER,
    p_now TIMESTAMPTZ, p_alive_since TIMESTAMPTZ, p_expires_at TIMESTAMPTZ,
    p_settled_before TIMESTAMPTZ, p_released TEXT[], p_moved TEXT[],
    p_moved_at TIMESTAMPTZ[], p_moved_until TIMESTAMPTZ[], p_was_waiting BOOLEAN,
    p_wait_until TIMESTAMPTZ, p_lock_class INTEGER)
RETURNS TABLE (o_kind TEXT, o_call_id TEXT, o_node TEXT, o_transferred_at TIMESTAMPTZ)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_counted INTEGER;
    v_own INTEGER;
    v_waiting INTEGER;
    v_wanted INTEGER := coalesce(array_length(p_call_ids, 1), 0);
    v_room INTEGER;
BEGIN
    UPDATE routing_reservation r SET transferred_at = m.at, expires_at = m.until
        FROM unnest(p_moved, p_moved_at, p_moved_until) AS m(id, at, until)
        WHERE r.call_id = m.id AND NOT (m.id = ANY (p_released));
    DELETE FROM routing_reservation r WHERE r.call_id = ANY (p_released);
    PERFORM pg_advisory_xact_lock(p_lock_class, hashtext(p_pool));
    SELECT count(*), count(*) FILTER (WHERE r.node = p_node) INTO v_counted, v_own
        FROM routing_reservation r LEFT JOIN engine_node e ON e.node_id = r.node
        WHERE r.pool = p_pool AND r.expires_at > p_now
          AND (r.node = p_node OR e.heartbeat_at >= p_alive_since)
          AND (r.transferred_at IS NULL OR p_settled_before IS NULL
               OR r.transferred_at >= p_settled_before);
    SELECT count(*) INTO v_waiting
        FROM routing_waiter w JOIN engine_node e ON e.node_id = w.node
        WHERE w.pool = p_pool AND w.until > p_now AND w.node <> p_node
          AND e.heartbeat_at >= p_alive_since;
    v_room := p_capacity - v_counted;
    IF v_waiting > 0 THEN
        v_room := LEAST(v_room, ((p_capacity + v_waiting) / (1 + v_waiting)) - v_own);
    END IF;
    v_room := GREATEST(0, LEAST(v_room, v_wanted));
    INSERT INTO routing_reservation (call_id, pool, node, campaign, created_at, expires_at)
        SELECT c, p_pool, p_node, p_campaign, p_now, p_expires_at
        FROM unnest(p_call_ids[1:v_room]) AS c;
    IF v_room < v_wanted THEN
        INSERT INTO routing_waiter (pool, node, until) VALUES (p_pool, p_node, p_wait_until)
            ON CONFLICT (pool, node) DO UPDATE SET until = excluded.until;
    ELSIF p_was_waiting THEN
        DELETE FROM routing_waiter w WHERE w.pool = p_pool AND w.node = p_node;
    END IF;
    RETURN QUERY
        SELECT 'granted'::TEXT, c, NULL::TEXT, NULL::TIMESTAMPTZ
            FROM unnest(p_call_ids[1:v_room]) AS c
        UNION ALL
        SELECT 'other'::TEXT, r.call_id::TEXT, r.node::TEXT, r.transferred_at
            FROM routing_reservation r JOIN engine_node e ON e.node_id = r.node
            WHERE r.pool = p_pool AND r.expires_at > p_now AND r.node <> p_node
              AND e.heartbeat_at >= p_alive_since;
END
$fn$
"""


async def apply() -> None:
    engine = piccolo_conf.DB
    for statement in STATEMENTS:
        await engine.run_ddl(statement)
    if isinstance(engine, PostgresEngine):
        await engine.run_ddl(CLAIM_FUNCTION)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="opendialer", description=DESCRIPTION)
    manager.add_raw(apply)
    return manager
