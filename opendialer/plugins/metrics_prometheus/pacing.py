"""The pacing metrics, read from the engine at scrape time (``EngineView.pacing_states``).

Per campaign this engine node paces, from its latest decision:

* ``opendialer_dial_level`` — lines per agent the decision aimed at (1 is progressive);
* ``opendialer_predicted_free_agents`` — agents the mode expected to be free when its
  calls are answered;
* ``opendialer_abandon_rate`` — abandoned ÷ live-answered calls of the campaign in its
  abandon window, as a **ratio** (0.03 is 3 %; every node's calls: the same value on
  every node), labelled with the window (``24h``, ``30d``, ``campaign``);
* ``opendialer_abandon_target`` — the campaign's target, as a ratio too;
* ``opendialer_pacing_info`` — 1, labelled with the mode and the reason code of the
  decision (``power``, ``abandon_budget``, ``platform_no_wait``...).

``opendialer_calls_abandoned_total`` (a counter, per campaign) is counted from the
``call_finished`` events (:class:`AbandonedCalls`, fed by the exporter).

An engine older than per-campaign pacing has no ``pacing_states``: no series then.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric

from opendialer.sdk import CallRecord, EngineView

log = logging.getLogger(__name__)

PREFIX = "opendialer_"


class AbandonedCalls:
    """``opendialer_calls_abandoned_total``: one per call record with disposition
    ``abandoned``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.counter = Counter(
            PREFIX + "calls_abandoned",
            "Calls a person answered and no agent freed for within the campaign's abandon "
            "timeout (over-dialing pacing: safe-harbour message, then hung up), per campaign.",
            ["campaign"],
            registry=registry,
        )

    def count(self, call: CallRecord) -> None:
        if call.get("disposition") == "abandoned":
            self.counter.labels(campaign=str(call.get("campaign_id"))).inc()


def pacing_metrics(engine: EngineView) -> Iterator[Metric]:
    read = getattr(engine, "pacing_states", None)
    if not callable(read):
        return
    try:
        states = dict(read())
    except Exception as exc:
        log.warning("metrics_pacing_failed error=%s: %s", type(exc).__name__, exc)
        return
    level = GaugeMetricFamily(
        PREFIX + "dial_level",
        "Lines per agent the campaign's latest pacing decision on this node aimed at "
        "(1 is progressive).",
        labels=["campaign"],
    )
    predicted = GaugeMetricFamily(
        PREFIX + "predicted_free_agents",
        "Agents the campaign's pacing mode expected to be free when its calls are answered.",
        labels=["campaign"],
    )
    rate = GaugeMetricFamily(
        PREFIX + "abandon_rate",
        "Abandoned calls / live-answered calls of the campaign in its abandon window "
        "(a ratio: 0.03 is 3 %), every node's calls.",
        labels=["campaign", "window"],
    )
    target = GaugeMetricFamily(
        PREFIX + "abandon_target",
        "The campaign's abandon-rate target (a ratio: 0.03 is 3 %).",
        labels=["campaign"],
    )
    info = GaugeMetricFamily(
        PREFIX + "pacing_info",
        "1 per campaign: its pacing mode and the reason code of its latest decision.",
        labels=["campaign", "mode", "reason"],
    )
    for campaign_id, state in sorted(states.items()):
        cid = str(campaign_id)
        decision, budget = state.decision, state.abandon
        level.add_metric([cid], float(decision.dial_level))
        predicted.add_metric([cid], float(decision.predicted_free_agents))
        rate.add_metric([cid, budget.window], budget.rate_pct / 100.0)
        target.add_metric([cid], budget.target_pct / 100.0)
        info.add_metric([cid, state.mode, decision.reason], 1.0)
    yield from (level, predicted, rate, target, info)


__all__ = ["AbandonedCalls", "pacing_metrics"]
