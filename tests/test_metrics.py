"""``GET /metrics``: a real campaign on the simulator, scraped over HTTP, on SQLite and
PostgreSQL. Counts equal the call records; health gauges follow a real HTTPS DNC
service going down; event-loop lag is measured; access needs the token or an
allowed network; every metric the Grafana dashboard queries exists."""

from __future__ import annotations

import json
import re
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_client import running
from engine_support import (
    add_leads,
    add_schedule,
    engine_process_env,
    full_day_campaign,
    leads_by_phone,
    make_campaign,
    make_engine,
    records,
    run_round,
    start_engine_process,
    utc,
    wait_for,
)
from helpers import run_cli
from prometheus_client.parser import text_string_to_metric_families

from opendialer.admin_ui.app import create_app
from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.engine import Engine
from opendialer.core.engine.view import attach_exporter
from opendialer.core.plugins import PluginManager
from opendialer.core.runtime.metrics_http import (
    ALLOW_ENV,
    TOKEN_ENV,
    MetricsConfigError,
    build_exporter,
)
from opendialer.core.storage import Database
from opendialer.core.storage.tables import DncService
from opendialer.plugins.metrics_prometheus.exporter import REFRESH_ENV, PrometheusExporter
from opendialer.testing import FakeDncServer

pytestmark = pytest.mark.pg

TOKEN = "metrics-test-token-0123456789"
DASHBOARD = Path(__file__).resolve().parent.parent / "docs" / "grafana-dashboard.json"
BLOCKED = {"15551000003", "15551000007"}


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape: (name, labels) → value."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(samples: Samples, metric: str, /, **labels: str) -> float | None:
    return samples.get((metric, frozenset(labels.items())))


def series(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}


def no_amd_strategy() -> PluginManager:
    """The simulator then gives its scripted verdict (machine/human, 1.8 s) at once,
    instead of playing audio to the numpy detector: same engine path, less CPU."""
    return PluginManager(disabled=frozenset({"amd_numpy"})).load_all()


@asynccontextmanager
async def scraped_app(
    db: Database, engine: Engine | None, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """The web app sharing one exporter with ``engine`` (as ``serve --role all`` does);
    the client's ``exporter`` attribute is that exporter."""
    from opendialer.core import dnc

    await dnc.close_all()  # the web's providers are per process: none from another test
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    exporter = PrometheusExporter(db_refresh_s=0, lag_interval_s=0.05)
    await exporter.start()
    stop_events = attach_exporter(exporter, engine) if engine is not None else None
    app = create_app(database=db, metrics=exporter)
    try:
        async with running(app):
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 40000)),
                base_url="http://testserver",
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as client:
                client.exporter = exporter  # type: ignore[attr-defined]
                yield client
    finally:
        if stop_events is not None:
            stop_events()
        await exporter.close()


async def scrape(client: httpx.AsyncClient) -> tuple[str, Samples]:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text, parse(response.text)


async def _dnc_service(server: FakeDncServer, timeout_ms: int = 500) -> int:
    row = DncService(
        name="Registry",
        kind="http",
        url=server.url,
        ca_bundle=server.ca_pem,
        timeout_ms=timeout_ms,
        options={"retries": 0, "breaker_failures": 1, "breaker_reset_s": 3600},
    )
    await row.save().run()
    return int(row.id)


async def _run_campaign(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, Samples, int, list[dict[str, Any]]]:
    """Twelve leads (two on the DNC list) through AMD, busy and no-answer outcomes."""
    with FakeDncServer(blocked=BLOCKED) as server:
        # a generous timeout: twelve TLS handshakes at once on a busy test machine
        service_id = await _dnc_service(server, timeout_ms=20_000)
        clock = FakeClock(utc(2026, 3, 2, 10, 0))
        cid = await make_campaign(name="Spring promo", dnc_service=service_id, amd_enabled=True)
        await add_schedule(cid, date(2026, 3, 2))
        await add_leads(cid, [f"155510000{i:02d}" for i in range(12)])
        engine = make_engine(
            db,
            clock,
            pm=no_amd_strategy(),
            mix={"human": 3, "machine": 3, "busy": 2, "no_answer": 1},
            slots=20,
        )
        await engine.start(run_loop=False)
        try:
            async with scraped_app(db, engine, monkeypatch) as client:
                await run_round(engine, rounds=3)
                await clock.advance(61 * 60)  # busy/no-answer leads are due again
                text, samples = await scrape(client)
        finally:
            await engine.stop()
    return text, samples, cid, await records(cid)


async def test_counts_equal_the_call_records(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    _, samples, cid, calls = await _run_campaign(db, monkeypatch)
    campaign = str(cid)
    placed = [c for c in calls if c["status"] != "DO_NOT_CALL"]
    assert len(calls) == 12 and len(placed) == 10  # every lead once; two blocked

    assert value(samples, "opendialer_calls_originated_total", campaign=campaign) == len(placed)
    outcomes = {
        dict(labels)["status"]: v
        for labels, v in series(samples, "opendialer_call_outcomes_total").items()
    }
    assert outcomes == dict(Counter(c["status"] for c in calls))
    assert outcomes["DO_NOT_CALL"] == 2

    verdicts = {
        dict(labels)["verdict"]: v
        for labels, v in series(samples, "opendialer_amd_verdicts_total").items()
    }
    expected_verdicts = Counter(c["amd_verdict"] for c in calls if c["amd_verdict"])
    assert verdicts == dict(expected_verdicts) and set(verdicts) == {"MACHINE", "HUMAN"}
    for verdict, count in expected_verdicts.items():
        assert value(samples, "opendialer_amd_decision_seconds_count", verdict=verdict) == count
        # the simulator's scripted verdicts take 1.8 s: all in the 2 s bucket, none under 1.5 s
        assert (
            value(samples, "opendialer_amd_decision_seconds_bucket", verdict=verdict, le="2.0")
            == count
        )
        assert (
            value(samples, "opendialer_amd_decision_seconds_bucket", verdict=verdict, le="1.5") == 0
        )

    checks = {
        dict(labels)["result"]: v
        for labels, v in series(samples, "opendialer_dnc_checks_total").items()
        if dict(labels)["service"] == "Registry"
    }
    assert checks == {"callable": len(placed), "blocked": 2}
    assert (
        value(
            samples,
            "opendialer_dnc_check_duration_seconds_count",
            service="Registry",
            result="blocked",
        )
        == 2
    )
    assert value(samples, "opendialer_dnc_service_up", service="Registry") == 1

    # due again an hour later (the clock moved 61 minutes): BUSY, NO_ANSWER, AMD ...
    due = [lead for lead in (await leads_by_phone(cid)).values() if lead["next_attempt_at"]]
    assert due
    assert value(samples, "opendialer_leads_due", campaign=campaign) == len(due)
    assert value(samples, "opendialer_schedule_state", campaign=campaign, state="RUNNING") == 1
    assert value(samples, "opendialer_schedule_state", campaign=campaign, state="FINISHED") == 0
    assert (
        value(
            samples, "opendialer_campaign_info", campaign=campaign, name="Spring promo", type="OSCC"
        )
        == 1
    )
    assert value(samples, "opendialer_campaigns", state="STARTED") == 1
    assert value(samples, "opendialer_calls_in_flight", campaign=campaign) == 0
    assert value(samples, "opendialer_routing_target_up", target="static") == 1
    assert value(samples, "opendialer_platform_up") == 1
    assert value(samples, "opendialer_metrics_database_up") == 1
    # labels stay bounded: no phone number or lead id anywhere
    for (_, labels), _v in samples.items():
        for _, label_value in labels:
            assert not re.fullmatch(r"1555\d+", label_value), labels


async def test_a_call_the_platform_refuses_is_counted_as_refused(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No free port after all: the attempt is undone (no record) and counted as refused,
    so originated = outcomes + refused; the lead is dialed on a later round."""
    from opendialer.sdk.contracts import PlatformUnavailable

    clock = FakeClock(utc(2026, 3, 2, 10, 0))
    cid = await make_campaign()
    await add_schedule(cid, date(2026, 3, 2))
    await add_leads(cid, [f"1555200000{i}" for i in range(4)])
    engine = make_engine(db, clock, mix={"busy": 1}, slots=4)
    await engine.start(run_loop=False)
    originate = engine.platform.originate
    refusals = [PlatformUnavailable("no free port (test)")] * 2

    async def refuse_twice(request: Any) -> Any:
        if refusals:
            raise refusals.pop()
        return await originate(request)

    monkeypatch.setattr(engine.platform, "originate", refuse_twice)
    try:
        async with scraped_app(db, engine, monkeypatch) as client:
            await run_round(engine)
            first = await records(cid)
            _, samples = await scrape(client)
            assert len(first) == 2  # two refused: undone, no record
            assert value(samples, "opendialer_calls_originated_total", campaign=str(cid)) == 4
            assert value(samples, "opendialer_calls_refused_total", campaign=str(cid)) == 2
            await run_round(engine)  # the refused leads are still due: dialed now
            _, samples = await scrape(client)
    finally:
        await engine.stop()
    calls = await records(cid)
    assert len(calls) == 4
    originated = value(samples, "opendialer_calls_originated_total", campaign=str(cid))
    refused = value(samples, "opendialer_calls_refused_total", campaign=str(cid))
    assert (originated, refused) == (len(calls) + 2, 2)
    snapshot = engine.metrics.snapshot()
    assert (snapshot["originated"], snapshot["refused"]) == (len(calls) + 2, 2)


async def test_dnc_health_and_schedule_follow_a_service_that_goes_down(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = FakeDncServer().start()
    try:
        service_id = await _dnc_service(server)
        clock = FakeClock(utc(2026, 3, 2, 10, 0))
        cid = await make_campaign(dnc_service=service_id)
        await add_schedule(cid, date(2026, 3, 2))
        await add_leads(cid, ["15552000001", "15552000002", "15552000003"])
        engine = make_engine(db, clock, pm=no_amd_strategy(), mix={"busy": 1}, slots=1)
        await engine.start(run_loop=False)
        try:
            async with scraped_app(db, engine, monkeypatch) as client:
                await run_round(engine)
                _, before = await scrape(client)
                assert value(before, "opendialer_dnc_service_up", service="Registry") == 1
                assert (
                    value(before, "opendialer_schedule_state", campaign=str(cid), state="RUNNING")
                    == 1
                )
                server.mode = "error"  # the service answers 503 ...
                server.stop()  # ... and stops accepting connections
                await run_round(engine, rounds=2)
                _, after = await scrape(client)
        finally:
            await engine.stop()
    finally:
        server.stop()
    assert value(after, "opendialer_dnc_service_up", service="Registry") == 0
    assert value(after, "opendialer_dnc_checks_total", service="Registry", result="unavailable")
    state = "DNC_OUT_OF_SERVICE"
    assert value(after, "opendialer_schedule_state", campaign=str(cid), state=state) == 1
    assert value(after, "opendialer_schedule_state", campaign=str(cid), state="RUNNING") == 0


async def test_event_loop_lag_is_measured(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    async with scraped_app(db, None, monkeypatch) as client:
        _, idle = await scrape(client)
        assert value(idle, "opendialer_event_loop_lag_seconds") is not None
        time.sleep(0.5)  # noqa: ASYNC251 — blocking the loop on purpose: that is the lag
        exporter = client.exporter  # type: ignore[attr-defined]
        await wait_for(_sampled_after(exporter), what="a lag sample after the block")
        _, blocked = await scrape(client)
    # the monitor's 0.05 s timer fired at least 0.45 s late
    assert (value(blocked, "opendialer_event_loop_lag_max_seconds") or 0) >= 0.4
    # a web process with no engine has no engine series
    assert not series(blocked, "opendialer_calls_in_flight")


def _sampled_after(exporter: PrometheusExporter) -> Any:
    seen = exporter.loop_lag.samples

    async def check() -> bool:
        return exporter.loop_lag.samples > seen + 1

    return check


async def test_access_needs_the_token_or_an_allowed_network(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.delenv(ALLOW_ENV, raising=False)

    async def status(app: Any, address: str, headers: dict[str, str] | None = None) -> int:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(address, 40000)),
            base_url="http://testserver",
            headers=headers or {},
        ) as client:
            response = await client.get("/metrics")
            if response.status_code != 200:
                problem = response.json()
                assert (problem["error"] and "docs/metrics.md" in problem["detail"]) or (
                    problem["detail"] == "wrong metrics token"
                )
            return response.status_code

    closed = create_app(database=db)  # nothing configured: nobody
    async with running(closed):
        assert await status(closed, "127.0.0.1") == 403
        assert await status(closed, "127.0.0.1", {"Authorization": f"Bearer {TOKEN}"}) == 403

    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv(ALLOW_ENV, "10.1.0.0/16, 192.0.2.7")
    app = create_app(database=db)
    async with running(app):
        assert await status(app, "203.0.113.5") == 401
        assert await status(app, "203.0.113.5", {"Authorization": "Bearer wrong-token"}) == 401
        assert await status(app, "203.0.113.5", {"Authorization": f"Basic {TOKEN}"}) == 401
        assert await status(app, "203.0.113.5", {"Authorization": f"Bearer {TOKEN}"}) == 200
        assert await status(app, "10.1.200.3") == 200
        assert await status(app, "192.0.2.7") == 200
        assert await status(app, "192.0.2.8") == 401

    monkeypatch.delenv(TOKEN_ENV)
    networks_only = create_app(database=db)
    async with running(networks_only):
        assert await status(networks_only, "10.1.0.9") == 200
        assert await status(networks_only, "10.2.0.9") == 403

    monkeypatch.setenv(ALLOW_ENV, "10.0.0.0/8,not-a-network")
    with pytest.raises(MetricsConfigError, match=r"OPENDIALER_METRICS_ALLOW: 'not-a-network'"):
        create_app(database=db)
    monkeypatch.setenv(ALLOW_ENV, "")
    monkeypatch.setenv(TOKEN_ENV, "short")
    with pytest.raises(MetricsConfigError, match=r"OPENDIALER_METRICS_TOKEN is 5 characters"):
        create_app(database=db)
    monkeypatch.setenv(REFRESH_ENV, "0")
    with pytest.raises(MetricsConfigError, match=r"OPENDIALER_METRICS_REFRESH_S must be .* '0'"):
        build_exporter()


def _dashboard_metric_names() -> set[str]:
    board = json.loads(DASHBOARD.read_text())
    expressions = [
        target["expr"]
        for panel in board["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    expressions += [
        v["query"] if isinstance(v["query"], str) else v["query"]["query"]
        for v in board["templating"]["list"]
        if v["type"] == "query"
    ]
    assert expressions
    names: set[str] = set()
    for expr in expressions:
        found = set(re.findall(r"\bopendialer_[a-z0-9_]+\b", expr))
        assert found, f"a dashboard query names no opendialer metric: {expr}"
        names |= found
    return names


def test_the_dashboard_is_an_importable_grafana_dashboard() -> None:
    board = json.loads(DASHBOARD.read_text())
    assert board["title"] and board["uid"] and board["schemaVersion"] >= 30
    [source] = [v for v in board["templating"]["list"] if v["type"] == "datasource"]
    assert source["query"] == "prometheus"
    variable = "${" + source["name"] + "}"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": variable}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": variable}
            assert target["refId"]
    for templated in board["templating"]["list"]:
        if templated["type"] == "query":
            assert templated["datasource"] == {"type": "prometheus", "uid": variable}


async def test_every_dashboard_metric_is_exposed(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, samples = (await _run_campaign(db, monkeypatch))[:2]
    exposed = {name for name, _ in samples}
    # a family the simulator gives no series (SIP registrations) is still declared
    declared = set(re.findall(r"^# TYPE (\S+) ", text, flags=re.M))
    missing = sorted(_dashboard_metric_names() - exposed - declared)
    assert not missing, f"the dashboard queries metrics /metrics does not expose: {missing}"
    # and the documentation describes every family exposed
    doc = (DASHBOARD.parent / "metrics.md").read_text()
    families = {
        f.name for f in text_string_to_metric_families(text) if not f.name.endswith("_created")
    }
    undocumented = sorted(f for f in families if f"`{f}" not in doc)
    assert not undocumented, f"docs/metrics.md does not describe: {undocumented}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_engine_role_serves_its_metrics_on_the_metrics_port(
    db: Database, cli_env: dict[str, str], tmp_path: Path
) -> None:
    cid = await full_day_campaign(6)
    port = _free_port()
    env = engine_process_env(cli_env, "metrics-node")
    env[TOKEN_ENV] = TOKEN
    proc = start_engine_process(
        env,
        tmp_path / "engine.log",
        ("serve", "--role", "engine", "--metrics-port", str(port)),
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            latest: dict[str, Samples] = {}

            async def all_dialed() -> bool:
                try:
                    response = await client.get(
                        "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
                    )
                except httpx.TransportError:
                    return False
                latest["samples"] = parse(response.text)
                outcomes = series(latest["samples"], "opendialer_call_outcomes_total")
                return sum(outcomes.values()) >= 6

            await wait_for(all_dialed, what="six outcomes on the engine's /metrics")
            refused = await client.get("/metrics")
            assert refused.status_code == 401
            assert (await client.get("/api/v1/auth/me")).status_code == 404  # metrics only
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    samples = latest["samples"]
    originated = value(samples, "opendialer_calls_originated_total", campaign=str(cid))
    assert originated is not None and originated >= 6
    assert value(samples, "opendialer_platform_up") == 1
    assert value(samples, "opendialer_event_loop_lag_seconds") is not None


def test_metrics_port_is_refused_for_the_other_roles(cli_env: dict[str, str]) -> None:
    result = run_cli("serve", "--role", "all", "--metrics-port", "9100", env=cli_env)
    assert result.returncode == 1
    assert "--metrics-port is for --role engine" in result.stderr


@pytest.mark.parametrize("accepts", [True, False], ids=["registrar_accepts", "registrar_refuses"])
async def test_sip_registration_health_follows_the_registrar(
    db: Database, monkeypatch: pytest.MonkeyPatch, accepts: bool
) -> None:
    """A real SIP platform registering two ports at a scripted registrar on 127.0.0.1."""
    from sip_helpers import eventually, running_platform, sip_config
    from sip_scripted_far_end import Behaviour, ScriptedUas

    uas = await ScriptedUas(Behaviour(reject_register=not accepts)).start()
    try:
        config = sip_config(uas.address, ports=2, register=True)
        async with running_platform(config, register_backoff_s=60.0) as platform:
            wanted = "registered" if accepts else "failed"
            await eventually(lambda: all(r["state"] == wanted for r in platform.registrations()))
            engine = Engine(db, "sip-node", platform=platform)  # not started: only read
            async with scraped_app(db, engine, monkeypatch) as client:
                _, samples = await scrape(client)
    finally:
        uas.close()
    assert value(samples, "opendialer_sip_registrations", state="registered") == (
        2 if accepts else 0
    )
    if not accepts:
        assert value(samples, "opendialer_sip_registrations", state="failed") == 2
    assert value(samples, "opendialer_platform_up") == (1 if accepts else 0)
    assert value(samples, "opendialer_platform_free_ports") == (2 if accepts else 0)


async def test_hot_path_hooks_never_wait_for_an_async_observer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``call_originated``/``dnc_checked`` run synchronously; an async observer becomes a
    background task (it cannot hold the call), and its error is logged by plugin name."""
    import asyncio

    from opendialer.sdk.hookspecs import hookimpl

    seen: list[str] = []
    release = asyncio.Event()

    class SlowObserver:
        @hookimpl
        def dnc_checked(self, service: str, result: str) -> None:
            seen.append(f"sync {service} {result}")

        @hookimpl
        async def call_originated(self, call_id: str) -> None:
            await release.wait()  # awaiting this inline would never return
            seen.append(f"async {call_id}")
            raise RuntimeError("observer bug")

    pm = PluginManager()
    assert pm.register(SlowObserver(), name="slow_observer")
    pm.notify_now("dnc_checked", service="Registry", result="blocked", seconds=0.01)
    pm.notify_now("call_originated", call_id="c1", campaign_id=1, attempt=1, node="n")
    assert seen == ["sync Registry blocked"]
    release.set()
    await wait_for(_async_seen(seen), what="the observer's task")
    await asyncio.sleep(0)  # its done-callback logs the error
    assert seen[-1] == "async c1"
    assert any(
        "plugin=slow_observer hook=call_originated" in r.getMessage() for r in caplog.records
    )


def _async_seen(seen: list[str]) -> Any:
    async def check() -> bool:
        return "async c1" in seen

    return check


async def test_web_process_reports_the_embedded_service_it_answers_from(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve --role web``: no engine, but ``/donotcall`` starts the Embedded Service's
    provider, whose health the web process's metrics show."""
    async with scraped_app(db, None, monkeypatch) as client:
        _, before = await scrape(client)
        assert not series(before, "opendialer_dnc_service_up")
        answer = await client.post("/donotcall", json={"number": "554181021119"})
        assert answer.status_code == 200, answer.text
        _, after = await scrape(client)
    assert series(after, "opendialer_dnc_service_up") == {
        frozenset({("service", "Embedded Service")}): 1.0
    }
