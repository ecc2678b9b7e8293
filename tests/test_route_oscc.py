"""The ``oscc`` routing target against the contact-center simulator over real HTTP.

The simulator runs in this event loop on a free port; the tests steer it through
its HTTP control API (``/_sim``) and read the target only through the
``RoutingTarget`` contract (plus ``status()``). Intervals are a few tens of
milliseconds; outcomes are awaited with a deadline, never timed.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from eventually import eventually

from opendialer.core.plugins import PluginManager
from opendialer.plugins.route_oscc import OsccOptionError, OsccRoutingTarget
from opendialer.plugins.route_oscc.simulator import ContactCenter, SimulatorServer
from opendialer.sdk.contracts import Health, ReportsStatus, RoutingRequest, RoutingTarget

SALES = RoutingRequest(campaign_id=1, campaign_type="OSCC", queue="sales", pilot_number="4000")
SALES_2 = RoutingRequest(campaign_id=2, campaign_type="OSCC", queue="sales", pilot_number="4999")
SUPPORT = RoutingRequest(campaign_id=3, campaign_type="OSCC", queue="support", pilot_number="4000")

FAST = {
    "poll_interval_ms": 50,
    "keepalive_interval_ms": 150,
    "stale_after_ms": 3000,
    "request_timeout_ms": 1500,
    "connect_timeout_ms": 1500,
    "backoff_initial_ms": 50,
    "backoff_max_ms": 400,
}


async def health_saying(
    target: OsccRoutingTarget, request: RoutingRequest, words: str, within: float = 8.0
) -> Health:
    """The target's health for ``request`` once its detail contains ``words``."""
    found: list[Health] = []

    def check() -> bool:
        health = target.health(request)
        found[:] = [health]
        return words in health.detail

    await eventually(check, within, what=f"health saying {words!r} (last: {found})")
    return found[0]


async def control(sim: SimulatorServer, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    async with httpx.AsyncClient(timeout=5, **kw) as client:
        response = await client.request(method, f"{sim.control_url}/{path}", json=body)
        response.raise_for_status()
        return response.json()


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    server = SimulatorServer(ContactCenter(session_timeout_s=5), base_path="/oscc/rest")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def make_target(sim: SimulatorServer, **options: Any) -> OsccRoutingTarget:
    factory = PluginManager().load_all().factories("routing_targets")["oscc"]
    target = factory(options={"base_url": sim.url, **FAST, **options}, context=None)
    assert isinstance(target, RoutingTarget) and isinstance(target, ReportsStatus)
    return target


@pytest.fixture
async def target(sim: SimulatorServer) -> AsyncIterator[OsccRoutingTarget]:
    t = make_target(sim)
    await t.start()
    try:
        yield t
    finally:
        await t.close()


async def test_counts_free_agents_per_queue(
    sim: SimulatorServer, target: OsccRoutingTarget
) -> None:
    await control(sim, "PUT", "queues/sales", {"agents": 5, "free": 3})
    await control(sim, "PUT", "queues/support", {"agents": 2, "free": 2})
    await eventually(lambda: target.free_slots(SALES) == 3, what="sales shows 3 free")
    await eventually(lambda: target.free_slots(SUPPORT) == 2, what="support shows 2 free")
    assert target.health(SALES).ok
    assert "3 free" in target.health(SALES).detail
    await control(sim, "PUT", "queues/sales", {"free": 1})
    await eventually(lambda: target.free_slots(SALES) == 1, what="sales follows the change")
    status = target.status()
    assert status["session"]["state"] == "up"
    assert status["circuit_breaker"]["state"] == "closed"
    assert status["queues"]["sales"]["free_agents"] == 1
    assert status["queues"]["sales"]["data_age_s"] is not None
    await eventually(lambda: target.status()["session"]["last_keepalive_ok"], what="keep-alive")


class WakeCounter:
    """A plugin context like the engine's: a clock and ``wake_pacer()``."""

    def __init__(self) -> None:
        self.wakes = 0

    def now(self) -> datetime:
        return datetime.now(UTC)

    @property
    def settings(self) -> dict[str, Any]:
        return {}

    def wake_pacer(self) -> None:
        self.wakes += 1


async def test_wakes_the_pacer_when_agents_become_free(sim: SimulatorServer) -> None:
    context = WakeCounter()
    factory = PluginManager().load_all().factories("routing_targets")["oscc"]
    t = factory(options={"base_url": sim.url, **FAST}, context=context)
    await t.start()
    try:
        await control(sim, "PUT", "queues/sales", {"agents": 3, "free": 0})
        await eventually(lambda: t.health(SALES).ok, what="counted")
        before = context.wakes
        polls = [t.status()["queues"]["sales"]["fetched_at"]]

        def polled_twice_more() -> bool:
            fetched_at = t.status()["queues"]["sales"]["fetched_at"]
            if fetched_at != polls[-1]:
                polls.append(fetched_at)
            return len(polls) > 2

        await eventually(polled_twice_more, what="two more polls")
        assert context.wakes == before  # polls that see no change do not wake it
        await control(sim, "PUT", "queues/sales", {"free": 2})
        await eventually(lambda: context.wakes > before, what="woken on more free agents")
        assert t.free_slots(SALES) == 2
    finally:
        await t.close()


async def test_events_trigger_a_snapshot_between_polls(sim: SimulatorServer) -> None:
    # Polls every 60 s: within this test's deadline only an event can bring a change.
    t = make_target(
        sim, events=True, events_wait_ms=300, poll_interval_ms=60_000, stale_after_ms=120_000
    )
    await t.start()
    try:
        await control(sim, "PUT", "queues/sales", {"agents": 3, "free": 0})
        await eventually(lambda: t.health(SALES).ok, what="first snapshot")
        assert t.free_slots(SALES) == 0
        await control(sim, "PUT", "queues/sales", {"free": 2})
        await eventually(lambda: t.free_slots(SALES) == 2, what="change seen through an event")
        await control(sim, "POST", "queues/sales/deliver", {"handle_ms": 60_000})
        await eventually(lambda: t.free_slots(SALES) == 1, what="busy agent seen")
        assert t.status()["session"]["events_received"] >= 2
        assert (await control(sim, "GET", "state"))["counters"]["events"] >= 2
    finally:
        await t.close()


async def test_unknown_queue_gives_zero_and_says_so(
    sim: SimulatorServer, target: OsccRoutingTarget
) -> None:
    ghost = RoutingRequest(campaign_id=9, campaign_type="OSCC", queue="ghost", pilot_number="1")
    await control(sim, "PUT", "queues/sales", {"agents": 1, "free": 1})
    await eventually(lambda: "not reported" in target.health(ghost).detail, what="ghost reason")
    assert target.free_slots(ghost) == 0


async def test_reservations_hold_one_agent_per_launched_call(
    sim: SimulatorServer, target: OsccRoutingTarget
) -> None:
    await control(sim, "PUT", "queues/sales", {"agents": 3, "free": 2})
    await control(sim, "PUT", "queues/support", {"agents": 1, "free": 1})
    await eventually(lambda: target.free_slots(SALES) == 2, what="2 free")
    target.reserve(SALES, "c1")
    assert target.free_slots(SALES) == 1
    target.reserve(SALES_2, "c2")  # another campaign, another pilot, same queue: same agents
    assert target.free_slots(SALES) == 0
    assert target.free_slots(SALES_2) == 0
    await eventually(lambda: target.free_slots(SUPPORT) == 1, what="support untouched")
    target.release("c1", transferred=False)  # the call failed: its agent is free again
    assert target.free_slots(SALES) == 1
    # c2 reaches the queue and an agent takes it; until a count fetched after
    # that arrives, c2 still holds its agent, so it is never counted twice.
    assert (await control(sim, "POST", "queues/sales/deliver", {"handle_ms": 60_000}))["delivered"]
    target.release("c2", transferred=True)
    # 1, or 0 when a count fetched between the delivery and the release already shows
    # c2's agent busy while c2 still holds it (an undercount, the safe side): never 2
    assert target.free_slots(SALES) in (0, 1)
    # Once a count fetched after the transfer arrives, c2's agent shows busy there
    # and c2 lets go of it: still 1 free, never 2.
    await eventually(lambda: target.status()["reservations"]["held"] == 0, what="c2 settled")
    assert target.free_slots(SALES) == 1


async def test_a_reservation_times_out(sim: SimulatorServer) -> None:
    t = make_target(sim, reservation_timeout_ms=300)
    await t.start()
    try:
        await control(sim, "PUT", "queues/sales", {"agents": 2, "free": 2})
        await eventually(lambda: t.free_slots(SALES) == 2, what="2 free")
        t.reserve(SALES, "lost-call")
        assert t.free_slots(SALES) == 1
        await eventually(lambda: t.free_slots(SALES) == 2, what="reservation expired")
        assert t.status()["reservations"]["expired_total"] == 1
    finally:
        await t.close()


async def test_stale_data_gives_zero_with_the_reason(sim: SimulatorServer) -> None:
    t = make_target(sim, stale_after_ms=400, request_timeout_ms=5000)
    await t.start()
    try:
        await control(sim, "PUT", "queues/sales", {"agents": 4, "free": 4})
        await eventually(lambda: t.free_slots(SALES) == 4, what="4 free")
        # Statistics answers now take 2 s: the session stays up, the count ages.
        await control(sim, "POST", "latency", {"ms": 2000, "operations": ["queue_statistics"]})
        health = await health_saying(t, SALES, "stale after")
        assert re.search(r"queue 'sales' data is [\d.]+ s old \(stale after 0.4 s\)", health.detail)
        assert t.free_slots(SALES) == 0
        assert t.status()["session"]["state"] == "up"
        assert t.status()["queues"]["sales"]["stale"] is True
        await control(sim, "POST", "latency", {"ms": 0})
        await eventually(lambda: t.free_slots(SALES) == 4, what="fresh again")
    finally:
        await control(sim, "POST", "latency", {"ms": 0})
        await t.close()


async def test_contact_center_slower_than_the_timeouts_gives_zero(
    sim: SimulatorServer, target: OsccRoutingTarget
) -> None:
    await control(sim, "PUT", "queues/sales", {"agents": 2, "free": 2})
    await eventually(lambda: target.free_slots(SALES) == 2, what="2 free")
    await control(sim, "POST", "latency", {"ms": 3000})
    health = await health_saying(target, SALES, "timeout")
    assert not health.ok
    assert re.match(
        r"contact center session down since \d\d:\d\d:\d\d: timeout after 1.5 s on POST /",
        health.detail,
    )
    assert target.free_slots(SALES) == 0
    await control(sim, "POST", "latency", {"ms": 0})
    await eventually(lambda: target.free_slots(SALES) == 2, within=10, what="recovered")


async def test_errors_rebuild_the_session_with_exponential_backoff(
    sim: SimulatorServer, target: OsccRoutingTarget
) -> None:
    await control(sim, "PUT", "queues/sales", {"agents": 2, "free": 2})
    await eventually(lambda: target.free_slots(SALES) == 2, what="2 free")
    first = target.status()["session"]["sessions_opened"]
    await control(sim, "POST", "faults", {"status": 500, "count": 1, "operations": ["keepalive"]})
    await eventually(
        lambda: target.status()["session"]["sessions_opened"] > first, what="session rebuilt"
    )
    # Now the contact center refuses every registration: the breaker opens, waits grow.
    await control(sim, "POST", "faults", {"status": 500, "operations": ["register"]})
    await control(sim, "POST", "sessions/drop")
    down_since = await eventually(
        lambda: target.status()["session"]["down_since"], what="session down"
    )
    await eventually(
        lambda: target.status()["circuit_breaker"]["consecutive_failures"] >= 5,
        what="five failed rebuilds",
    )
    assert target.status()["session"]["down_since"] == down_since  # since the first failure
    health = target.health(SALES)
    assert not health.ok and "HTTP 500 from POST /register" in health.detail
    assert target.free_slots(SALES) == 0
    assert target.status()["circuit_breaker"]["state"] in ("open", "half_open")
    state = await control(sim, "GET", "state")
    attempts = [e["t"] for e in state["log"] if e["op"] == "register" and e["status"] == 500]
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    # Equal jitter: the k-th wait is at least half of 50 ms * 2**k (a lower bound only).
    for k, gap in enumerate(gaps[:3]):
        assert gap >= 0.5 * 0.05 * 2**k * 0.9, gaps
    await control(sim, "DELETE", "faults")
    await eventually(lambda: target.free_slots(SALES) == 2, within=10, what="recovered")
    assert target.status()["circuit_breaker"]["state"] == "closed"
    # The back-off resets once the new session has kept itself alive.
    await eventually(
        lambda: target.status()["circuit_breaker"]["consecutive_failures"] == 0,
        what="back-off reset after a keep-alive",
    )


async def test_a_dropped_connection_ends_the_session_and_it_comes_back(
    sim: SimulatorServer, target: OsccRoutingTarget
) -> None:
    await control(sim, "PUT", "queues/sales", {"agents": 2, "free": 2})
    await eventually(lambda: target.free_slots(SALES) == 2, what="2 free")
    first = target.status()["session"]["sessions_opened"]
    await control(
        sim, "POST", "faults", {"status": 0, "count": 1, "operations": ["queue_statistics"]}
    )
    await eventually(
        lambda: target.status()["session"]["sessions_opened"] > first, what="rebuilt after a drop"
    )
    await eventually(lambda: target.free_slots(SALES) == 2, what="counts again")
    log = (await control(sim, "GET", "state"))["log"]
    assert any(e["op"] == "queue_statistics" and e["status"] == 0 for e in log)


async def test_a_session_that_dies_at_once_keeps_backing_off(
    sim: SimulatorServer, target: OsccRoutingTarget
) -> None:
    await control(sim, "PUT", "queues/sales", {"agents": 1, "free": 1})
    await eventually(lambda: target.free_slots(SALES) == 1, what="1 free")
    # Register and logon work, every keep-alive fails: sessions come up and die.
    await control(sim, "POST", "faults", {"status": 500, "operations": ["keepalive"]})
    await eventually(
        lambda: target.status()["circuit_breaker"]["consecutive_failures"] >= 4,
        what="failures accumulate across short-lived sessions",
    )
    assert target.status()["session"]["sessions_opened"] >= 2
    await control(sim, "DELETE", "faults")


async def test_restart_rebuilds_the_session_and_takes_a_snapshot_first(
    sim: SimulatorServer, target: OsccRoutingTarget
) -> None:
    await control(sim, "PUT", "queues/sales", {"agents": 5, "free": 5})
    await eventually(lambda: target.free_slots(SALES) == 5, what="5 free")
    old_sessions = {e["session"] for e in (await control(sim, "GET", "state"))["log"]}
    await sim.stop()
    health = await health_saying(target, SALES, "contact center session down since")
    assert target.free_slots(SALES) == 0
    assert "contact center session down since" in health.detail
    sim.center.restart(keep_queues=False)
    await sim.start()  # same port; every session and queue lost
    assert target.free_slots(SALES) == 0  # the old count of 5 is never served again
    await control(sim, "PUT", "queues/sales", {"agents": 3, "free": 3})
    await eventually(lambda: target.free_slots(SALES) == 3, within=10, what="counts resume")
    log = (await control(sim, "GET", "state"))["log"]
    new = [e for e in log if e["status"] == 200 and e["session"] not in old_sessions]
    assert [e["op"] for e in new[:3]] == ["register", "logon", "queue_statistics"]
    assert "sales" in new[2]["queues"]


async def test_dropped_and_expired_sessions_are_rebuilt(sim: SimulatorServer) -> None:
    sim.center.session_timeout_s = 0.3  # keep-alives every 1 s are too rare: sessions expire
    t = make_target(sim, keepalive_interval_ms=1000)
    await t.start()
    try:
        await control(sim, "PUT", "queues/sales", {"agents": 1, "free": 1})
        await eventually(lambda: t.free_slots(SALES) == 1, what="1 free")
        await eventually(
            lambda: t.status()["session"]["sessions_opened"] >= 2, what="rebuilt after expiry"
        )
        state = await control(sim, "GET", "state")
        assert state["counters"]["sessions_expired"] >= 1
        assert any(e["status"] == 401 for e in state["log"])
    finally:
        await t.close()


async def test_close_unregisters_the_session(sim: SimulatorServer) -> None:
    t = make_target(sim)
    await t.start()
    await control(sim, "PUT", "queues/sales", {"agents": 1, "free": 1})
    await eventually(lambda: t.free_slots(SALES) == 1, what="1 free")
    assert len((await control(sim, "GET", "state"))["sessions"]) == 1
    await t.close()
    state = await control(sim, "GET", "state")
    assert state["counters"]["unregister"] == 1
    assert state["sessions"] == []
    assert t.free_slots(SALES) == 0
    assert t.health(SALES).detail == "routing target not started"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    files = {
        "ca": folder / "ca.pem",
        "cert": folder / "server.pem",
        "key": folder / "server.key",
    }
    ca.cert_pem.write_to_path(str(files["ca"]))
    cert.cert_chain_pems[0].write_to_path(str(files["cert"]))
    cert.private_key_pem.write_to_path(str(files["key"]))
    return {k: str(v) for k, v in files.items()}


async def test_tls_with_a_site_ca_bundle(tls_files: dict[str, str]) -> None:
    center = ContactCenter()
    center.set_queue("sales", 2, 2)
    async with SimulatorServer(center, certfile=tls_files["cert"], keyfile=tls_files["key"]) as sim:
        assert sim.url.startswith("https://")
        trusted = make_target(sim, ca_bundle=tls_files["ca"])
        untrusted = make_target(sim)  # system CAs do not know the site's CA
        await trusted.start()
        await untrusted.start()
        try:
            await eventually(lambda: trusted.free_slots(SALES) == 2, what="counts over TLS")
            health = await health_saying(untrusted, SALES, "TLS")
            assert "certificate not trusted" in health.detail and "ca_bundle" in health.detail
            assert untrusted.free_slots(SALES) == 0
        finally:
            await trusted.close()
            await untrusted.close()


async def test_paths_fields_and_session_header_are_configurable() -> None:
    paths = {
        "register": "PUT /app/RegisterApplication",
        "logon": "POST /users/Logon",
        "keepalive": "POST /app/KeepAlive",
        "unregister": "POST /app/UnregisterApplication",
        "queue_statistics": "GET /statistics/queue",
    }
    fields = {
        "session_id": "session",
        "queues": "q",
        "queue_list": "items",
        "queue_name": "queueName",
        "free_agents": "available",
    }
    center = ContactCenter(credentials={"dialer": "s3cret"})
    center.set_queue("sales", 4, 2)
    login = {"username": "dialer", "session_header": "X-Sess"}
    async with SimulatorServer(center, paths=paths, fields=fields, session_header="X-Sess") as sim:
        right = make_target(sim, paths=paths, fields=fields, password="s3cret", **login)
        wrong_password = make_target(sim, paths=paths, fields=fields, password="nope", **login)
        wrong_field = make_target(
            sim, paths=paths, fields={**fields, "queue_list": "data.items"}, password="s3cret",
            **login,
        )  # fmt: skip
        targets = [right, wrong_password, wrong_field]
        for t in targets:
            await t.start()
        try:
            await eventually(lambda: right.free_slots(SALES) == 2, what="custom protocol counts")
            health = await health_saying(wrong_password, SALES, "401")
            assert "HTTP 401 from POST /users/Logon" in health.detail
            assert "logon refused" in health.detail
            health = await health_saying(wrong_field, SALES, "data.items")
            assert "fields.queue_list" in health.detail
            assert wrong_field.free_slots(SALES) == 0
            await eventually(
                lambda: right.status()["session"]["last_keepalive_ok"], what="a keep-alive"
            )
        finally:
            for t in targets:
                await t.close()
    ops = {e["op"] for e in center.log if e["status"] == 200}
    assert {"register", "logon", "keepalive", "queue_statistics", "unregister"} <= ops


@pytest.mark.parametrize(
    "options, option, words",
    [
        ({}, "base_url", "is required"),
        ({"base_url": "ftp://cc"}, "base_url", "http:// or https://"),
        (
            {"base_url": "http://cc", "keepalive_interval_ms": "10s"},
            "keepalive_interval_ms",
            "milliseconds",
        ),
        ({"base_url": "http://cc", "keepalive": 5}, "keepalive", "not known"),
        (
            {"base_url": "http://cc", "paths": {"register": "FETCH /x"}},
            "paths.register",
            "POST /path",
        ),
        (
            {"base_url": "http://cc", "paths": {"login": "POST /x"}},
            "paths.login",
            "not an operation",
        ),
        ({"base_url": "http://cc", "fields": {"free": "x"}}, "fields.free", "not a field"),
        (
            {"base_url": "http://cc", "ca_bundle": "/nonexistent/ca.pem"},
            "ca_bundle",
            "not a readable file",
        ),
        (
            {"base_url": "http://cc", "stale_after_ms": 500, "poll_interval_ms": 800},
            "stale_after_ms",
            "longer than",
        ),
        ({"base_url": "http://cc", "codec": "xml"}, "codec", "json"),
        ({"base_url": "http://cc", "codec": "nowhere.codec:Xml"}, "codec", "could not be loaded"),
        ({"base_url": "http://cc", "queues": "sales"}, "queues", "list of queue names"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, Any], option: str, words: str) -> None:
    with pytest.raises(OsccOptionError, match=re.escape(words)) as info:
        OsccRoutingTarget(options)
    assert info.value.option == option
    assert f"option {option!r}" in str(info.value)


async def test_a_ca_bundle_that_is_not_pem_is_refused_at_start(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    t = OsccRoutingTarget({"base_url": "https://127.0.0.1:1", "ca_bundle": str(bogus)})
    with pytest.raises(OsccOptionError, match="could not be loaded") as info:
        await t.start()
    assert info.value.option == "ca_bundle"
    await t.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_simulator_runs_as_a_program() -> None:
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "opendialer.plugins.route_oscc.simulator", "--port", str(port),
        "--base-path", "/rest", "--queue", "sales=3/2",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert f"http://127.0.0.1:{port}/rest" in line
        factory = PluginManager().load_all().factories("routing_targets")["oscc"]
        t = factory(options={"base_url": f"http://127.0.0.1:{port}/rest", **FAST}, context=None)
        await t.start()
        try:
            await eventually(lambda: t.free_slots(SALES) == 2, what="counts from the program")
        finally:
            await t.close()
    finally:
        proc.terminate()
        _, stderr = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 0, stderr.decode()
