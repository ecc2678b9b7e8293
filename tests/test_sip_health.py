"""The SIP platform's health on the wire: what puts it down and what brings it up.

The rule (``health.py``, docs/sip.md "Platform health"): down after three
unanswered requests to the server itself in a row (INVITE/REGISTER/OPTIONS,
RFC 3261 Timers B/F), up at the OPTIONS probe's first answer; a request lost
inside a dialog is the call's loss, not the server's. The far end is the
scripted UDP peer of ``sip_scripted_far_end`` with T1 shortened to 20 ms
(Timers B/F: 1.28 s).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from aiosipua import SipMessage, SipResponse
from sip_helpers import call_request, eventually, running_platform, sip_config
from sip_scripted_far_end import Behaviour, ScriptedUas

from opendialer.plugins.platform_sip import SipPlatform
from opendialer.sdk.contracts import CallDisposition, PlatformUnavailable

pytestmark = pytest.mark.timeout(120)

FAST = {"t1_s": 0.02, "t4_s": 0.5, "transfer_timeout_s": 5.0, "probe_interval_s": 0.2}
PLATFORM_LOG = "opendialer.plugins.platform_sip.platform"


@dataclass
class SwallowsOne(ScriptedUas):
    """Never answers the first ``calls`` calls' ``method`` request (nor its retransmissions)."""

    method: str = "BYE"
    calls: int = 1
    swallowed: set[str] = field(default_factory=set)  # Call-IDs whose request goes unanswered

    def datagram_received(self, data: bytes, addr: object) -> None:
        if data.startswith(f"{self.method} ".encode()):
            request = SipMessage.parse(data)
            call_id = request.call_id or ""
            if call_id in self.swallowed or len(self.swallowed) < self.calls:
                self.swallowed.add(call_id)
                self.received.append(request)  # seen, never answered
                return
        super().datagram_received(data, addr)


@dataclass
class AnswersFromElsewhere(ScriptedUas):
    """Sends its responses from another UDP port than the one requests go to (a
    multi-homed server or an SBC with separate sockets: RFC 3261 §18.2.2 allows it)."""

    def send(self, message: SipMessage | bytes) -> None:
        if isinstance(message, SipResponse) and self.other_rtp is not None and self.dialer:
            self.other_rtp.sendto(bytes(message), self.dialer)
            return
        super().send(message)


@asynccontextmanager
async def health_watched(platform: SipPlatform) -> AsyncIterator[list[str]]:
    """Every health detail the platform showed while it was not ok, sampled every 5 ms."""
    seen: list[str] = []

    async def watch() -> None:
        while True:
            health = platform.health()
            if not health.ok:
                seen.append(health.detail)
            await asyncio.sleep(0.005)

    task = asyncio.create_task(watch())
    try:
        yield seen
    finally:
        task.cancel()


def logged(caplog: pytest.LogCaptureFixture, event: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(event)]


async def test_an_unanswered_bye_is_the_calls_loss_and_the_next_calls_are_dialed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=PLATFORM_LOG)
    uas = await SwallowsOne(Behaviour(), method="BYE").start()
    try:
        async with (
            running_platform(sip_config(uas.address), **FAST) as platform,
            health_watched(platform) as down,
        ):
            first = call_request()
            outcome = await platform.originate(first)  # transferred, then BYE: never answered
            assert outcome.disposition is CallDisposition.TRANSFERRED, outcome
            assert uas.count("BYE") > 3  # Timer E resent it until Timer F
            assert down == [] and logged(caplog, "sip.server_down") == []
            timeouts = logged(caplog, "sip.call_request_timeout")
            assert len(timeouts) == 1 and f"call={first.call_id} method=BYE" in timeouts[0]
            assert platform.health().ok and platform.free_ports() == 4
            for _ in range(2):
                outcome = await platform.originate(call_request())
                assert outcome.disposition is CallDisposition.TRANSFERRED, outcome
            assert uas.count("INVITE") == 3
            assert down == [] and logged(caplog, "sip.server_down") == []
    finally:
        uas.close()


async def test_one_lost_invite_while_the_server_answers_the_probe_keeps_it_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=PLATFORM_LOG)
    uas = await SwallowsOne(Behaviour(), method="INVITE").start()
    try:
        async with (
            running_platform(sip_config(uas.address), **FAST) as platform,
            health_watched(platform) as down,
        ):
            outcome = await platform.originate(call_request())
            assert outcome.disposition is CallDisposition.PLATFORM_ERROR, outcome  # Timer B
            await eventually(lambda: uas.count("OPTIONS") >= 1)  # in doubt: the probe asks
            outcome = await platform.originate(call_request())
            assert outcome.disposition is CallDisposition.TRANSFERRED, outcome
            assert platform.health().ok
            assert down == [] and logged(caplog, "sip.server_down") == []
    finally:
        uas.close()


async def test_invites_that_rang_but_never_ended_are_the_calls_loss(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server sent 100/180 but neither answers our CANCELs nor sends the 487s:
    three INVITEs end by timeout at once, yet the server did answer each of them."""
    caplog.set_level(logging.INFO, logger=PLATFORM_LOG)
    uas = await SwallowsOne(Behaviour(answer=False), method="CANCEL", calls=3).start()
    try:
        async with (
            running_platform(sip_config(uas.address), **FAST) as platform,
            health_watched(platform) as down,
        ):
            rang = [call_request(no_answer_timeout_s=0.2) for _ in range(3)]
            outcomes = await asyncio.gather(*(platform.originate(r) for r in rang))
            assert logged(caplog, "sip.server_down") == [], outcomes
            assert uas.count("CANCEL") > 3 and uas.count("OPTIONS") == 0  # not even in doubt
            lost = logged(caplog, "sip.call_request_timeout")
            assert (
                sorted(line.split()[2] for line in lost)
                == ["method=CANCEL"] * 3 + ["method=INVITE"] * 3
            )
            outcome = await platform.originate(call_request(no_answer_timeout_s=0.2))
            assert outcome.disposition is CallDisposition.NO_ANSWER, outcome
            assert platform.health().ok
            assert down == [] and logged(caplog, "sip.server_down") == []
    finally:
        uas.close()


@pytest.mark.parametrize("far_end", [ScriptedUas, AnswersFromElsewhere])
async def test_a_silent_server_puts_it_down_and_its_first_answer_brings_it_up(
    far_end: type[ScriptedUas],
) -> None:
    uas = await far_end(Behaviour()).start()
    try:
        async with running_platform(sip_config(uas.address), **FAST) as platform:
            outcome = await platform.originate(call_request())
            assert outcome.disposition is CallDisposition.TRANSFERRED, outcome
            uas.behaviour.silent = True  # the server stops answering anything
            outcome = await platform.originate(call_request())
            assert outcome.disposition is CallDisposition.PLATFORM_ERROR, outcome
            await eventually(lambda: not platform.health().ok)
            health = platform.health()
            assert "did not answer 3 requests in a row" in health.detail, health
            assert health.since is not None and platform.free_ports() == 0
            with pytest.raises(PlatformUnavailable, match="did not answer"):
                await platform.originate(call_request())
            probes = uas.count("OPTIONS")
            await eventually(lambda: uas.count("OPTIONS") >= probes + 3)  # probing while down
            assert not platform.health().ok
            uas.behaviour.silent = False  # back: the next probe's answer brings it up
            await eventually(lambda: platform.health().ok)
            assert platform.free_ports() == 4
            outcome = await platform.originate(call_request())
            assert outcome.disposition is CallDisposition.TRANSFERRED, outcome
            assert uas.count("INVITE") > 3  # three calls dialed, one with retransmissions
    finally:
        uas.close()
