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

from opendialer.core import amd_settings, held
from opendialer.core.contracts import (
    AmdSession,
    AmdStrategy,
    DncUnavailable,
    PacingMode,
    Platform,
    RetryPolicy,
    RoutingTarget,
)
from opendialer.core.domain import ScheduleState
from opendialer.core.engine.claims import arm_new_leads
from opendialer.core.engine.clock import Clock, RealClock
from opendialer.core.engine.coordinator import Coordinator
from opendialer.core.engine.dnc_gate import DncGate
from opendialer.core.engine.metrics import EngineMetrics
from opendialer.core.engine.outcome_writer import OutcomeWriter
from opendialer.core.engine.reconcile import reconcile_node
from opendialer.core.engine.records import announce, log_call_outcome
from opendialer.core.engine.runner import CampaignRunner, verdict_action
from opendialer.core.engine.scheduler import (
    DialableEntry,
    Scheduler,
    dialable_entries,
    set_schedule_reason,
    set_schedule_state,
)
from opendialer.core.engine.settings import setting_with_stamp
from opendialer.core.held import Hold, hold
from opendialer.core.memory import pin_mmap_threshold
from opendialer.core.plugin_context import DialerContext
from opendialer.core.plugins import PluginManager, get_plugin_manager
from opendialer.core.routing_defaults import default_targets
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, Lead

log = logging.getLogger("opendialer.engine")

#: How often a started routing target's stored options are compared with the
#: database, and a target that failed to start is tried again (seconds).
ROUTING_RECHECK_S = 2.0


#: The context the engine hands to plugins (settings: ``node_id``, ``dead_after_s``,
#: ``routing_refresh_s``; ``wake_pacer`` wakes this engine's pacer).
EngineContext = DialerContext


class Engine:
    def __init__(
        self,
        db: Database,
        node_id: str,
        clock: Clock | None = None,
        platform: str | Platform = "sim",
        *,
        platform_options: Mapping[str, Any] | None = None,
        routing_options: Mapping[str, Mapping[str, Any]] | None = None,
        routing_by_type: Mapping[str, str] | None = None,
        max_calls: int = 100,
        pacing: str = "progressive",
        retry: str = "default",
        amd_strategy: str | None = None,
        settings: Mapping[str, Any] | None = None,
        plugin_manager: PluginManager | None = None,
        tick_s: float = 1.0,
        pace_s: float = 0.2,
        heartbeat_s: float = 2.0,
        dead_after_s: float = 15.0,
        lease_s: float = 120.0,
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
        self.dnc = DncGate(self.pm, self.context, self.clock.monotonic)
        self.runners: dict[int, CampaignRunner] = {}
        # Campaign type → target when a campaign names none: the targets declare it.
        self.routing_by_type = dict(routing_by_type or default_targets(self.pm))
        self._routing_options = {k: dict(v) for k, v in (routing_options or {}).items()}
        self._routing: dict[str, RoutingTarget] = {}
        self._routing_missing: set[str] = set()
        #: Per target: when its stored options were last read, their updated_at, and
        #: why it failed to start (tried again every ROUTING_RECHECK_S).
        self._routing_checked: dict[str, float] = {}
        self._routing_stamp: dict[str, Any] = {}
        self._routing_failed: dict[str, Hold] = {}
        self._retired: list[RoutingTarget] = []
        self._amd_name = amd_strategy
        self._amd: AmdStrategy | None = None
        self._amd_looked = False
        self.platform: Platform = (
            self._build("platforms", platform, options=platform_options or {})
            if isinstance(platform, str)
            else platform
        )
        self.pacing: PacingMode = self._build("pacing_modes", pacing)
        self.retry: RetryPolicy = self._build("retry_policies", retry)
        self._wake_event = asyncio.Event()
        self._woken_at: float | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._probes: dict[int, asyncio.Task[None]] = {}
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
        background = [t for t in [self._loop_task, *self._probes.values()] if t is not None]
        if background:
            _, late = await asyncio.wait(background, timeout=15)
            for task in late:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
        tasks = [t for r in self.runners.values() for t in r.in_flight.values()]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=drain_timeout_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self.platform.close()
        await self._reconcile(self.node_id, "engine stopped before the call ended")
        for target in [*self._routing.values(), *self._retired]:
            await target.close()
        await self.dnc.close()
        await self.coordinator.leave()
        log.info("engine_stopped node=%s", self.node_id)

    async def drain(self) -> None:
        """Wait until no call of this node is in flight (tests)."""
        while True:
            tasks = [t for r in self.runners.values() for t in r.in_flight.values()]
            if not tasks:
                return
            await asyncio.gather(*tasks, return_exceptions=True)

    def wake(self) -> None:
        if self._woken_at is None:
            self._woken_at = self.clock.monotonic()
        self._wake_event.set()

    def routing_targets(self) -> dict[str, RoutingTarget]:
        """The routing targets started so far, by name (metrics read their health)."""
        return dict(self._routing)

    def in_flight_total(self) -> int:
        return sum(len(r.in_flight) for r in self.runners.values())

    def calls_up_total(self) -> int:
        """Calls of this node still on the platform (not those only storing their outcome)."""
        return sum(r.calls_up() for r in self.runners.values())

    def pending_total(self) -> int:
        return sum(len(r.pending) for r in self.runners.values())

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
        entries = await dialable_entries(now)
        seen: set[int] = set()
        arm_all = mono - self._last_arm >= 60.0
        if arm_all:
            self._last_arm = mono
        for entry in entries:
            cid = entry.campaign["id"]
            seen.add(cid)
            runner = self.runners.get(cid)
            if runner is None:
                runner = self.runners[cid] = CampaignRunner(self, cid)
                await arm_new_leads(cid, now)
                self.wake()  # a campaign to dial: no need to wait for the next pacing poll
            elif arm_all:
                await arm_new_leads(cid, now)
            runner.update(entry)
            if self.coordinator.is_leader and entry.state == ScheduleState.DNC_OUT_OF_SERVICE.value:
                self._probe_dnc(runner)
        await self._close_retired()
        for cid, runner in list(self.runners.items()):
            if cid not in seen:
                runner.update(None)
                if not runner.in_flight:
                    del self.runners[cid]

    async def pace(self) -> None:
        woken_at = self._woken_at if self._woken_at is not None else self.clock.monotonic()
        self._woken_at = None
        self._wake_event.clear()
        if self._stopping:
            return
        now = self.clock.now()
        for runner in list(self.runners.values()):
            await runner.pace(now, woken_at)

    # -- routing, AMD ----------------------------------------------------------

    def routing_name(self, campaign: Mapping[str, Any]) -> str:
        """The routing target a campaign uses: its own, else the one for its type."""
        return str(campaign.get("routing_target") or self.routing_by_type.get(campaign["type"], ""))

    async def routing_for(
        self, campaign: Mapping[str, Any]
    ) -> tuple[RoutingTarget | None, Hold | None]:
        """The campaign's started routing target, or why there is none.

        A target built from the Master's stored options (``routing.<name>``) is
        rebuilt when those options change (the setting row's ``updated_at``, read
        at most every :data:`ROUTING_RECHECK_S`); one that failed to start is tried
        again at that pace too, so configuring it makes its campaigns dial without
        a restart."""
        name = self.routing_name(campaign)
        mono = self.clock.monotonic()
        target = self._routing.get(name)
        recheck = mono - self._routing_checked.get(name, float("-inf")) >= ROUTING_RECHECK_S
        if target is not None and (name in self._routing_options or not recheck):
            return target, None
        if target is None and not recheck and name in self._routing_failed:
            return None, self._routing_failed[name]
        factory = self.pm.factories("routing_targets").get(name)
        if factory is None:
            why = hold(held.ROUTING_NOT_INSTALLED, target=name)
            if name not in self._routing_missing:
                self._routing_missing.add(name)
                log.error(
                    "routing_missing campaign=%s routing target %r is not installed "
                    "(see `opendialer plugins list`)",
                    campaign["id"],
                    name,
                )
            return None, why
        self._routing_checked[name] = mono
        options = self._routing_options.get(name)
        stamp: Any = None
        if options is None:  # the Master's stored options (routing settings service)
            options, stamp = await setting_with_stamp(f"routing.{name}")
            if target is not None and stamp == self._routing_stamp.get(name):
                return target, None
        try:
            fresh = factory(options=options, context=self.context)
            await fresh.start()
        except Exception as exc:
            code = held.ROUTING_FAILED if options else held.ROUTING_NOT_CONFIGURED
            why = hold(code, target=name, detail=f"{type(exc).__name__}: {exc}")
            if target is not None:  # the new options fail: keep dialing with the old ones
                log.error("routing_reload_failed target=%s %s", name, why.english())
                self._routing_stamp[name] = stamp
                return target, None
            self._routing_failed[name] = why
            return None, why
        self._routing_failed.pop(name, None)
        self._routing_stamp[name] = stamp
        self._routing[name] = fresh
        if target is not None:
            log.info("routing_reloaded target=%s (its stored options changed)", name)
            self._retired.append(target)
        return fresh, None

    async def _close_retired(self) -> None:
        """Close routing targets replaced by a reload once no call of this node is up."""
        if not self._retired or self.in_flight_total():
            return
        retired, self._retired = self._retired, []
        for target in retired:
            try:
                await target.close()
            except Exception:
                log.exception("routing_close_failed")

    def amd_for(self, campaign: Mapping[str, Any]) -> tuple[AmdSession | None, bool, Any]:
        params = campaign.get("amd_params") or {}
        if isinstance(params, str):
            import json

            try:
                params = json.loads(params or "{}")
            except ValueError:
                params = {}
        on_verdict = verdict_action(params)
        if not campaign.get("amd_enabled"):
            return None, False, on_verdict
        strategy = self._amd_strategy(params.get("strategy"))
        if strategy is None:
            return None, True, on_verdict
        tunables = amd_settings.tunables(params, strategy)
        try:
            return strategy.new_session(tunables, sample_rate=8000), True, on_verdict
        except ValueError as exc:
            log.error(
                "amd_params_invalid campaign=%s error=%s (using defaults)", campaign["id"], exc
            )
            return strategy.new_session({}, sample_rate=8000), True, on_verdict

    def _amd_strategy(self, wanted: Any) -> AmdStrategy | None:
        if self._amd_looked and not wanted:
            return self._amd
        factories = self.pm.factories("amd_strategies")
        name = amd_settings.strategy_name(factories, wanted, self._amd_name)
        factory = factories.get(name) if name else None
        strategy = factory(context=self.context) if factory is not None else None
        if not wanted:
            self._amd, self._amd_looked = strategy, True
            if strategy is None:
                log.warning(
                    "amd_unavailable: no AMD strategy installed; AMD campaigns transfer on answer"
                )
        return strategy

    # -- DNC out of service ----------------------------------------------------

    async def dnc_out_of_service(self, runner: CampaignRunner, reason: str) -> None:
        entry = runner.entry
        if entry is None:
            return
        text = hold(held.DNC_OUT_OF_SERVICE, detail=reason).encode()
        if await set_schedule_state(
            entry.schedule_id,
            expect=ScheduleState.RUNNING.value,
            new=ScheduleState.DNC_OUT_OF_SERVICE.value,
            reason=text,
        ):
            log.error("dnc_out_of_service campaign=%s reason=%r", runner.campaign_id, reason)
        runner.update(
            DialableEntry(
                campaign=entry.campaign,
                schedule_id=entry.schedule_id,
                schedule_date=entry.schedule_date,
                state=ScheduleState.DNC_OUT_OF_SERVICE.value,
                reason=text,
                window=entry.window,
            )
        )

    def _probe_dnc(self, runner: CampaignRunner) -> None:
        task = self._probes.get(runner.campaign_id)
        if task is not None and not task.done():
            return
        self._probes[runner.campaign_id] = asyncio.create_task(self._probe(runner))

    async def _probe(self, runner: CampaignRunner) -> None:
        """Ask the failing DNC service about one of the campaign's numbers; RUNNING if it answers.

        Only the leader probes, one probe per campaign at a time."""
        entry = runner.entry
        service_id = runner.campaign.get("dnc_service")
        if entry is None:
            return
        if service_id:
            lead = (
                await Lead.select(Lead.phone)
                .where(Lead.campaign == runner.campaign_id)
                .order_by(Lead.next_attempt_at)
                .first()
                .run()
            )
            if lead is None:
                return
            try:
                await self.dnc.check(service_id, lead["phone"])
            except DncUnavailable as exc:
                text = hold(held.DNC_OUT_OF_SERVICE, detail=str(exc)).encode()
                if text != entry.reason:
                    await set_schedule_reason(entry.schedule_id, text)
                return
        if await set_schedule_state(
            entry.schedule_id,
            expect=ScheduleState.DNC_OUT_OF_SERVICE.value,
            new=ScheduleState.RUNNING.value,
        ):
            log.info("dnc_back_in_service campaign=%s", runner.campaign_id)
            self.wake()

    # -- crash recovery ----------------------------------------------------------

    async def _reconcile(self, node: str, reason: str) -> None:
        result = await reconcile_node(
            self.db, node, now=self.clock.now(), retry_policy=lambda: self.retry, reason=reason
        )
        for finished in result.closed:
            await announce(self.pm, finished)
        if result.closed:  # their call_outcome lines, like every other attempt's
            due = {f.record_id: f.next_attempt_at for f in result.closed}
            ids = list(due)
            for start in range(0, len(ids), 500):  # bounded IN lists (SQLite's variable cap)
                chunk = ids[start : start + 500]
                for row in await CallRecord.select().where(CallRecord.id.is_in(chunk)).run():
                    log_call_outcome(row, next_attempt_at=due[row["id"]])
        if result.closed or result.leases_released:
            log.warning(
                "node_reconciled node=%s unknown_calls=%d leases_released=%d",
                node,
                len(result.closed),
                result.leases_released,
            )

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


__all__ = ["Engine", "EngineContext"]
