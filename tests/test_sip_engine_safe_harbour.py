"""End to end: a power campaign made through the API over-dials on the SIP platform to a
SIPp far end; the people no agent is left for hear the campaign's safe-harbour message.

The campaign, its leads and its safe-harbour message go through ``/api/v1``; an engine
node (real clock, its own loop) dials it through ``SipPlatform`` to one SIPp process
that answers every call (``uas_answer_agent_wait.xml``). The routing target has one
agent, who stays on the phone with the first person handed over: power at three lines
per free agent launches three calls at once, all three are answered, the first is
transferred and the other two wait ``abandon_timeout_ms`` for an agent that never frees.

What the far end received is seen on the wire as in ``test_sip_abandon.py``: the SDP
answer announces a media tap's port, the tap forwards the dialer's RTP to SIPp (run
with ``-rtp_echo``) and keeps what SIPp echoes back, the packets SIPp received.

Power over-dials only on an abandon budget: a new campaign, with no live answer in its
window, dials one line per free agent. So the campaign starts with yesterday's calls in
its 30-day window (stored as the engine stores ended calls): 200 calls, 60 people handed
over — a budget of 1.8 abandons at the 3 % target, enough for a round of three lines.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from api_client import ApiClient
from engine_support import wait_for
from safe_harbour_audio import read_wav, wav_bytes
from sip_helpers import eventually, sip_config
from sipp_far_end import SippUas, ensure_sipp
from test_sip_g711 import ref_ulaw2linear

from opendialer.core.engine.clock import RealClock
from opendialer.core.engine.engine import Engine
from opendialer.core.plugins import PluginManager
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, CampaignMessage, Lead
from opendialer.plugins.platform_sip import SipPlatform
from opendialer.plugins.platform_sip import outcome_details as details
from opendialer.sdk import Health, RoutingRequest, RoutingTargetFactory, hookimpl

pytestmark = [pytest.mark.sip, pytest.mark.timeout(120)]

PCMU = 0
SILENCE = b"\xff" * 160  # µ-law zero, one 20 ms packet
#: The uploaded recording: 1 s of 8 kHz noise — no two 20 ms packets alike, none silent.
RECORDING = wav_bytes(
    np.random.default_rng(1717).normal(0, 4000, 8000).clip(-32000, 32000).astype(np.int16), 8000
)
PEOPLE = 3
#: The campaign's history in its window: calls ended yesterday, people handed over.
HISTORY_CALLS, HISTORY_LIVE = 200, 60


class OneAgent:
    """A routing target with one agent, who stays with the first person handed over."""

    def __init__(self, options: Mapping[str, Any] | None = None, context: Any = None) -> None:
        self.held: set[str] = set()
        self.talking = False

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def free_slots(self, request: RoutingRequest) -> int:
        return 0 if self.talking or self.held else 1

    def reserve(self, request: RoutingRequest, call_id: str) -> None:
        self.held.add(call_id)

    def release(self, call_id: str, transferred: bool) -> None:
        self.held.discard(call_id)
        self.talking = self.talking or transferred

    def health(self, request: RoutingRequest | None = None) -> Health:
        return Health(ok=True, detail="one agent")


class OneAgentPlugin:
    @hookimpl
    def register_routing_targets(self) -> Mapping[str, RoutingTargetFactory]:
        return {"one_agent": OneAgent}


@dataclass
class MediaTap(asyncio.DatagramProtocol):
    """The media address SIPp's SDP answers announce, for every call (module docstring)."""

    sipp_media: tuple[str, int] = ("127.0.0.1", 0)
    from_dialer: list[bytes] = field(default_factory=list)
    echoed: list[bytes] = field(default_factory=list)
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def datagram_received(self, data: bytes, addr: Any) -> None:
        assert self.transport is not None
        if (addr[0], addr[1]) == self.sipp_media:
            self.echoed.append(data)
        else:
            self.from_dialer.append(data)
            self.transport.sendto(data, self.sipp_media)

    def streams(self) -> dict[int, list[bytes]]:
        """What SIPp received, per RTP stream (SSRC), in order."""
        out: dict[int, list[bytes]] = {}
        for packet in self.echoed:
            out.setdefault(int.from_bytes(packet[8:12], "big"), []).append(packet)
        return out


@asynccontextmanager
async def far_end(tmp_path: Path) -> AsyncIterator[tuple[SippUas, MediaTap]]:
    """SIPp answering :data:`PEOPLE` calls in PCMU after 300 ms of ringing, behind the tap."""
    tap = MediaTap()
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(lambda: tap, local_addr=("127.0.0.1", 0))
    uas = SippUas(
        "uas_answer_agent_wait.xml",
        calls=PEOPLE,
        keys={
            "tap_port": str(tap.port),
            "codec_pt": str(PCMU),
            "codec_name": "PCMU",
            "refer_result": "200 OK",
        },
        sets={"ring_ms": "300"},
        extra=["-rtp_echo"],
    )
    try:
        uas.start(tmp_path)
        tap.sipp_media = ("127.0.0.1", uas.media_port)
        yield uas, tap
    finally:
        uas.stop()
        assert tap.transport is not None
        tap.transport.close()


async def power_campaign(app_client: ApiClient) -> tuple[Any, int]:
    """Power at three lines per free agent, AMD off, dialing all day today; the message
    uploaded; :data:`PEOPLE` leads."""
    group = await app_client.group()
    admin = await app_client.login_as("campaign_admin", [group])
    today = datetime.now(UTC).date()
    r = await admin.post(
        "/api/v1/campaigns",
        json={
            "name": "Power over SIP",
            "group_id": group,
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=1)).isoformat(),
            "start_time": "00:00",
            "end_time": "23:59",
            "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "pilot_number": "7000",
            "amd_enabled": False,
            "pacing_mode": "power",
            "lines_per_agent": 3,
            "max_lines_per_agent": 3,
            "abandon_target_pct": 3,
            "abandon_window": "30d",
            "abandon_timeout_ms": 500,
        },
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    leads = "".join(f"Person {n},+1 202 555 01{n:02d}\n" for n in range(PEOPLE))
    r = await admin.post(
        f"/api/v1/campaigns/{cid}/leads", content=leads, headers={"Content-Type": "text/csv"}
    )
    assert r.status_code == 201, r.text
    r = await admin.put(
        f"/api/v1/campaigns/{cid}/safe-harbour-message",
        files={"file": ("notice.wav", RECORDING, "audio/wav")},
    )
    assert r.status_code == 200 and r.json()["duration_ms"] == 1000, r.text
    return admin, cid


async def yesterdays_calls(cid: int) -> None:
    """:data:`HISTORY_CALLS` ended calls of a lead reached yesterday, as the engine
    stores them: :data:`HISTORY_LIVE` people handed over, the others not answered."""
    ended = datetime.now(UTC) - timedelta(days=1)
    lead = Lead(
        campaign=cid,
        name="Reached yesterday",
        phone="12025550199",
        attempts=HISTORY_CALLS,
        status="SUCCESS",
        next_attempt_at=None,
    )
    await lead.save().run()
    live = {"disposition": "transferred", "status": "SUCCESS", "transfer_result": "200"}
    missed = {"disposition": "no_answer", "status": "FAILURE", "sip_code": 487}
    rows = [
        CallRecord(
            campaign=cid,
            lead=lead.id,
            attempt=n + 1,
            call_id=f"yesterday-{cid}-{n}",
            phone="12025550199",
            created_at=ended - timedelta(seconds=40),
            answered_at=ended - timedelta(seconds=30) if n < HISTORY_LIVE else None,
            ended_at=ended,
            **(live if n < HISTORY_LIVE else missed),
        )
        for n in range(HISTORY_CALLS)
    ]
    await CallRecord.insert(*rows).run()


def message_of(stream: list[bytes]) -> bytes | None:
    """The payload after the stream's second marker (the message's start), if any;
    asserts one well-formed PCMU stream, silence before the message and after it."""
    fields = [(p[1] >> 7, p[1] & 0x7F, int.from_bytes(p[2:4], "big")) for p in stream]
    assert {p[0] >> 6 for p in stream} == {2} and {f[1] for f in fields} == {PCMU}
    for before, after in itertools.pairwise(fields):
        assert after[2] == (before[2] + 1) & 0xFFFF, (before, after)  # none lost or reordered
    markers = [i for i, f in enumerate(fields) if f[0]]
    payloads = [p[12:] for p in stream]
    assert markers[0] == 0, markers
    if len(markers) == 1:
        assert set(payloads) == {SILENCE}
        return None
    assert len(markers) == 2, markers
    start = markers[1]
    assert set(payloads[:start]) == {SILENCE}  # silence while waiting for an agent
    played = [p for p in payloads[start:] if p != SILENCE]
    assert payloads[start : start + len(played)] == played  # one piece, then silence only
    return b"".join(played)


async def test_people_no_agent_is_left_for_hear_the_uploaded_message_and_count_as_abandoned(
    db: Database, app_client: ApiClient, tmp_path: Path
) -> None:
    ensure_sipp()
    admin, cid = await power_campaign(app_client)
    await yesterdays_calls(cid)
    message = await CampaignMessage.select().where(CampaignMessage.campaign == cid).first().run()
    assert message is not None
    uploaded = bytes(message["audio"])  # the µ-law the upload stored
    r = await admin.get(f"/api/v1/campaigns/{cid}/safe-harbour-message/audio")
    assert [ref_ulaw2linear(code) for code in uploaded] == read_wav(r.content)[3].tolist()

    pm = PluginManager().load_all()
    assert pm.register(OneAgentPlugin(), name="one_agent_routing")
    async with far_end(tmp_path) as (uas, tap):
        platform = SipPlatform(
            {"config": sip_config(uas.address, ports=4), "bind_host": "127.0.0.1"}
        )
        engine = Engine(
            db,
            "sip-safe-harbour",
            RealClock(),
            platform,
            routing_options={"one_agent": {}},
            routing_by_type={"OSCC": "one_agent"},
            plugin_manager=pm,
        )
        r = await admin.post(f"/api/v1/campaigns/{cid}/start")
        assert r.status_code == 200, r.text
        await engine.start()
        try:

            async def every_person_called() -> bool:
                ended = (
                    await CallRecord.count()
                    .where((CallRecord.campaign == cid) & CallRecord.status.is_not_null())
                    .run()
                )
                return ended == HISTORY_CALLS + PEOPLE

            await wait_for(every_person_called, deadline_s=60, what="the three calls ended")
        finally:
            r = await admin.post(f"/api/v1/campaigns/{cid}/stop")
            await engine.stop()
        assert await asyncio.to_thread(uas.wait, 30) == 0, uas.errors()  # 3 calls, as scripted
        await eventually(
            lambda: len(tap.echoed) == len(tap.from_dialer) > 0, what="SIPp's echo of our RTP"
        )

    # On the wire: two RTP streams carried the uploaded message, whole and byte for byte
    # (the transferred call, handed over at once, sends silence at most).
    played = [message_of(stream) for stream in tap.streams().values()]
    assert played.count(uploaded) == 2 and set(played) <= {uploaded, None}, played

    # In the call log: one person handed over, two abandoned after the message.
    r = await admin.get(f"/api/v1/campaigns/{cid}/calls", params={"per_page": 50})
    assert r.status_code == 200, r.text
    today = [c for c in r.json()["items"] if not c["call_id"].startswith("yesterday-")]
    assert sorted((c["disposition"], c["status"]) for c in today) == [
        ("abandoned", "ABANDONED"),
        ("abandoned", "ABANDONED"),
        ("transferred", "SUCCESS"),
    ]
    for call in today:
        assert call["answered_at"] is not None and call["node"] == "sip-safe-harbour"
        if call["disposition"] == "abandoned":
            assert call["detail_code"] == details.ABANDONED_MESSAGE_PLAYED

    # In the audit trail, as the API exports it: each abandon and its message, heard whole.
    r = await admin.get(f"/api/v1/campaigns/{cid}/audit")
    assert r.status_code == 200, r.text
    trail = list(csv.DictReader(io.StringIO(r.text)))
    abandoned = {c["call_id"] for c in today if c["disposition"] == "abandoned"}
    for kind in ("abandoned", "safe_harbour_played"):
        assert {row["call_id"] for row in trail if row["kind"] == kind} == abandoned, kind
    for row in trail:
        if row["kind"] == "safe_harbour_played":
            detail = json.loads(row["detail"])
            assert detail["message_ms"] == round(len(uploaded) / 8)  # 8 µ-law bytes a ms
            assert detail["detail_code"] == details.ABANDONED_MESSAGE_PLAYED

    # The summary's abandon rate counts them: 63 live answers in the window, 2 abandoned.
    r = await admin.get(f"/api/v1/campaigns/{cid}/summary")
    assert r.status_code == 200, r.text
    assert r.json()["pacing"]["abandon"] == {
        "window": "30d",
        "target_pct": 3.0,
        "live_answered": HISTORY_LIVE + PEOPLE,
        "abandoned": 2,
        "rate_pct": round(200 / (HISTORY_LIVE + PEOPLE), 2),
        "over_target": True,
    }
