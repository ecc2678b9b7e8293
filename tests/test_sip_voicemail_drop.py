"""End to end over SIP: a campaign that leaves a message on machines, made through the
API, dials a SIPp far end that answers with a voicemail greeting and its beep; the
campaign's voicemail message reaches the far end right after the beep.

SIPp (``uas_answer_agent_wait.xml``) answers and announces a media tap's port in its SDP:
the tap plays the greeting (``tests/sipp/audio/machine_greeting.ulaw``: ~11 s of speech-
like sound, a 1 kHz beep at 11.38-11.96 s, then quiet) to the dialer in 20 ms packets,
noting when it sent each, and keeps every packet the dialer sends with its arrival time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from api_client import ApiClient
from engine_support import wait_for
from safe_harbour_audio import wav_bytes
from sip_helpers import sip_config
from sipp_far_end import SippUas, ensure_sipp

from opendialer.core.engine.clock import RealClock
from opendialer.core.engine.engine import Engine
from opendialer.core.plugins import PluginManager
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, CampaignMessage
from opendialer.plugins.platform_sip import SipPlatform
from opendialer.plugins.platform_sip import outcome_details as details

pytestmark = [pytest.mark.sip, pytest.mark.timeout(120)]

PCMU = 0
QUIET = b"\xff" * 160
GREETING = (Path(__file__).parent / "sipp" / "audio" / "machine_greeting.ulaw").read_bytes()
#: Where the greeting's beep ends (s), measured on the file (its 1 kHz frames).
BEEP_END_S = 11.96
#: The voicemail message: 1.5 s of noise, no two 20 ms packets alike.
RECORDING = wav_bytes(
    np.random.default_rng(1919).normal(0, 4000, 12000).clip(-32000, 32000).astype(np.int16), 8000
)


@dataclass
class GreetingTap(asyncio.DatagramProtocol):
    """Plays the greeting to the dialer once it hears the dialer's first packet."""

    from_dialer: list[tuple[float, bytes]] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    transport: asyncio.DatagramTransport | None = None
    player: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.from_dialer.append((time.monotonic(), data))
        if self.player is None:
            self.player = asyncio.ensure_future(self._play(addr))

    async def _play(self, dialer: Any) -> None:
        assert self.transport is not None
        start = time.monotonic()
        seq, ts, ssrc = 1000, 5000, 0x5EED
        for n in range(0, 60 * 50):
            payload = GREETING[n * 160 : (n + 1) * 160]
            payload = payload + QUIET[len(payload) :]
            header = bytes([0x80, (0x80 if n == 0 else 0) | PCMU]) + ((seq + n) & 0xFFFF).to_bytes(
                2, "big"
            )
            header += ((ts + 160 * n) & 0xFFFFFFFF).to_bytes(4, "big") + ssrc.to_bytes(4, "big")
            self.transport.sendto(header + payload, dialer)
            self.sent_at.append(time.monotonic())
            await asyncio.sleep(max(0.0, start + (n + 1) * 0.02 - time.monotonic()))


@asynccontextmanager
async def far_end(tmp_path: Path) -> AsyncIterator[tuple[SippUas, GreetingTap]]:
    tap = GreetingTap()
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(lambda: tap, local_addr=("127.0.0.1", 0))
    uas = SippUas(
        "uas_answer_agent_wait.xml",
        calls=1,
        keys={
            "tap_port": str(tap.port),
            "codec_pt": str(PCMU),
            "codec_name": "PCMU",
            "refer_result": "200 OK",
        },
        sets={"ring_ms": "200"},
    )
    try:
        uas.start(tmp_path)
        yield uas, tap
    finally:
        uas.stop()
        if tap.player is not None:
            tap.player.cancel()
        assert tap.transport is not None
        tap.transport.close()


async def voicemail_campaign(app_client: ApiClient) -> tuple[Any, int]:
    group = await app_client.group()
    admin = await app_client.login_as("campaign_admin", [group])
    today = datetime.now(UTC).date()
    r = await admin.post(
        "/api/v1/campaigns",
        json={
            "name": "Voicemail drop over SIP",
            "group_id": group,
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=1)).isoformat(),
            "start_time": "00:00",
            "end_time": "23:59",
            "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "pilot_number": "7000",
            "amd_enabled": True,
        },
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await admin.post(
        f"/api/v1/campaigns/{cid}/leads",
        content="Machine,+1 202 555 0142\n",
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    r = await admin.put(
        f"/api/v1/campaigns/{cid}/voicemail-message",
        files={"file": ("offer.wav", RECORDING, "audio/wav")},
    )
    assert r.status_code == 200, r.text
    r = await admin.patch(
        f"/api/v1/campaigns/{cid}", json={"amd_params": {"on_machine": "leave_message"}}
    )
    assert r.status_code == 200, r.text
    return admin, cid


async def test_the_voicemail_message_reaches_the_machine_right_after_its_beep(
    db: Database, app_client: ApiClient, tmp_path: Path
) -> None:
    ensure_sipp()
    admin, cid = await voicemail_campaign(app_client)
    row = await CampaignMessage.select().where(CampaignMessage.campaign == cid).first().run()
    assert row is not None
    uploaded = bytes(row["audio"])
    async with far_end(tmp_path) as (uas, tap):
        platform = SipPlatform(
            {"config": sip_config(uas.address, ports=2), "bind_host": "127.0.0.1"}
        )
        engine = Engine(
            db,
            "sip-voicemail",
            RealClock(),
            platform,
            routing_options={"static": {"slots": 2}},
            routing_by_type={"OSCC": "static"},
            plugin_manager=PluginManager().load_all(),
        )
        assert (await admin.post(f"/api/v1/campaigns/{cid}/start")).status_code == 200
        await engine.start()
        try:

            async def call_ended() -> bool:
                return bool(
                    await CallRecord.count()
                    .where((CallRecord.campaign == cid) & CallRecord.status.is_not_null())
                    .run()
                )

            await wait_for(call_ended, deadline_s=60, what="the call ended")
        finally:
            await admin.post(f"/api/v1/campaigns/{cid}/stop")
            await engine.stop()
        assert await asyncio.to_thread(uas.wait, 30) == 0, uas.errors()

    # On the wire: one PCMU stream, quiet until its second marker, then the message
    # byte for byte, starting after the beep had ended and within 300 ms of it.
    packets = [(at, p) for at, p in tap.from_dialer if len(p) == 172]
    assert {p[1] & 0x7F for _, p in packets} == {PCMU}
    markers = [i for i, (_, p) in enumerate(packets) if p[1] & 0x80]
    assert markers[0] == 0 and len(markers) == 2, markers
    start = markers[1]
    assert {p[12:] for _, p in packets[:start]} == {QUIET}
    played = b"".join(p[12:] for _, p in packets[start:])[: len(uploaded)]
    assert played == uploaded
    beep_end_at = tap.sent_at[0] + BEEP_END_S
    first_at = packets[start][0]
    assert 0.0 <= first_at - beep_end_at <= 0.3, first_at - beep_end_at

    r = await admin.get(f"/api/v1/campaigns/{cid}/calls")
    (call,) = r.json()["items"]
    assert (call["disposition"], call["status"], call["amd_verdict"]) == (
        "message_left",
        "MESSAGE_LEFT",
        "MACHINE",
    ), call
    assert call["detail_code"] == details.MESSAGE_LEFT
    assert "beep 1000 Hz" in call["detail"]
    # what the point was, as values the call log translates (the English apart)
    params = call["detail_params"]
    assert (params["point"], params["beep_hz"]) == ("beep", "1000"), params
    assert abs(float(params["point_at_s"]) - BEEP_END_S) <= 0.1, params
    assert params["why"].startswith("beep 1000 Hz ended at "), params
