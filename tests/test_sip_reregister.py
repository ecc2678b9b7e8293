"""A change of transport or server moves the dialer ports' registrations, leaving none behind.

The configuration changes as System → Communication platform changes it: in the
stored JSON the running platform polls (``config_source``). Before a port
registers through the new endpoint, its binding is removed (REGISTER
``Expires: 0``) through the endpoint and with the Contact that created it — so
the old registrar, over the old transport, is told. The registrar is
``sip_binding_registrar``: it keeps bindings as RFC 3261 §10.3 says, on UDP and
TCP at one port number.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sip_binding_registrar import BindingRegistrar, Register
from sip_helpers import eventually, running_platform, sip_config

from opendialer.plugins.platform_sip import SipPlatform

pytestmark = pytest.mark.timeout(120)

USERS = [f"port{i:03d}" for i in range(1, 5)]


@asynccontextmanager
async def followed_platform(
    config: dict[str, Any],
) -> AsyncIterator[tuple[SipPlatform, Callable[[dict[str, Any]], None]]]:
    """A platform following a stored configuration; the second value stores a new one."""
    stored = [config]

    async def source() -> dict[str, Any]:
        return stored[0]

    def store(changed: dict[str, Any]) -> None:
        stored[0] = changed

    async with running_platform(
        config, config_source=source, config_poll_s=0.05, t1_s=0.05
    ) as platform:
        yield platform, store


def all_registered(platform: SipPlatform) -> bool:
    return [r["state"] for r in platform.registrations()] == ["registered"] * len(USERS)


#: Log lines that would mean a port or the platform was hurt by the reconnect.
TROUBLE = ("sip.register_failed", "sip.server_down", "sip.server_unanswered", "sip.connect_failed")


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records]


def _bound(sock: socket.socket, port: int) -> bool:
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True


def removals(registrar: BindingRegistrar) -> list[tuple[str, str, str]]:
    return sorted((r.transport, r.user, r.contact) for r in registrar.registers if not r.expires)


def first_index(registers: list[Register], match: Callable[[Register], bool]) -> int:
    return next(i for i, r in enumerate(registers) if match(r))


async def test_a_switch_from_udp_to_tcp_removes_each_udp_binding_over_udp() -> None:
    registrar = await BindingRegistrar().start()
    try:
        config = sip_config(registrar.address, ports=len(USERS), register=True)
        async with followed_platform(config) as (platform, store):
            await eventually(lambda: all_registered(platform) and registrar.count() == len(USERS))
            over_udp = registrar.current()
            assert sorted(over_udp) == USERS
            assert all(r.transport == "udp" for r in registrar.registers)

            store({**config, "transport": "tcp"})
            await eventually(
                lambda: (
                    all_registered(platform)
                    and {r.user for r in registrar.registers if r.transport == "tcp"} == set(USERS)
                )
            )
            # each UDP binding removed over UDP with the Contact that made it …
            assert removals(registrar) == sorted(
                ("udp", user, contact)
                for user, contacts in over_udp.items()
                for contact in contacts
            )
            # … before that port registered over TCP
            registers = registrar.registers
            for user in USERS:
                removed = first_index(registers, lambda r, u=user: r.user == u and not r.expires)
                moved = first_index(
                    registers, lambda r, u=user: r.user == u and r.transport == "tcp"
                )
                assert removed < moved, registers
            now = registrar.current()
            assert registrar.count() == len(USERS) and sorted(now) == USERS
            assert all(c.endswith(";transport=tcp") for cs in now.values() for c in cs), now
    finally:
        registrar.close()


async def test_a_new_server_is_registered_only_after_the_old_one_was_told() -> None:
    old, new = await BindingRegistrar().start(), await BindingRegistrar().start()
    try:
        config = sip_config(old.address, ports=len(USERS), register=True)
        async with followed_platform(config) as (platform, store):
            await eventually(lambda: all_registered(platform) and old.count() == len(USERS))
            bound = old.current()

            store({**config, "server": new.address})
            await eventually(lambda: all_registered(platform) and new.count() == len(USERS))
            assert old.count() == 0  # nothing left behind at the old server
            assert removals(old) == sorted(
                ("udp", user, contact) for user, contacts in bound.items() for contact in contacts
            )
            assert removals(new) == [] and sorted(new.current()) == USERS
    finally:
        old.close()
        new.close()


async def test_an_old_server_that_is_gone_delays_the_move_but_not_the_new_servers_health() -> None:
    """Moving away from a dead server: its un-REGISTERs go unanswered (each waits at
    most 2 s), then the ports register at the new one and the platform is up there."""
    old, new = await BindingRegistrar().start(), await BindingRegistrar().start()
    try:
        config = sip_config(old.address, ports=len(USERS), register=True)
        async with followed_platform(config) as (platform, store):
            await eventually(lambda: all_registered(platform) and old.count() == len(USERS))
            old.close()  # the old server is gone

            store({**config, "server": new.address})
            await eventually(lambda: all_registered(platform) and new.count() == len(USERS))
            assert platform.health().ok and platform.free_ports() == len(USERS)
            assert removals(new) == []
    finally:
        new.close()


async def test_a_dropped_tcp_connection_is_made_again_from_the_same_port(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The TCP connection drops (the server restarted, a NAT forgot it); the ports'
    next refreshes come together and share one new connection, made from the old
    one's local port — the Contacts (of the bindings and of calls in progress) stay
    valid, so nothing needs removing — and every port stays registered with the
    platform up throughout."""
    caplog.set_level(logging.INFO, logger="opendialer.plugins.platform_sip")
    registrar = await BindingRegistrar().start()
    try:
        config = sip_config(registrar.address, ports=len(USERS), register=True, transport="tcp")
        async with running_platform(config, register_expires_s=2, t1_s=0.05) as platform:
            await eventually(lambda: all_registered(platform) and registrar.count() == len(USERS))
            before = registrar.current()
            registrations_before = len(registrar.registers)
            assert registrar.connections == 1
            registrar.drop_connections()
            await eventually(
                lambda: (
                    registrar.connections == 2
                    and len(registrar.registers) >= registrations_before + len(USERS)
                ),
                within=30,
                what="every port refreshed over a new connection",
            )
            assert registrar.current() == before  # the same Contacts: the same local port
            assert removals(registrar) == []
            assert [m for m in messages(caplog) if m.startswith(TROUBLE)] == []
            assert all_registered(platform) and platform.health().ok
    finally:
        registrar.close()


async def test_a_dropped_tcp_connection_made_again_from_another_port_moves_the_bindings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """As above, but the old local port is taken meanwhile: the new connection comes
    from another port, so another Contact — each port's old binding is removed first,
    over the new connection, and the ports stay registered."""
    caplog.set_level(logging.INFO, logger="opendialer.plugins.platform_sip")
    registrar = await BindingRegistrar().start()
    try:
        config = sip_config(registrar.address, ports=len(USERS), register=True, transport="tcp")
        async with running_platform(config, register_expires_s=2, t1_s=0.05) as platform:
            await eventually(lambda: all_registered(platform) and registrar.count() == len(USERS))
            before = registrar.current()
            assert registrar.connections == 1
            old_port = int(next(iter(before[USERS[0]])).split(":")[-1].split(";")[0])
            registrar.drop_connections()
            with socket.socket() as squatter:  # once the dialer's side of it has closed
                await eventually(lambda: _bound(squatter, old_port), what="the old port free")
                await eventually(
                    lambda: (
                        registrar.count() == len(USERS)
                        and all(registrar.current().get(u, before[u]) != before[u] for u in USERS)
                        and all_registered(platform)
                    ),
                    within=30,
                    what="every port registered again under a new Contact",
                )
            assert registrar.connections == 2  # one new connection, shared by all ports
            assert removals(registrar) == sorted(
                ("tcp", user, contact) for user, contacts in before.items() for contact in contacts
            )
            assert len({c for cs in registrar.current().values() for c in cs}) == len(USERS)
            assert [m for m in messages(caplog) if m.startswith(TROUBLE)] == []
            assert platform.health().ok
    finally:
        registrar.close()
