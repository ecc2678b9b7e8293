"""``PrometheusExporter``: one process's metrics in the Prometheus text format.

Two sources, one registry (a private :class:`CollectorRegistry`, never the
library's global one, so two exporters in one process do not collide):

* **Counted as things happen**: the exporter implements the event hooks as
  ``@hookimpl`` methods, and the core lets the exporter it built observe the
  engine's events (``PluginManager.observe``): calls originated, outcomes by
  status, abandoned calls, AMD verdicts and decision time, DNC checks and latency.
  Counters start at 0 when the process starts, as Prometheus expects
  (``rate()``/``increase()`` handle restarts).
* **Read when scraped** (:class:`LiveState`): calls in flight, pacing (dial level,
  abandon rate: :mod:`.pacing`), platform, SIP registrations and SIP messages
  refused (counters the platform keeps: ``refused_messages()``), routing targets and
  DNC providers' health from the engine of this process; schedule states and leads
  due from the database (one :func:`~opendialer.sdk.dialing_overview`, cached for
  ``db_refresh_s`` so scrapes never add load); event-loop lag.

``render()`` refreshes the cached database view (awaited), then serialises the registry.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from opendialer.plugins.metrics_prometheus.loop_lag import LoopLagMonitor
from opendialer.plugins.metrics_prometheus.pacing import AbandonedCalls, pacing_metrics
from opendialer.sdk import (
    CallRecord,
    CampaignState,
    DialingOverview,
    EngineView,
    Health,
    PluginContext,
    ScheduleState,
    dialing_overview,
    hookimpl,
    started_dnc_providers,
)

log = logging.getLogger(__name__)

PREFIX = "opendialer_"
#: AMD decides within a few seconds of the answer (see docs/amd.md).
AMD_BUCKETS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5)
#: The embedded list answers in microseconds, an HTTP service in milliseconds.
DNC_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
#: Longest wait for the database view before a scrape answers without it.
OVERVIEW_TIMEOUT_S = 5.0
#: How often the database view is read at most (seconds); counting due leads is an
#: index range per campaign (~0.1 s per 200,000 due leads on PostgreSQL).
REFRESH_ENV = "OPENDIALER_METRICS_REFRESH_S"
DEFAULT_REFRESH_S = 15.0


def refresh_from_env() -> float:
    raw = os.environ.get(REFRESH_ENV, "").strip()
    if not raw:
        return DEFAULT_REFRESH_S
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 1.0 <= seconds <= 3600.0:
        raise ValueError(f"${REFRESH_ENV} must be a number of seconds from 1 to 3600, got {raw!r}")
    return seconds


class PrometheusExporter:
    """The :class:`~opendialer.sdk.MetricsExporter` named ``prometheus``."""

    def __init__(
        self,
        context: PluginContext | None = None,
        *,
        db_refresh_s: float | None = None,
        lag_interval_s: float = 0.25,
    ) -> None:
        if db_refresh_s is None:
            db_refresh_s = refresh_from_env()
        if db_refresh_s < 0:
            raise ValueError(f"metrics: db_refresh_s must be >= 0, got {db_refresh_s}")
        self.context = context
        self.db_refresh_s = db_refresh_s
        self.engine: EngineView | None = None
        self.loop_lag = LoopLagMonitor(interval_s=lag_interval_s)
        self.registry = CollectorRegistry(auto_describe=True)
        self.calls_originated = Counter(
            PREFIX + "calls_originated",
            "Calls handed to the platform by this process, per campaign (a call it then "
            "refuses is counted again in calls_refused).",
            ["campaign"],
            registry=self.registry,
        )
        self.calls_refused = Counter(
            PREFIX + "calls_refused",
            "Calls the platform refused before sending anything (no free port, platform "
            "down), per campaign: undone, the lead is dialed later.",
            ["campaign"],
            registry=self.registry,
        )
        self.call_outcomes = Counter(
            PREFIX + "call_outcomes",
            "Call attempts finished (call records stored), per campaign and lead status "
            "(DO_NOT_CALL: blocked by the DNC check, no call placed).",
            ["campaign", "status"],
            registry=self.registry,
        )
        self.abandoned = AbandonedCalls(self.registry)
        self.amd_verdicts = Counter(
            PREFIX + "amd_verdicts",
            "AMD verdicts of answered calls, per campaign and verdict.",
            ["campaign", "verdict"],
            registry=self.registry,
        )
        self.amd_decision = Histogram(
            PREFIX + "amd_decision_seconds",
            "Time from answer to the AMD verdict, per verdict.",
            ["verdict"],
            buckets=AMD_BUCKETS,
            registry=self.registry,
        )
        self.dnc_checks = Counter(
            PREFIX + "dnc_checks",
            "Do-Not-Call checks by the engine, per service and result "
            "(callable, blocked, unavailable).",
            ["service", "result"],
            registry=self.registry,
        )
        self.dnc_check_duration = Histogram(
            PREFIX + "dnc_check_duration_seconds",
            "Time a DNC service took to answer one check, per service and result.",
            ["service", "result"],
            buckets=DNC_BUCKETS,
            registry=self.registry,
        )
        self._overview: DialingOverview | None = None
        self._overview_ok = False
        self._overview_at = float("-inf")
        self._refresh_lock = asyncio.Lock()
        self.live = LiveState(self)
        self.registry.register(self.live)

    # -- life cycle ------------------------------------------------------------

    async def start(self) -> None:
        self.loop_lag.start()

    async def close(self) -> None:
        await self.loop_lag.stop()

    def attach_engine(self, engine: EngineView) -> None:
        self.engine = engine

    # -- events (this object observes the engine's event hooks) -------------------

    @hookimpl
    def call_originated(self, campaign_id: int) -> None:
        self.calls_originated.labels(campaign=str(campaign_id)).inc()

    @hookimpl
    def call_refused(self, campaign_id: int) -> None:
        self.calls_refused.labels(campaign=str(campaign_id)).inc()

    @hookimpl
    def call_finished(self, call: CallRecord) -> None:
        campaign = str(call.get("campaign_id"))
        status = call.get("status") or "UNKNOWN"
        self.call_outcomes.labels(campaign=campaign, status=status).inc()
        self.abandoned.count(call)
        verdict = call.get("amd_verdict")
        if verdict:
            self.amd_verdicts.labels(campaign=campaign, verdict=verdict).inc()
            decision_ms = call.get("amd_decision_ms")
            if decision_ms is not None:
                self.amd_decision.labels(verdict=verdict).observe(float(decision_ms) / 1000)

    @hookimpl
    def dnc_checked(self, service: str, result: str, seconds: float) -> None:
        self.dnc_checks.labels(service=service, result=result).inc()
        self.dnc_check_duration.labels(service=service, result=result).observe(seconds)

    # -- scrape ------------------------------------------------------------------

    async def render(self, accept: str = "") -> tuple[bytes, str]:
        await self.refresh_overview()
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type

    def now(self) -> datetime:
        return self.engine.now() if self.engine is not None else datetime.now(UTC)

    async def refresh_overview(self) -> None:
        """Read the database view if the cached one is older than ``db_refresh_s``.

        Concurrent scrapes wait for one refresh instead of each querying."""
        if time.monotonic() - self._overview_at < self.db_refresh_s:
            return
        async with self._refresh_lock:
            if time.monotonic() - self._overview_at < self.db_refresh_s:
                return
            try:
                self._overview = await asyncio.wait_for(
                    dialing_overview(self.now()), OVERVIEW_TIMEOUT_S
                )
                self._overview_ok = True
            except Exception as exc:
                # Stale numbers shown as current would mislead: drop them, say so.
                self._overview, self._overview_ok = None, False
                log.warning("metrics_overview_failed error=%s: %s", type(exc).__name__, exc)
            self._overview_at = time.monotonic()

    @property
    def overview(self) -> DialingOverview | None:
        return self._overview

    @property
    def overview_ok(self) -> bool:
        return self._overview_ok


def _gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, documentation, labels=labels)


def _short_calls(view: DialingOverview) -> Iterator[Metric]:
    """Per caller ID, today's (UTC) calls and the share of 6 s or less (Brazil's
    short-call guard; an older dialer's overview has none: no series)."""
    share = _gauge(
        "short_call_share",
        "Calls of 6 s or less / calls ended today (UTC day) under each caller ID, every "
        "campaign and node (a ratio: 0.8 is 80 %; caller_id '' is the platform's default).",
        ["caller_id"],
    )
    calls = _gauge(
        "short_call_calls",
        "Calls ended today (UTC day) under each caller ID: the short-call share's base.",
        ["caller_id"],
    )
    for item in getattr(view, "short_calls", ()):
        share.add_metric([item.caller_id], item.share_pct / 100.0)
        calls.add_metric([item.caller_id], float(item.calls))
    yield from (share, calls)


def _is_up(health: Any) -> float | None:
    """1/0 from a :class:`Health`; None when the object gave no health to read."""
    try:
        value = health() if callable(health) else health
    except Exception as exc:
        log.warning("metrics_health_failed error=%s: %s", type(exc).__name__, exc)
        return 0.0
    if isinstance(value, Health):
        return 1.0 if value.ok else 0.0
    return None


class LiveState(Collector):
    """The metrics read at scrape time. ``collect()`` only reads memory (the engine's
    objects and the exporter's cached database view): it runs on the event loop."""

    def __init__(self, exporter: PrometheusExporter) -> None:
        self.exporter = exporter

    def collect(self) -> Iterator[Metric]:
        yield from self._loop()
        yield from self._database_view()
        yield from self._dnc_health()
        engine = self.exporter.engine
        if engine is not None:
            yield from self._engine(engine)

    def _loop(self) -> Iterator[Metric]:
        lag = self.exporter.loop_lag
        last = _gauge(
            "event_loop_lag_seconds",
            "How late the latest timer fired on this process's event loop (sampled every "
            f"{lag.interval_s:g} s).",
        )
        last.add_metric([], lag.last_s)
        yield last
        worst = _gauge(
            "event_loop_lag_max_seconds", "The worst event-loop lag of the last 60 seconds."
        )
        worst.add_metric([], lag.max_s)
        yield worst

    def _database_view(self) -> Iterator[Metric]:
        up = _gauge(
            "metrics_database_up",
            "1 when the latest read of campaigns, schedules and due leads succeeded.",
        )
        up.add_metric([], 1.0 if self.exporter.overview_ok else 0.0)
        yield up
        view = self.exporter.overview
        if view is None:
            return
        info = _gauge(
            "campaign_info",
            "One series per campaign (value 1): its name and type, to join on `campaign`.",
            ["campaign", "name", "type"],
        )
        by_state = _gauge("campaigns", "Campaigns per state.", ["state"])
        schedule = _gauge(
            "schedule_state",
            "Today's schedule entry of each STARTED campaign: 1 for its current state, "
            "0 for the others.",
            ["campaign", "state"],
        )
        due = _gauge(
            "leads_due",
            "Leads of each STARTED campaign whose next attempt is due now.",
            ["campaign"],
        )
        counts = dict.fromkeys((s.value for s in CampaignState), 0)
        for campaign in view.campaigns:
            cid = str(campaign.id)
            info.add_metric([cid, campaign.name, campaign.type], 1.0)
            counts[campaign.state] = counts.get(campaign.state, 0) + 1
            if campaign.state != CampaignState.STARTED.value:
                continue
            due.add_metric([cid], float(campaign.leads_due))
            if campaign.schedule_state is not None:
                for entry_state in ScheduleState:
                    current = 1.0 if entry_state.value == campaign.schedule_state else 0.0
                    schedule.add_metric([cid, entry_state.value], current)
        for state, count in sorted(counts.items()):
            by_state.add_metric([state], float(count))
        yield from (info, by_state, schedule, due)
        yield from _short_calls(view)

    def _dnc_health(self) -> Iterator[Metric]:
        """Providers this process started: the engine's gate and the web's /donotcall."""
        up: dict[str, float] = {}
        view = self.exporter.overview
        names = view.dnc_service_names if view is not None else {}
        for service_id, provider in started_dnc_providers().items():
            value = _is_up(getattr(provider, "health", None))
            if value is not None:
                name = names.get(service_id, str(service_id))
                up[name] = min(value, up.get(name, 1.0))
        engine = self.exporter.engine
        if engine is not None:
            for name, provider in engine.dnc_providers().items():
                value = _is_up(getattr(provider, "health", None))
                if value is not None:
                    up[name] = min(value, up.get(name, 1.0))
        gauge = _gauge(
            "dnc_service_up",
            "1 when a DNC service in use by this process answers (its provider's health).",
            ["service"],
        )
        for name, value in sorted(up.items()):
            gauge.add_metric([name], value)
        yield gauge

    def _engine(self, engine: EngineView) -> Iterator[Metric]:
        in_flight = _gauge(
            "calls_in_flight",
            "Calls launched by this engine node and not yet finished (from the DNC check "
            "to the last BYE).",
            ["campaign"],
        )
        for campaign_id, count in sorted(engine.calls_in_flight().items()):
            in_flight.add_metric([str(campaign_id)], float(count))
        yield in_flight
        yield from pacing_metrics(engine)
        routing = _gauge(
            "routing_target_up",
            "1 when a routing target (contact center, IVR) this engine uses is healthy.",
            ["target"],
        )
        for name, target in sorted(engine.routing_targets().items()):
            value = _is_up(lambda target=target: target.health(None))
            if value is not None:
                routing.add_metric([name], value)
        yield routing
        platform = engine.platform()
        platform_up = _gauge(
            "platform_up", "1 when this engine's communication platform can place calls."
        )
        value = _is_up(getattr(platform, "health", None))
        platform_up.add_metric([], 0.0 if value is None else value)
        yield platform_up
        free = _gauge("platform_free_ports", "Ports of the platform free for a new call now.")
        try:
            free.add_metric([], float(platform.free_ports()))
        except Exception as exc:
            log.warning("metrics_free_ports_failed error=%s: %s", type(exc).__name__, exc)
        yield free
        gauge = _gauge(
            "sip_registrations",
            "SIP ports (accounts) per registration state (registered, failed, "
            "unregistered, not_required, ...); no series for a platform without registration.",
            ["state"],
        )
        registrations = getattr(platform, "registrations", None)
        if callable(registrations):
            counts: dict[str, int] = {"registered": 0}
            try:
                for row in registrations():
                    state = str(row.get("state", "unknown"))
                    counts[state] = counts.get(state, 0) + 1
            except Exception as exc:
                log.warning("metrics_registrations_failed error=%s: %s", type(exc).__name__, exc)
            for state, count in sorted(counts.items()):
                gauge.add_metric([state], float(count))
        yield gauge
        yield _refused_messages(platform)
        yield from _amd_streams(platform)


def _refused_messages(platform: Any) -> Metric:
    """The platform's own count (``refused_messages()``: reason → messages since it
    started, as the SIP platform keeps it), exposed as a counter; no series for a
    platform that does not count refusals (the simulator)."""
    counter = CounterMetricFamily(
        PREFIX + "sip_messages_refused",
        "SIP messages the platform refused (malformed, or matching no transaction or "
        "dialog: never acted on), per reason.",
        labels=["reason"],
    )
    refused = getattr(platform, "refused_messages", None)
    if callable(refused):
        try:
            for reason, count in sorted(refused().items()):
                counter.add_metric([str(reason)], float(count))
        except Exception as exc:
            log.warning("metrics_refused_messages_failed error=%s: %s", type(exc).__name__, exc)
    return counter


__all__ = ["LiveState", "PrometheusExporter"]


def _amd_streams(platform: Any) -> Iterator[Metric]:
    """AMD streams running now and the processing lag of their audio, from a platform
    that counts them (``amd_streams()``; the SIP platform does): whether AMD keeps up."""
    read = getattr(platform, "amd_streams", None)
    if not callable(read):
        return
    try:
        streams = read()
    except Exception as exc:
        log.warning("metrics_amd_streams_failed error=%s: %s", type(exc).__name__, exc)
        return
    active = _gauge(
        "amd_streams",
        "Answered calls whose audio answering-machine detection is analysing now.",
    )
    active.add_metric([], float(streams["active"]))
    yield active
    lag = HistogramMetricFamily(
        PREFIX + "amd_processing_lag_seconds",
        "How long answer audio waited before AMD analysed it (wall time less the audio "
        "time analysed, from the earliest the stream has been), one sample per 200 ms "
        "batch: near 0 while the node keeps up.",
    )
    lag.add_metric(
        [],
        [(_bound(bound), float(count)) for bound, count in streams["buckets"]],
        streams["sum_s"],
    )
    yield lag


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)
