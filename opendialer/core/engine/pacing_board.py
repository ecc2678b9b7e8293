"""Pacing's database work, done by housekeeping so the pacer never waits for it.

On each housekeeping round, for each campaign this node paces: its abandon budget,
outcome statistics and safe-harbour message are read when due
(``campaign_pacing.py``). Every :data:`DECISIONS_EVERY_S`: each campaign's last
decision is upserted into ``pacing_decision`` (campaign, node) — the Summary page
reads it — with the campaign's unresolved calls on this node at the write, and the
other nodes' recent decisions, with the engine nodes alive, tell who else over-dials
on the same agents and with how many calls beyond their share (``fair_share.py``).
While a node or an over-dialing campaign is new (``fair_share.REPORT_GRACE_S``) this
is done on every round: the nodes then count each other in by their decisions within
a round or two. The fair share reads this node's other campaigns' calls from memory,
through the board (:meth:`PacingBoard._local_calls`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from opendialer.core.engine.fair_share import (
    PARTICIPANT_TTL_S,
    REPORT_GRACE_S,
    presumed_pacing,
)
from opendialer.core.engine.pacing_data import live_nodes, nodes_pacing, recent, store_decision

if TYPE_CHECKING:
    from opendialer.core.engine.engine import Engine

log = logging.getLogger("opendialer.engine.pacing")

#: How often each node writes its last decisions and reads the others' (seconds).
DECISIONS_EVERY_S = 3.0


class PacingBoard:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._last_write = float("-inf")
        #: Per campaign, when the decision last written was made.
        self._written: dict[int, datetime] = {}
        #: Per campaign over-dialing on this node, since when (wall clock).
        self._over_since: dict[int, datetime] = {}
        #: The engine nodes alive at the last read, and when each started.
        self._live: dict[str, datetime] = {}
        #: Per campaign over-dialing here, when its first row since then was written.
        self._visible: dict[int, datetime] = {}
        engine.shares.local_calls = self._local_calls

    def _local_calls(self, campaign_id: int) -> tuple[int, int]:
        """A campaign's unresolved calls on this node, and the fewest participants they
        were launched among (none: a campaign gone)."""
        runner = self._engine.runners.get(campaign_id)
        return runner.pacing.unresolved(runner.calls) if runner is not None else (0, 1)

    async def tick(self, now: datetime) -> None:
        engine = self._engine
        became_ready = False
        for runner in list(engine.runners.values()):
            if not runner.dialing:
                continue
            pacing = runner.pacing
            try:
                await pacing.refresh(runner.campaign, now)
            except Exception as exc:
                if pacing.ready:  # paced on the last reads meanwhile
                    log.exception("pacing_refresh_failed campaign=%s", runner.campaign_id)
                else:  # it cannot pace before its first reads: held, and shown why
                    try:
                        await runner.failed(exc)
                    except Exception:  # storing the hold failed too (the database)
                        log.exception("pacing_fault_not_stored campaign=%s", runner.campaign_id)
                continue
            if not pacing.ready:
                pacing.ready = became_ready = True
        if became_ready:
            engine.wake()  # their first decision waited for these reads
        over = [r.campaign_id for r in engine.runners.values() if r.over_dials_now()]
        self._over_since = {cid: self._over_since.get(cid, now) for cid in over}
        mono = engine.clock.monotonic()
        if mono - self._last_write < DECISIONS_EVERY_S and not self._settling(now):
            return
        self._last_write = mono
        try:
            await self._exchange(now, over)
        except Exception:
            log.exception("pacing_decisions_failed node=%s", engine.node_id)

    def _settling(self, now: datetime) -> bool:
        """A node (this one included) or an over-dialing campaign here is new."""
        since = [*self._over_since.values(), *self._live.values()]
        return any((now - at).total_seconds() < REPORT_GRACE_S for at in since)

    async def _exchange(self, now: datetime, over: list[int]) -> None:
        engine = self._engine
        for runner in list(engine.runners.values()):
            last = runner.pacing.last
            if last is None or self._written.get(runner.campaign_id) == last.decided_at:
                continue
            unresolved = runner.pacing.unresolved(runner.calls)
            try:
                await store_decision(engine.node_id, last, runner.pacing.occupancy, unresolved)
            except Exception:  # e.g. the campaign was just deleted: the others still go
                log.exception("pacing_decision_write_failed campaign=%s", runner.campaign_id)
                continue
            self._written[runner.campaign_id] = last.decided_at
            if runner.campaign_id in self._over_since:
                self._visible.setdefault(runner.campaign_id, now)
        for cid in set(self._written) - set(engine.runners):
            del self._written[cid]
        self._visible = {cid: at for cid, at in self._visible.items() if cid in self._over_since}
        found = await nodes_pacing(recent(now, PARTICIPANT_TTL_S), over)
        self._live = await live_nodes(now, engine.coordinator.dead_after)
        presumed = {
            cid: presumed_pacing(
                self._live, found.get(cid, ()), engine.node_id, self._over_since[cid], now
            )
            for cid in over
        }
        visible = {cid: at.timestamp() for cid, at in self._visible.items()}
        engine.shares.remote_nodes(found, presumed, visible)


__all__ = ["DECISIONS_EVERY_S", "PacingBoard"]
