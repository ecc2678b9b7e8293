"""Built-in plugin ``metrics_prometheus``: ``GET /metrics`` in the Prometheus text format.

Registers the metrics exporter ``prometheus`` (see :mod:`.exporter`) and
observes the engine through the same event hooks any plugin can implement;
each event is counted into every exporter started in this process (normally
one: ``serve`` starts one per process). The metrics, the access settings and
the Grafana dashboard are described in ``docs/metrics.md``.
"""

from __future__ import annotations

from typing import Any

from opendialer.core.hookspecs import hookimpl
from opendialer.plugins.metrics_prometheus.exporter import LIVE_EXPORTERS, PrometheusExporter


@hookimpl
def register_metrics_exporters() -> dict[str, Any]:
    return {"prometheus": PrometheusExporter}


@hookimpl
def call_originated(campaign_id: int) -> None:
    for exporter in LIVE_EXPORTERS:
        exporter.call_originated(campaign_id)


@hookimpl
def call_refused(campaign_id: int) -> None:
    for exporter in LIVE_EXPORTERS:
        exporter.call_refused(campaign_id)


@hookimpl
def call_finished(call: dict[str, Any]) -> None:
    for exporter in LIVE_EXPORTERS:
        exporter.call_finished(call)


@hookimpl
def dnc_checked(service: str, result: str, seconds: float) -> None:
    for exporter in LIVE_EXPORTERS:
        exporter.dnc_checked(service, result, seconds)
