"""Dialer ports (SIP accounts) shared out between the live engine nodes.

Every engine node reads the one stored platform configuration; without this
each would register and dial every account. Here each port is *leased* by one
node in ``platform_port_lease`` (primary key: the port), renewed every few
seconds and expiring ``lease_s`` after the last renewal, on the database's
clock. A round (:meth:`PortLeases.lease`), run by each node:

1. drop expired leases (a dead node's) and this node's leases of ports no
   longer configured; renew this node's others;
2. the live nodes are those whose ``engine_node`` heartbeat is younger than
   ``dead_after_s`` (plus this node, which may not have joined yet); sorted by
   id, node *i* of *k* is due ``n // k`` ports, the first ``n % k`` one more;
3. above its share a node gives ports back — only idle ones, and only after
   the platform stopped using them (``give_up``), so a port is never in use on
   two nodes; below it, it claims free ports (``INSERT … ON CONFLICT DO
   NOTHING``: two nodes claiming one port, one wins).

A joining node is dialing with its share within two rounds; a dead node's ports
are taken over once its leases expire. SQLite is single-node: every port
belongs to the one node and the table is never touched.

The table is defined by core's migrations; the plugin reaches it through the
SDK's database door (``sdk.PluginDatabase``: raw SQL and the dialect), which
the engine hands to the platform as its ``database`` option.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from opendialer.sdk import PluginDatabase

log = logging.getLogger(__name__)

GiveUp = Callable[[str], Awaitable[bool]]


def fair_share(ports: int, nodes: Sequence[str], node_id: str) -> int:
    """How many of ``ports`` ports ``node_id`` is due among ``nodes`` (every node
    computes the same split from the same live set)."""
    ordered = sorted(set(nodes) | {node_id})
    index = ordered.index(node_id)
    share, extra = divmod(ports, len(ordered))
    return share + (1 if index < extra else 0)


class PortLeases:
    """The ``port_leases`` option of the SIP platform for one engine node."""

    def __init__(
        self, db: PluginDatabase, node_id: str, *, lease_s: float = 15.0, dead_after_s: float = 15.0
    ) -> None:
        if lease_s <= 0 or dead_after_s <= 0:
            raise ValueError("lease_s and dead_after_s must be more than 0")
        self.db = db
        self.node_id = node_id
        self.lease_s = float(lease_s)
        self.dead_after_s = float(dead_after_s)

    async def lease(self, wanted: Sequence[str], give_up: GiveUp) -> frozenset[str]:
        """One round: the ports of ``wanted`` this node holds afterwards."""
        if not self.db.is_postgres:
            return frozenset(wanted)
        me, ports = self.node_id, list(wanted)
        await self.db.fetch(
            "DELETE FROM platform_port_lease WHERE expires_at < now() "
            "OR (node_id = {} AND NOT (port = ANY({}::text[])))",
            me,
            ports,
        )
        renewed = await self.db.fetch(
            "UPDATE platform_port_lease SET expires_at = now() + make_interval(secs => {}) "
            "WHERE node_id = {} RETURNING port",
            self.lease_s,
            me,
        )
        held = {str(r["port"]) for r in renewed}
        alive = await self.db.fetch(
            "SELECT node_id FROM engine_node "
            "WHERE heartbeat_at >= now() - make_interval(secs => {})",
            self.dead_after_s,
        )
        due = fair_share(len(ports), [str(r["node_id"]) for r in alive], me)
        if len(held) > due:
            held -= await self._give_back(ports, held, len(held) - due, give_up)
        elif len(held) < due:
            held |= await self._claim(ports, due - len(held))
        return frozenset(held)

    async def _give_back(
        self, ports: list[str], held: set[str], count: int, give_up: GiveUp
    ) -> set[str]:
        released: set[str] = set()
        for port in reversed(ports):  # the last configured ports first: a stable split
            if len(released) == count:
                break
            if port in held and await give_up(port):
                released.add(port)
        if released:
            await self.db.fetch(
                "DELETE FROM platform_port_lease WHERE node_id = {} AND port = ANY({}::text[])",
                self.node_id,
                sorted(released),
            )
            log.info("sip.ports_released node=%s ports=%s", self.node_id, ",".join(released))
        return released

    async def _claim(self, ports: list[str], count: int) -> set[str]:
        rows = await self.db.fetch(
            "INSERT INTO platform_port_lease (port, node_id, expires_at) "
            "SELECT free.port, {}, now() + make_interval(secs => {}) FROM ("
            " SELECT w.port FROM unnest({}::text[]) WITH ORDINALITY AS w(port, position)"
            " WHERE NOT EXISTS (SELECT 1 FROM platform_port_lease l WHERE l.port = w.port)"
            " ORDER BY w.position LIMIT {}) AS free "
            "ON CONFLICT (port) DO NOTHING RETURNING port",
            self.node_id,
            self.lease_s,
            ports,
            count,
        )
        claimed = {str(r["port"]) for r in rows}
        if claimed:
            log.info("sip.ports_claimed node=%s ports=%s", self.node_id, ",".join(claimed))
        return claimed

    async def release_all(self) -> None:
        """A clean stop: every port of this node is free for the others at once."""
        if self.db.is_postgres:
            await self.db.fetch("DELETE FROM platform_port_lease WHERE node_id = {}", self.node_id)


__all__ = ["PortLeases", "fair_share"]
