"""``GET /metrics`` — the process's metrics for Prometheus, and who may read them.

Core, not the web package: ``serve --role engine --metrics-port N`` serves these
routes on its own, without the admin's web app (``core/runtime``); the web app
mounts the same route and lifespan.

Scrapers do not log in, so the route has its own rule, set in the environment:

=============================  ==========================================================
``OPENDIALER_METRICS_TOKEN``   a secret (16+ characters); a scrape sending
                               ``Authorization: Bearer <it>`` is answered
``OPENDIALER_METRICS_ALLOW``   comma-separated addresses or networks
                               (``10.0.0.0/8,192.0.2.7``) answered without a token
=============================  ==========================================================

Neither set: ``/metrics`` answers 403 to everyone (metrics name campaigns and
services; nothing is exposed until an administrator decides). The address is
the TCP peer's: behind a reverse proxy every scrape comes from the proxy, so
use the token there. The exporter comes from the ``register_metrics_exporters``
hook (``prometheus`` when installed).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.datastructures import State

import opendialer
from opendialer.core.engine.clock import RealClock
from opendialer.core.engine.engine import EngineContext
from opendialer.core.plugins import PluginManager, get_plugin_manager
from opendialer.sdk.contracts import MetricsExporter

TOKEN_ENV = "OPENDIALER_METRICS_TOKEN"
ALLOW_ENV = "OPENDIALER_METRICS_ALLOW"
MIN_TOKEN_LENGTH = 16
ACCESS_KEY = "metrics_access"
EXPORTER_KEY = "metrics"
PREFERRED_EXPORTER = "prometheus"

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class MetricsConfigError(ValueError):
    """A metrics setting in the environment is malformed (the message names it)."""


@dataclass(frozen=True, slots=True)
class MetricsAccess:
    token: str | None = None
    networks: tuple[Network, ...] = ()

    @classmethod
    def from_env(cls, environ: Any = None) -> MetricsAccess:
        env = os.environ if environ is None else environ
        token = env.get(TOKEN_ENV, "").strip() or None
        if token is not None and len(token) < MIN_TOKEN_LENGTH:
            raise MetricsConfigError(
                f"${TOKEN_ENV} is {len(token)} characters long: use at least "
                f"{MIN_TOKEN_LENGTH} (e.g. `openssl rand -hex 24`)"
            )
        networks = []
        for part in env.get(ALLOW_ENV, "").split(","):
            entry = part.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError as exc:
                raise MetricsConfigError(
                    f"${ALLOW_ENV}: {entry!r} is not an address or network ({exc}); "
                    "write e.g. 10.0.0.0/8,192.0.2.7"
                ) from None
        return cls(token=token, networks=tuple(networks))

    def refusal(self, authorization: str | None, client_host: str | None) -> Response[Any] | None:
        """None when the scrape may be answered, else the answer that refuses it."""
        if self.token is not None and authorization:
            scheme, _, credentials = authorization.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                credentials.strip().encode(), self.token.encode()
            ):
                return None
        if client_host and self.networks:
            try:
                address = ipaddress.ip_address(client_host)
            except ValueError:
                address = None
            if address is not None and any(address in network for network in self.networks):
                return None
        if self.token is None and not self.networks:
            return _refuse(
                403,
                "forbidden",
                f"/metrics is not enabled: set {TOKEN_ENV} (bearer token) or {ALLOW_ENV} "
                "(networks allowed without a token), see docs/metrics.md",
            )
        if self.token is None:
            return _refuse(
                403, "forbidden", f"this address is not in {ALLOW_ENV}; see docs/metrics.md"
            )
        detail = "send Authorization: Bearer <the metrics token> (see docs/metrics.md)"
        if authorization:
            detail = "wrong metrics token"
        return _refuse(401, "not_authenticated", detail)


def _refuse(status: int, error: str, detail: str) -> Response[Any]:
    headers = {"WWW-Authenticate": 'Bearer realm="metrics"'} if status == 401 else {}
    return Response(content={"error": error, "detail": detail}, status_code=status, headers=headers)


def build_exporter(pm: PluginManager | None = None, **options: Any) -> MetricsExporter | None:
    """The process's exporter from the plugins: ``prometheus``, else the first by name;
    None when no plugin registers one (``/metrics`` then answers 404)."""
    factories = (pm or get_plugin_manager()).factories("metrics_exporters")
    name = PREFERRED_EXPORTER if PREFERRED_EXPORTER in factories else min(factories, default=None)
    if name is None:
        return None
    context = EngineContext(RealClock(), {}, lambda: None)
    try:
        exporter: MetricsExporter = factories[name](context=context, **options)
    except ValueError as exc:  # a malformed setting: say which, stop the start
        raise MetricsConfigError(f"metrics exporter {name!r}: {exc}") from None
    return exporter


def metrics_lifespan(
    exporter: MetricsExporter | None,
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Puts the exporter in ``app.state``. One handed in (``serve --role all``: shared
    with the engine) is started and closed by its owner; else the app builds its own."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if exporter is not None:
            app.state[EXPORTER_KEY] = exporter
            yield
            return
        own = build_exporter()
        app.state[EXPORTER_KEY] = own
        if own is not None:
            await own.start()
        try:
            yield
        finally:
            if own is not None:
                await own.close()

    return lifespan


@get("/metrics", include_in_schema=False)
async def metrics_endpoint(request: Request[Any, Any, Any]) -> Response[Any]:
    access: MetricsAccess = request.app.state[ACCESS_KEY]
    client = request.client.host if request.client else None
    refused = access.refusal(request.headers.get("authorization"), client)
    if refused is not None:
        return refused
    exporter: MetricsExporter | None = request.app.state.get(EXPORTER_KEY)
    if exporter is None:
        return _refuse(
            404, "not_found", "no metrics exporter is installed (see `opendialer plugins list`)"
        )
    body, content_type = await exporter.render(request.headers.get("accept", ""))
    return Response(content=body, media_type=content_type, headers={"Cache-Control": "no-store"})


@get("/healthz", sync_to_thread=False, include_in_schema=False)
def healthz() -> dict[str, str]:
    """Liveness for load balancers and orchestrators (web app and metrics-only server)."""
    return {"status": "ok", "version": opendialer.__version__}


def metrics_only_app(exporter: MetricsExporter) -> Litestar:
    """``serve --role engine --metrics-port N``: ``/metrics`` (same access rule) and
    ``/healthz``, nothing else."""
    return Litestar(
        route_handlers=[healthz, metrics_endpoint],
        lifespan=[metrics_lifespan(exporter)],
        state=State({ACCESS_KEY: MetricsAccess.from_env()}),
        logging_config=None,
        openapi_config=None,
    )


__all__ = [
    "ALLOW_ENV",
    "TOKEN_ENV",
    "MetricsAccess",
    "MetricsConfigError",
    "build_exporter",
    "healthz",
    "metrics_endpoint",
    "metrics_lifespan",
    "metrics_only_app",
]
