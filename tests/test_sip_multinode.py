"""The SIP platform with no configuration yet, and dialer ports shared between engine nodes.

- An engine started with ``OPENDIALER_PLATFORM=sip`` before anything was saved on
  System → Communication platform runs "not configured" (no traceback, nothing
  originated) and registers its ports once the configuration is saved through
  ``PUT /api/v1/platform`` — no restart.
- Several engine nodes on one PostgreSQL lease the ports (``platform_port_lease``):
  each registers a disjoint share, a node gives a port back only after it
  unregistered it, and a killed node's ports are taken over once its leases expire.

The far end is the small digest registrar of ``doctor_support``; each node's REGISTERs
carry its own SIP port in Contact, which tells the nodes apart on the wire.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from doctor_support import PASSWORD, Registrar
from engine_support import start_engine_process, wait_for
from helpers import run_cli
from sip_helpers import call_request, eventually

from opendialer.core.engine.coordinator import Coordinator
from opendialer.core.services import platform_config, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import EngineNode
from opendialer.plugins.platform_sip import SipPlatform
from opendialer.plugins.platform_sip.leases import PortLeases, fair_share
from opendialer.plugins.platform_sip.platform import NOT_CONFIGURED
from opendialer.sdk import plugin_database
from opendialer.sdk.contracts import PlatformUnavailable

pytestmark = [pytest.mark.pg, pytest.mark.timeout(240)]

USERS = [f"port{i:03d}" for i in range(1, 5)]
_CONTACT_PORT = re.compile(r"@[^:>;]+:(\d+)")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def platform_body(registrar: Registrar, users_: list[str] = USERS) -> dict[str, Any]:
    return {
        "server": registrar.address,
        "domain": "dialer.test",
        "register": True,
        "ports": [{"user": u, "auth_user": u, "password": PASSWORD} for u in users_],
        "rtp_port_min": 40000,
        "rtp_port_max": 40999,
    }


def registers(registrar: Registrar) -> list[tuple[str, int, int]]:
    """Every authenticated REGISTER in arrival order: (user, contact port, expires)."""
    seen = []
    for request in registrar.requests:
        if request.method.upper() != "REGISTER" or not request.headers.get_first("authorization"):
            continue
        user = str(request.headers.get_first("to") or "").split("sip:")[1].split("@")[0]
        match = _CONTACT_PORT.search(str(request.headers.get_first("contact") or ""))
        expires = int(str(request.headers.get_first("expires") or "0"))
        seen.append((user, int(match.group(1)) if match else 0, expires))
    return seen


def bindings(registrar: Registrar) -> dict[str, set[int]]:
    """Per user, the contact ports registered and not unregistered since."""
    bound: dict[str, set[int]] = {}
    for user, port, expires in registers(registrar):
        if expires > 0:
            bound.setdefault(user, set()).add(port)
        else:
            bound.setdefault(user, set()).discard(port)
    return bound


async def leases() -> dict[str, str]:
    rows = await EngineNode.raw("SELECT port, node_id FROM platform_port_lease").run()
    return {r["port"]: r["node_id"] for r in rows}


# ---------------------------------------------------------------- not configured yet


async def test_platform_without_configuration_is_down_then_comes_up() -> None:
    registrar = await Registrar().start()
    stored: list[dict[str, Any] | None] = [None]

    async def source() -> dict[str, Any] | None:
        return stored[0]

    platform = SipPlatform(
        {"bind_host": "127.0.0.1", "config_source": source, "config_poll_s": 0.05}
    )
    await platform.start()
    try:
        health = platform.health()
        assert not health.ok and health.detail == NOT_CONFIGURED
        assert platform.free_ports() == 0 and platform.registrations() == []
        with pytest.raises(PlatformUnavailable, match="no communication platform configured"):
            await platform.originate(call_request())
        assert registrar.requests == []  # nothing sent anywhere
        # a refused configuration (written by hand, past the service's checks): one reason
        stored[0] = {**platform_body(registrar), "transport": "sctp"}
        await eventually(lambda: "transport" in platform.health().detail)
        assert "refused" in platform.health().detail and platform.free_ports() == 0
        stored[0] = platform_body(registrar, USERS[:2])
        await eventually(lambda: platform.health().ok)
        await eventually(
            lambda: [r["state"] for r in platform.registrations()] == ["registered"] * 2
        )
        assert platform.free_ports() == 2
    finally:
        await platform.close()
        registrar.close()


def test_bad_platform_options_stop_serve_with_one_line(cli_env: dict[str, str]) -> None:
    run_cli("db", "migrate", env=cli_env)
    env = {
        **cli_env,
        "OPENDIALER_PLATFORM": "sip",
        "OPENDIALER_PLATFORM_OPTIONS": json.dumps({"config": {"server": "", "ports": []}}),
    }
    result = run_cli("serve", "--role", "engine", env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert "server must be host:port" in result.stderr, result.stderr
    assert result.stderr.count("error:") == 1, (
        result.stderr
    )  # one message (wrapped to the terminal)
    bad_range = {"node_rtp_port_min": 30000}
    env["OPENDIALER_PLATFORM_OPTIONS"] = json.dumps(bad_range)
    result = run_cli("serve", "--role", "engine", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "node_rtp_port_min..node_rtp_port_max" in result.stderr


@pytest.mark.slow
async def test_serve_starts_unconfigured_and_registers_once_saved_through_the_api(
    db: Database, cli_env: dict[str, str], tmp_path: Path
) -> None:
    registrar = await Registrar().start()
    run_cli("db", "migrate", env=cli_env)
    await users.create_user(
        SYSTEM,
        {"username": "boss", "password": "correct-horse-battery", "role": "master"},
    )
    web_port = free_port()
    env = {
        **cli_env,
        "OPENDIALER_PLATFORM": "sip",
        "OPENDIALER_PLATFORM_OPTIONS": json.dumps(
            {"bind_host": "127.0.0.1", "config_poll_s": 0.2, "port_lease_renew_s": 0.3}
        ),
        "OPENDIALER_NODE_ID": "solo",
    }
    log_path = tmp_path / "serve.log"
    proc = start_engine_process(env, log_path, ("serve", "--role", "all", "--port", str(web_port)))
    base = f"http://127.0.0.1:{web_port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:

            async def web_up() -> bool:
                assert proc.poll() is None, log_path.read_text()
                try:
                    return (await client.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_for(web_up, what="serve --role all to answer")
            doctor = await asyncio.to_thread(run_cli, "doctor", env=env)
            assert "not configured" in doctor.stdout and doctor.returncode != 0, doctor.stdout
            token = await client.post(
                "/api/v1/auth/token",
                json={"username": "boss", "password": "correct-horse-battery"},
            )
            assert token.status_code == 201, token.text
            client.headers["Authorization"] = f"Bearer {token.json()['token']}"
            assert (await client.get("/api/v1/platform/registrations")).json() == []
            assert registrar.requests == []

            saved = await client.put("/api/v1/platform", json=platform_body(registrar))
            assert saved.status_code == 200, saved.text

            async def all_registered() -> bool:
                rows = (await client.get("/api/v1/platform/registrations")).json()
                return sorted(r["user"] for r in rows if r["state"] == "registered") == USERS

            await wait_for(all_registered, deadline_s=60, what="every port registered")
        assert set(bindings(registrar)) == set(USERS)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        registrar.close()
    output = log_path.read_text()
    assert proc.returncode == 0, output
    assert "Traceback" not in output, output
    assert "sip.not_configured" in output and NOT_CONFIGURED in output


# ---------------------------------------------------------------- several nodes


def test_the_split_is_fair_and_the_same_for_every_node() -> None:
    nodes = ["b", "a", "c"]
    assert [fair_share(10, nodes, n) for n in ("a", "b", "c")] == [4, 3, 3]
    assert sum(fair_share(2, nodes, n) for n in nodes) == 2
    assert fair_share(4, [], "solo") == 4  # the node counts itself before it joined


async def test_on_sqlite_the_one_node_has_every_port(db: Database) -> None:
    if db.is_postgres:
        pytest.skip("the SQLite rule; PostgreSQL is covered below")
    registrar = await Registrar().start()
    options = {
        "config": platform_body(registrar),
        "bind_host": "127.0.0.1",
        "port_leases": PortLeases(plugin_database(db), "solo", lease_s=2, dead_after_s=2),
    }
    platform = SipPlatform(options)
    await platform.start()
    try:
        await eventually(lambda: platform.free_ports() == 4)
        assert await EngineNode.raw("SELECT count(*) AS n FROM platform_port_lease").run() == [
            {"n": 0}
        ]
    finally:
        await platform.close()
        registrar.close()


async def test_two_platforms_split_the_ports_and_one_takes_all_when_the_other_stops(
    db: Database,
) -> None:
    if not db.is_postgres:
        pytest.skip("several engine nodes need PostgreSQL (SQLite is the single-node backend)")
    registrar = await Registrar().start()
    nodes = {name: Coordinator(db, name, dead_after_s=2) for name in ("node-a", "node-b")}
    for coordinator in nodes.values():
        await coordinator.join(datetime.now(UTC))

    async def heartbeats() -> None:
        while True:
            for coordinator in nodes.values():
                await coordinator.heartbeat(datetime.now(UTC))
            await asyncio.sleep(0.3)

    beating = asyncio.create_task(heartbeats())
    platforms = {
        name: SipPlatform(
            {
                "config": platform_body(registrar),
                "bind_host": "127.0.0.1",
                "port_lease_renew_s": 0.2,
                "port_leases": PortLeases(plugin_database(db), name, lease_s=2, dead_after_s=2),
            }
        )
        for name in nodes
    }
    try:
        for platform in platforms.values():
            await platform.start()

        def registered(platform: SipPlatform) -> set[str]:
            return {str(r["user"]) for r in platform.registrations() if r["state"] == "registered"}

        def split_evenly() -> bool:
            a, b = (registered(p) for p in platforms.values())
            return len(a) == len(b) == 2 and a | b == set(USERS)

        await eventually(split_evenly, within=30)
        assert {p.free_ports() for p in platforms.values()} == {2}
        held = await leases()
        for name, platform in platforms.items():
            assert {u for u, n in held.items() if n == name} == registered(platform)

        await platforms["node-b"].close()  # a clean stop gives its ports back at once
        del nodes["node-b"]
        await eventually(lambda: registered(platforms["node-a"]) == set(USERS), within=30)
        assert platforms["node-a"].free_ports() == 4
        assert set((await leases()).values()) == {"node-a"}
    finally:
        beating.cancel()
        await asyncio.gather(beating, return_exceptions=True)
        for platform in platforms.values():
            await platform.close()
        registrar.close()


def _node_env(cli_env: dict[str, str], node_id: str, sip_port: int, rtp: int) -> dict[str, str]:
    options = {
        "bind_host": "127.0.0.1",
        "sip_port": sip_port,
        "node_rtp_port_min": rtp,
        "node_rtp_port_max": rtp + 99,
        "config_poll_s": 0.3,
        "port_lease_renew_s": 0.3,
    }
    return {
        **cli_env,
        "OPENDIALER_PLATFORM": "sip",
        "OPENDIALER_PLATFORM_OPTIONS": json.dumps(options),
        "OPENDIALER_NODE_ID": node_id,
        "OPENDIALER_NODE_DEAD_AFTER_S": "3",
    }


@pytest.mark.slow
async def test_engine_nodes_lease_disjoint_ports_and_take_over_a_killed_node(
    db: Database, cli_env: dict[str, str], tmp_path: Path
) -> None:
    if not db.is_postgres:
        pytest.skip("several engine nodes need PostgreSQL (SQLite is the single-node backend)")
    registrar = await Registrar().start()
    run_cli("db", "migrate", env=cli_env)
    await platform_config.update_platform_config(SYSTEM, platform_body(registrar))
    sip_ports = {"node-a": free_port(socket.SOCK_DGRAM), "node-b": free_port(socket.SOCK_DGRAM)}
    rtp = {"node-a": 41000, "node-b": 41200}
    node_of_port = {port: node for node, port in sip_ports.items()}
    procs: dict[str, Any] = {}

    def start(node: str) -> None:
        env = _node_env(cli_env, node, sip_ports[node], rtp[node])
        procs[node] = start_engine_process(env, tmp_path / f"{node}.log")

    def bound_to(node: str) -> set[str]:
        return {u for u, ports in bindings(registrar).items() if sip_ports[node] in ports}

    def never_two_at_once() -> None:
        """Wire check: a port's binding moves only after the old node removed its own."""
        for user, ports in bindings(registrar).items():
            live = [p for p in ports if procs.get(node_of_port.get(p, ""), None) is not None]
            assert len(live) <= 1, (user, ports)

    def waiting(check: Callable[[], bool]) -> Callable[[], Any]:
        async def predicate() -> bool:
            for node, proc in procs.items():
                assert proc is None or proc.poll() is None, (tmp_path / f"{node}.log").read_text()
            never_two_at_once()
            return check()

        return predicate

    try:
        start("node-a")
        await wait_for(waiting(lambda: bound_to("node-a") == set(USERS)), what="node-a: 4 ports")
        start("node-b")

        def split() -> bool:
            a, b = bound_to("node-a"), bound_to("node-b")
            return len(a) == len(b) == 2 and not a & b and a | b == set(USERS)

        await wait_for(waiting(split), what="two ports each")
        held = await leases()
        assert {u for u, n in held.items() if n == "node-b"} == bound_to("node-b")

        procs["node-b"].send_signal(signal.SIGKILL)  # no goodbye: its leases must expire
        procs["node-b"].wait(timeout=30)
        procs["node-b"] = None
        await wait_for(
            waiting(lambda: bound_to("node-a") == set(USERS)), what="node-a takes over all 4"
        )
        assert set((await leases()).values()) == {"node-a"}
    finally:
        for proc in procs.values():
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
        registrar.close()
    output = (tmp_path / "node-a.log").read_text()
    assert "Traceback" not in output, output
