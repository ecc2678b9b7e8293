"""The Engine: wires the plugins to the database and runs the loop.

::

    engine = Engine(db, node_id="node-a", clock=RealClock(), platform="sim")
    await engine.start()      # join, reconcile our own crash, loop
    ...
    await engine.stop()       # drain calls, leave

Tests drive it by hand with a :class:`~opendialer.core.engine.clock.FakeClock`:
``await engine.start(run_loop=False)`` then ``await engine.tick()`` and
``await engine.drain()``.

Plugins are looked up by name (``factories("platforms")`` …); the engine never
imports ``opendialer.plugins``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from opendialer.core.dnc import DncRegistry
from opendialer.core.domain import ScheduleState
from opendialer.core.engine.amd_sessions import AmdSessions
from opendialer.core.engine.claims import arm_new_leads
from opendialer.core.engine.clock import Clock, RealClock
from opendialer.core.engine.context import EngineContext
from opendialer.core.engine.coordinator import Coordinator
from opendialer.core.engine.dnc_gate import DncGate
from opendialer.core.engine.dnc_outage import DncProbes
from opendialer.core.engine.fair_share import FairShares, Pool
from opendialer.core.engine.metrics import EngineMetrics
from opendialer.core.engine.outcome_writer import OutcomeWriter
from opendialer.core.engine.pacing_board import PacingBoard
from opendialer.core.engine.reconcile import reconcile_node, report_reconciled
from opendialer.core.engine.routing_targets import ROUTING_RECHECK_S, RoutingTargets
from opendialer.core.engine.runner import CampaignRunner
from opendialer.core.engine.scheduler import Scheduler, dialable_entries
from opendialer.core.engine.short_call_guard import ShortCallGuard
from opendialer.core.memory import pin_mmap_threshold
from opendialer.core.plugins import PluginManager, get_plugin_manager
from opendialer.core.routing_defaults import default_targets, platform_routing_target
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord
from opendialer.sdk.contracts import Platform, RetryPolicy, RoutingTarget

log = logging.getLogger("opendialer.engine")


#: The product's retry choice for a node that names none (the built-in plugin of that
#: name), and the platform an Engine built without one uses: the simulator (tests,
#: benches, the demo; ``serve`` always passes the chosen platform, see
#: core/runtime/engine_start.py). Each campaign names its own pacing mode
#: (``campaign.pacing_mode``; ``runner.py``).
PREFERRED_RETRY = "default"
UNCHOSEN_PLATFORM = "sim"


class Engine:
    def __init__(
        self,
        db: Database,
        node_id: str,
        clock: Clock | None = None,
        platform: str | Platform = UNCHOSEN_PLATFORM,
        *,
        platform_options: Mapping[str, Any] | None = None,
        routing_options: Mapping[str, Mapping[str, Any]] | None = None,
        routing_by_type: Mapping[str, str] | None = None,
        max_calls: int = 100,
        retry: str = PREFERRED_RETRY,
        amd_strategy: str | None = None,
        settings: Mapping[str, Any] | None = None,
        plugin_manager: PluginManager | None = None,
        tick_s: float = 1.0,
        pace_s: float = 0.2,
        heartbeat_s: float = 2.0,
        dead_after_s: float = 15.0,
        lease_s: float = 120.0,
        dnc_registry: DncRegistry | None = None,
    ) -> None:
        self.db = db
        self.node_id = node_id
        self.clock: Clock = clock or RealClock()
        self.pm = plugin_manager or get_plugin_manager()
        self.max_calls = max_calls
        self.tick_s, self.pace_s, self.heartbeat_s, self.lease_s = (
            tick_s,
            pace_s,
            heartbeat_s,
            lease_s,
        )
        self.metrics = EngineMetrics()
        self.outcomes = OutcomeWriter(db)  # group commit of call outcomes
        self.context = EngineContext(
            self.clock,
            # dead_after_s: routing targets count only the holds of live nodes (heartbeats).
            {"node_id": node_id, "dead_after_s": dead_after_s, **(settings or {})},
            self.wake,
        )
        self.coordinator = Coordinator(db, node_id, dead_after_s=dead_after_s)
        self.scheduler = Scheduler(self.pm)
        # A registry handed in (the process's: core.dnc.shared_registry) belongs to its
        # owner; one made here is this engine's, closed when it stops.
        self._owns_dnc = dnc_registry is None
        self.dnc = DncGate(
            self.pm,
            dnc_registry or DncRegistry(self.pm, self.context, monotonic=self.clock.monotonic),
        )
        self.dnc_probes = DncProbes(self.dnc, self.wake)
        self.runners: dict[int, CampaignRunner] = {}
        # Campaign type → target when a campaign names none: the targets declare it.
        self.routing_by_type = dict(routing_by_type or default_targets(self.pm))
        self.routing = RoutingTargets(
            self.pm,
            self.context,
            self.clock.monotonic,
            routing_options,
            platform_routing=lambda: platform_routing_target(self.platform),
        )
        self.amd = AmdSessions(self.pm, self.context, amd_strategy)
        self.platform: Platform = (
            self._build("platforms", platform, options=platform_options or {})
            if isinstance(platform, str)
            else platform
        )
        self.retry: RetryPolicy = self._build("retry_policies", retry)
        #: Who over-dials on which pool, here and on the other nodes (fair_share.py).
        self.shares = FairShares(node_id)
        self.pacing_board = PacingBoard(self)
        #: Today's short-call shares of the caller IDs its campaigns guard (30 s).
        self.short_calls = ShortCallGuard()
        self._wake_event = asyncio.Event()
        self._woken_at: float | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._last_heartbeat = float("-inf")
        self._last_reconcile = float("-inf")
        self._last_arm = float("-inf")
        self._stopping = False

    def _build(self, kind: str, name: str, **kwargs: Any) -> Any:
        factory = self.pm.factories(kind).get(name)
        if factory is None:
            known = ", ".join(sorted(self.pm.factories(kind))) or "none"
            raise ValueError(f"no {kind[:-1].replace('_', ' ')} named {name!r}; installed: {known}")
        return factory(context=self.context, **kwargs)

    def build_platform(self, name: str, options: Mapping[str, Any]) -> Platform:
        """A platform plugin built with this engine's context (not started)."""
        platform: Platform = self._build("platforms", name, options=options)
        return platform

    # -- life cycle ------------------------------------------------------------

    async def start(self, *, run_loop: bool = True) -> None:
        now = self.clock.now()
        pin_mmap_threshold()  # keeps asyncio's 256 KiB reads out of the C heap (core/memory.py)
        await self.platform.start()
        await self.coordinator.join(now)
        # A previous life of this node may have died mid-call (kill -9): close its attempts.
        await self._reconcile(self.node_id, "engine node restarted after it stopped mid-call")
        log.info("engine_started node=%s max_calls=%s", self.node_id, self.max_calls)
        if run_loop:
            self._loop_task = asyncio.create_task(self._loop(), name=f"engine-{self.node_id}")

    async def stop(self, *, drain_timeout_s: float = 30.0) -> None:
        """Stop launching, let calls in flight finish (up to the timeout), then leave."""
        self._stopping = True
        self.wake()
        # Let the loop and the probes finish the query they are in: a task cancelled in
        # the middle of an SQLite query leaks its connection thread and the process hangs.
        background = [t for t in [self._loop_task, *self.dnc_probes.tasks()] if t is not None]
        if background:
            _, late = await asyncio.wait(background, timeout=15)
            for task in late:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
        tasks = self._call_tasks()
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=drain_timeout_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self.platform.close()
        await self._reconcile(self.node_id, "engine stopped before the call ended")
        await self.routing.close()
        if self._owns_dnc:
            await self.dnc.registry.close()
        await self.coordinator.leave()
        log.info("engine_stopped node=%s", self.node_id)

    async def drain(self) -> None:
        """Wait until no call of this node is in flight (tests)."""
        while True:
            tasks = self._call_tasks()
            if not tasks:
                return
            await asyncio.gather(*tasks, return_exceptions=True)

    def wake(self) -> None:
        if self._woken_at is None:
            self._woken_at = self.clock.monotonic()
        self._wake_event.set()

    def routing_targets(self) -> dict[str, RoutingTarget]:
        """The routing targets started so far, by name (metrics read their health)."""
        return self.routing.started()

    def _call_tasks(self) -> list[asyncio.Task[None]]:
        return [t for r in self.runners.values() for t in r.calls.tasks()]

    def in_flight_total(self) -> int:
        """Calls of this node launched and not finished (outcomes being stored included)."""
        return sum(len(r.calls) for r in self.runners.values())

    def calls_up_total(self) -> int:
        """Calls of this node still on the platform (not those only storing their outcome)."""
        return sum(r.calls_up() for r in self.runners.values())

    def pending_total(self) -> int:
        """Calls of this node launched and not yet handed to the platform."""
        return sum(r.calls_pending() for r in self.runners.values())

    def over_dialing_campaigns(self, pool: Pool) -> list[int]:
        """This node's campaigns of ``pool`` taking part in its fair share (fair_share.py)."""
        return [
            r.campaign_id for r in self.runners.values() if r.pool == pool and r.shares_agents()
        ]

    # -- the loop --------------------------------------------------------------

    async def _loop(self) -> None:
        # Housekeeping runs beside the pacer, not before it: its writes (heartbeat,
        # schedule states) may queue behind outcome writes, and a free agent must not
        # wait for them.
        keeper = asyncio.create_task(self._housekeeping_loop(), name=f"keeper-{self.node_id}")
        try:
            while not self._stopping:
                try:
                    await self.pace()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("engine_loop_error node=%s", self.node_id)
                    await self.clock.sleep(1.0)
                await self._wait()
        finally:
            await asyncio.wait({keeper}, timeout=15)
            if not keeper.done():
                keeper.cancel()
                await asyncio.gather(keeper, return_exceptions=True)

    async def _housekeeping_loop(self) -> None:
        while not self._stopping:
            try:
                await self.housekeeping()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("engine_housekeeping_error node=%s", self.node_id)
            await self.clock.sleep(self.tick_s)

    async def _wait(self) -> None:
        if self._wake_event.is_set():
            return
        waiter = asyncio.create_task(self._wake_event.wait())
        sleeper = asyncio.create_task(self.clock.sleep(self.pace_s))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            sleeper.cancel()

    async def tick(self) -> None:
        """One housekeeping round and one pacing round (tests drive the engine with this)."""
        await self.housekeeping()
        await self.pace()

    async def housekeeping(self) -> None:
        mono = self.clock.monotonic()
        now = self.clock.now()
        if mono - self._last_heartbeat >= self.heartbeat_s:
            self._last_heartbeat = mono
            await self.coordinator.heartbeat(now)
        if await self.coordinator.try_lead():
            await self.scheduler.tick(now)
            if mono - self._last_reconcile >= 5.0:
                self._last_reconcile = mono
                await self._reconcile_dead(now)
        entries = await dialable_entries(now, self.routing_by_type)
        seen: set[int] = set()
        arm_all = mono - self._last_arm >= 60.0
        if arm_all:
            self._last_arm = mono
        for entry in entries:
            cid = entry.campaign.id
            seen.add(cid)
            runner = self.runners.get(cid)
            if runner is None:
                runner = self.runners[cid] = CampaignRunner(self, entry)
                await arm_new_leads(cid, now)
                self.wake()  # a campaign to dial: no need to wait for the next pacing poll
            elif arm_all:
                await arm_new_leads(cid, now)
            runner.update(entry)
            if self.coordinator.is_leader and entry.state == ScheduleState.DNC_OUT_OF_SERVICE.value:
                self.dnc_probes.probe(runner)
        if self.routing.has_retired and not self.in_flight_total():
            # replaced by a reload: closed once no call of this node may hold its slots
            await self.routing.close_retired()
        for cid, runner in list(self.runners.items()):
            if cid not in seen:
                runner.update(None)
                if not len(runner.calls):
                    del self.runners[cid]
        await self.short_calls.refresh((e.campaign for e in entries), now, mono)
        await self.pacing_board.tick(now)

    async def pace(self) -> None:
        woken_at = self._woken_at if self._woken_at is not None else self.clock.monotonic()
        self._woken_at = None
        self._wake_event.clear()
        if self._stopping:
            return
        now = self.clock.now()
        mono = self.clock.monotonic()
        runners = [r for r in self.runners.values() if r.may_pace(mono)]
        failed: dict[int, Exception] = {}
        for runner in runners:
            # People already on the line go before new calls: they take free agents first.
            try:
                await runner.agents.serve()
            except Exception as exc:  # one campaign's fault does not stop the others
                failed[runner.campaign_id] = exc
        for runner in runners:
            if runner.campaign_id not in failed:
                try:
                    await runner.pace(now, woken_at)
                except Exception as exc:
                    failed[runner.campaign_id] = exc
            try:
                if runner.campaign_id in failed:
                    await runner.failed(failed[runner.campaign_id])
                elif runner.dialing and runner.pacing.ready:
                    await runner.completed()
            except Exception:  # storing the hold failed too (the database): next round
                log.exception("pacing_fault_not_stored campaign=%s", runner.campaign_id)

    # -- crash recovery ----------------------------------------------------------

    async def _reconcile(self, node: str, reason: str) -> None:
        result = await reconcile_node(
            self.db, node, now=self.clock.now(), retry_policy=lambda: self.retry, reason=reason
        )
        await report_reconciled(self.pm, result)

    async def _reconcile_dead(self, now: Any) -> None:
        dead = set(await self.coordinator.dead_nodes(now))
        open_nodes = {
            r["node"]
            for r in await CallRecord.select(CallRecord.node)
            .where(CallRecord.status.is_null())
            .distinct()
            .run()
        }
        if open_nodes - {self.node_id}:
            alive = await self.coordinator.alive_nodes(now)
            dead |= open_nodes - alive - {self.node_id}
        for node in sorted(dead):
            await self._reconcile(node, f"engine node {node!r} stopped answering mid-call")
            await self.coordinator.forget(node)


__all__ = ["ROUTING_RECHECK_S", "Engine", "EngineContext"]
