"""The ``ivr`` routing target: configured channels minus calls it holds, optionally
corrected by a status URL (served by the contact-center simulator over HTTP)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from eventually import eventually

from opendialer.core.plugins import PluginManager
from opendialer.plugins.route_ivr import IvrOptionError, IvrRoutingTarget
from opendialer.plugins.route_oscc.simulator import ContactCenter, SimulatorServer
from opendialer.sdk.contracts import (
    ReportsStatus,
    RoutingRequest,
    RoutingTarget,
    TracksTransferredCalls,
)

IVR = RoutingRequest(campaign_id=1, campaign_type="IVR", queue="", pilot_number="5000")
IVR_2 = RoutingRequest(campaign_id=2, campaign_type="IVR", queue="", pilot_number="5000")


def make_target(**options: Any) -> IvrRoutingTarget:
    factory = PluginManager().load_all().factories("routing_targets")["ivr"]
    target = factory(options=options, context=None)
    assert isinstance(target, RoutingTarget)
    assert isinstance(target, TracksTransferredCalls) and isinstance(target, ReportsStatus)
    return target


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    server = SimulatorServer(ContactCenter())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def set_ivr_free(sim: SimulatorServer, free: int) -> None:
    async with httpx.AsyncClient() as client:
        (await client.put(f"{sim.control_url}/ivr", json={"free": free})).raise_for_status()


async def test_channels_minus_launched_and_transferred_calls_still_up() -> None:
    t = make_target(channels=3)
    await t.start()
    try:
        assert t.free_slots(IVR) == 3
        t.reserve(IVR, "a")
        t.reserve(IVR_2, "b")  # campaigns routed to this IVR share its channels
        assert t.free_slots(IVR) == 1 and t.free_slots(IVR_2) == 1
        t.release("a", transferred=False)  # never reached the IVR
        assert t.free_slots(IVR) == 2
        t.release("b", transferred=True)  # the caller is on an IVR channel now
        assert t.free_slots(IVR) == 2
        assert t.status()["transferred_up"] == 1
        t.transferred_call_ended("b")
        assert t.free_slots(IVR) == 3
        assert t.health(IVR).ok and "3 of 3" in t.health(IVR).detail
    finally:
        await t.close()


async def test_holds_time_out_when_no_end_signal_comes() -> None:
    t = make_target(channels=2, hold_timeout_ms=200, reservation_timeout_ms=200)
    await t.start()
    try:
        t.reserve(IVR, "launched")
        t.reserve(IVR, "transferred")
        t.release("transferred", transferred=True)
        assert t.free_slots(IVR) == 0
        await eventually(lambda: t.free_slots(IVR) == 2, what="both holds expired")
        assert t.status()["expired_total"] == 2
    finally:
        await t.close()


async def test_status_url_corrects_the_local_count(sim: SimulatorServer) -> None:
    await set_ivr_free(sim, 4)
    t = make_target(channels=10, status_url=f"{sim.url}/ivr/status", status_poll_ms=50)
    await t.start()
    try:
        await eventually(lambda: t.free_slots(IVR) == 4, what="the IVR's own count wins")
        t.reserve(IVR, "ringing")  # not on the IVR yet: the IVR cannot know it
        assert t.free_slots(IVR) == 3
        t.release("ringing", transferred=True)
        assert t.free_slots(IVR) == 3  # until the IVR is asked again, still ours to hold
        await set_ivr_free(sim, 3)  # the IVR now has the caller
        await eventually(lambda: t.status()["reported_free"] == 3, what="new status")
        assert t.free_slots(IVR) == 3  # the transferred call counted once, not twice
        await set_ivr_free(sim, 20)
        await eventually(lambda: t.status()["reported_free"] == 20, what="status 20")
        assert t.free_slots(IVR) == 9  # never more than the configured channels allow
    finally:
        await t.close()


@pytest.mark.parametrize("authoritative", [False, True])
async def test_unreachable_status_url(sim: SimulatorServer, authoritative: bool) -> None:
    await set_ivr_free(sim, 2)
    t = make_target(
        channels=5,
        status_url=f"{sim.url}/ivr/status",
        status_poll_ms=50,
        status_timeout_ms=200,
        status_stale_after_ms=300,
        status_authoritative=authoritative,
    )
    await t.start()
    try:
        await eventually(lambda: t.free_slots(IVR) == 2, what="status read")
        await sim.stop()
        if authoritative:  # the URL is the truth and we do not have it: 0
            await eventually(lambda: t.free_slots(IVR) == 0, what="fail safe to 0")
            health = t.health(IVR)
            assert not health.ok
            assert re.search(r"IVR status is \d+ s old", health.detail)
            assert "status_authoritative is on" in health.detail
        else:  # a correction only: fall back to the local count
            await eventually(lambda: t.free_slots(IVR) == 5, what="local count")
            health = t.health(IVR)
            assert health.ok and "status URL ignored" in health.detail
        assert t.status()["throttled"]
    finally:
        await t.close()


@pytest.mark.parametrize(
    "options, option, words",
    [
        ({}, "channels", "is required"),
        ({"channels": -1}, "channels", ">= 0"),
        ({"channels": "ten"}, "channels", "whole number"),
        ({"channels": 4, "hold_timeout_ms": 0}, "hold_timeout_ms", "milliseconds"),
        ({"channels": 4, "status_url": "ivr:8080"}, "status_url", "http://"),
        ({"channels": 4, "status_authoritative": True}, "status_authoritative", "no status_url"),
        ({"channels": 4, "chanels": 5}, "chanels", "not known"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, Any], option: str, words: str) -> None:
    with pytest.raises(IvrOptionError, match=re.escape(words)) as info:
        IvrRoutingTarget(options)
    assert info.value.option == option
    assert f"option {option!r}" in str(info.value)
