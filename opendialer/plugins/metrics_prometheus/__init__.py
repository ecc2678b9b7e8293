"""Built-in plugin ``metrics_prometheus``: ``GET /metrics`` in the Prometheus text format.

Registers the metrics exporter ``prometheus`` (see :mod:`.exporter`). The
exporter the web app builds counts the engine's events itself: its
``@hookimpl`` methods observe the event hooks of the engine it is attached to,
so no module-level state links this plugin to the exporters it built. The
metrics, the access settings and the Grafana dashboard are described in
``docs/metrics.md``.
"""

from __future__ import annotations

from collections.abc import Mapping

from opendialer.plugins.metrics_prometheus.exporter import PrometheusExporter
from opendialer.sdk import MetricsExporterFactory, hookimpl


@hookimpl
def register_metrics_exporters() -> Mapping[str, MetricsExporterFactory]:
    return {"prometheus": PrometheusExporter}
