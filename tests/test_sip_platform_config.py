"""The communication platform's configuration service (``setting`` row ``platform.sip``)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sip_helpers import running_platform
from sip_scripted_far_end import Behaviour, ScriptedUas

from opendialer.core.domain import Role
from opendialer.core.services import platform_config
from opendialer.core.services.common import SYSTEM, Actor
from opendialer.core.services.errors import PermissionDenied, ValidationFailed

MANAGER = Actor(user_id=7, username="manager", role=Role.MANAGER)


def body(**changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "server": "10.0.0.5:5060",
        "transport": "udp",
        "domain": "osv.example.com",
        "register": True,
        "ports": [
            {"user": "3001", "auth_user": "a3001", "password": "pw-one"},
            {"user": "3002", "auth_user": "a3002", "password": "pw-two"},
        ],
        "caller_id": "+554130001000",
        "no_answer_timeout_s": 25,
        "rtp_port_min": 30000,
        "rtp_port_max": 30100,
    }
    config.update(changes)
    return config


async def test_unconfigured_platform_reads_as_defaults(db: Any) -> None:
    view = await platform_config.get_platform_config(SYSTEM)
    assert view["configured"] is False and view["ports"] == [] and view["transport"] == "udp"
    assert await platform_config.load_platform_config() is None
    assert await platform_config.platform_config_revision() == 0


async def test_passwords_are_write_only(db: Any) -> None:
    view = await platform_config.update_platform_config(SYSTEM, body())
    assert view["ports"] == [
        {"user": "3001", "auth_user": "a3001", "has_password": True},
        {"user": "3002", "auth_user": "a3002", "has_password": True},
    ]
    assert "pw-one" not in repr(view) and "pw-one" not in repr(
        await platform_config.get_platform_config(SYSTEM)
    )
    # PUT without passwords keeps the stored ones; a new port must bring its own
    again = body(
        ports=[{"user": "3001", "auth_user": "a3001"}, {"user": "3002", "auth_user": "a3002"}]
    )
    await platform_config.update_platform_config(SYSTEM, again)
    stored = await platform_config.load_platform_config()
    assert stored is not None
    assert [p["password"] for p in stored["ports"]] == ["pw-one", "pw-two"]
    with pytest.raises(ValidationFailed) as error:
        await platform_config.update_platform_config(
            SYSTEM, body(ports=[*again["ports"], {"user": "3003"}])
        )
    assert error.value.field == "ports[2].password"


async def test_every_write_bumps_the_revision(db: Any) -> None:
    await platform_config.update_platform_config(SYSTEM, body())
    view = await platform_config.update_platform_config(SYSTEM, body(caller_id="4000"))
    assert view["revision"] == 2 == await platform_config.platform_config_revision()
    # the GET body can be sent back as it is (read-only fields are ignored)
    echoed = await platform_config.get_platform_config(SYSTEM)
    assert (await platform_config.update_platform_config(SYSTEM, echoed))["revision"] == 3


async def test_only_a_master_reads_or_writes(db: Any) -> None:
    with pytest.raises(PermissionDenied):
        await platform_config.get_platform_config(MANAGER)
    with pytest.raises(PermissionDenied):
        await platform_config.update_platform_config(MANAGER, body())
    assert await platform_config.load_platform_config() is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"server": ""}, "server"),
        ({"server": "pbx.example.com"}, "server"),
        ({"server": "pbx:99999"}, "server"),
        ({"transport": "sctp"}, "transport"),
        ({"register": "yes"}, "register"),
        ({"caller_id": "12ab"}, "caller_id"),
        ({"no_answer_timeout_s": 0}, "no_answer_timeout_s"),
        ({"no_answer_timeout_s": "30"}, "no_answer_timeout_s"),
        ({"rtp_port_min": 80}, "rtp_port_min"),
        ({"rtp_port_min": 30100, "rtp_port_max": 30000}, "rtp_port_max"),
        ({"rtp_port_min": 30000, "rtp_port_max": 30001}, "rtp_port_max"),
        ({"ports": "3001"}, "ports"),
        ({"ports": [{"user": "30 01", "password": "x"}]}, "ports[0].user"),
        (
            {"ports": [{"user": "3001", "password": "x"}, {"user": "3001", "password": "y"}]},
            "ports[1].user",
        ),
        ({"ports": [{"user": "3001", "password": "x", "pin": 1}]}, "ports[0].pin"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_fields_are_refused_by_name(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        platform_config.validate(body(**changes))
    assert error.value.field == field, error.value.detail


def test_trunk_ports_need_no_password_and_domain_defaults_to_the_server() -> None:
    checked = platform_config.validate(body(register=False, domain="", ports=[{"user": "trunk1"}]))
    assert checked["ports"] == [{"user": "trunk1", "auth_user": "trunk1", "password": ""}]
    assert checked["domain"] == "10.0.0.5"


async def test_a_running_platform_applies_a_change_without_restart(db: Any) -> None:
    """The stored JSON is what the plugin reads, and a change reaches a running platform."""
    uas = await ScriptedUas(Behaviour()).start()
    try:
        first = body(server=uas.address, register=False, rtp_port_min=20000, rtp_port_max=29999)
        await platform_config.update_platform_config(SYSTEM, first)
        stored = await platform_config.load_platform_config()
        assert stored is not None
        options = {"config_source": platform_config.config_source(), "config_poll_s": 0.05}
        async with running_platform(stored, **options) as platform:
            assert platform.free_ports() == 2
            more = [*first["ports"], {"user": "3003", "auth_user": "3003"}]
            await platform_config.update_platform_config(SYSTEM, {**first, "ports": more})
            for _ in range(200):
                if platform.free_ports() == 3:
                    break
                await asyncio.sleep(0.02)
            assert platform.free_ports() == 3
            assert [r["user"] for r in platform.registrations()] == ["3001", "3002", "3003"]
            platform_config.attach(platform)
            try:
                state = await platform_config.health()
                assert state["ok"] is True and "3 ports" in state["detail"]
            finally:
                platform_config.attach(None)
    finally:
        uas.close()
