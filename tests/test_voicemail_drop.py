"""Voicemail drop: ``on_machine: leave_message`` with the campaign's voicemail message.

Over the API: the message is uploaded, listened to and deleted like the safe-harbour
one; choosing ``leave_message`` without it, or for another verdict, is a 422 naming
what to do, and starting such a campaign a 409. On the simulator: machines are left the
message (MESSAGE_LEFT, final, audited, counted), people still go to agents, and a
strategy without its own message point tracker gets the engine's fallback. The
built-in tracker, through the SDK: the message starts right after a beep."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from api_client import PASSWORD, ApiClient
from engine_support import make_engine, records, run_round, utc
from safe_harbour_audio import tone_wav
from test_api_campaigns import give_leads
from test_engine_outcomes import EnergyPlugin, amd_campaign
from test_safe_harbour_message import new_campaign

from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.message_point import CAP_MS, tracker_for
from opendialer.core.plugins import PluginManager
from opendialer.core.services import campaign_messages, message_audio
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import AuditEvent, CampaignMessage, Lead
from opendialer.plugins.platform_sim.clips import load_clips
from opendialer.sdk import AmdLabel, FindsMessagePoint, MessagePoint, MessagePointKind, hookimpl

PATH = "/api/v1/campaigns/{}/voicemail-message"


async def put_voicemail(client: Any, cid: int, data: bytes, name: str = "drop.wav") -> Any:
    return await client.put(PATH.format(cid), files={"file": (name, data, "audio/wav")})


@pytest.mark.pg
async def test_upload_listen_and_delete_the_voicemail_message(app_client: ApiClient) -> None:
    admin, _, cid = await new_campaign(app_client)
    r = await admin.get(PATH.format(cid))
    assert (r.status_code, r.json()["code"]) == (404, "voicemail.not_found"), r.text
    r = await put_voicemail(admin, cid, tone_wav(4.0, 16000), "Oferta.wav")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["kind"], body["filename"], body["duration_ms"]) == (
        "voicemail",
        "Oferta.wav",
        4000,
    )
    r = await admin.get(PATH.format(cid) + "/audio")
    assert r.status_code == 200 and r.content[:4] == b"RIFF"
    campaign = (await admin.get(f"/api/v1/campaigns/{cid}")).json()
    assert campaign["voicemail_message"]["filename"] == "Oferta.wav"
    assert campaign["safe_harbour_message"] is None  # the two kinds live apart
    r = await put_voicemail(admin, cid, tone_wav(0.4, 16000))
    assert (r.status_code, r.json()["code"]) == (422, "safe_harbour.too_short"), r.text
    assert (await admin.get(PATH.format(cid))).json()["duration_ms"] == 4000
    assert (await admin.delete(PATH.format(cid))).status_code == 204
    assert (await admin.get(f"/api/v1/campaigns/{cid}")).json()["voicemail_message"] is None
    spec = (await app_client.get("/schema/openapi.json")).json()
    assert "/api/v1/campaigns/{campaign_id}/voicemail-message" in spec["paths"]


async def test_leave_message_needs_the_message_and_a_machine(app_client: ApiClient) -> None:
    admin, _, cid = await new_campaign(app_client)
    leave = {"amd_params": {"on_machine": "leave_message"}}
    r = await admin.patch(f"/api/v1/campaigns/{cid}", json=leave)
    assert r.status_code == 422, r.text
    error = r.json()
    assert (error["field"], error["code"]) == ("amd_params", "amd.voicemail_missing")
    assert "upload it first" in error["detail"]
    r = await admin.patch(
        f"/api/v1/campaigns/{cid}", json={"amd_params": {"on_fax": "leave_message"}}
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "amd.leave_message_machine_only"
    assert (await put_voicemail(admin, cid, tone_wav(3.0))).status_code == 200
    r = await admin.patch(f"/api/v1/campaigns/{cid}", json=leave)
    assert r.status_code == 200, r.text
    assert r.json()["amd_params"] == {"on_machine": "leave_message"}
    # The message deleted afterwards: the campaign cannot start until one is back.
    assert (await admin.delete(PATH.format(cid))).status_code == 204
    await give_leads(admin, cid)
    r = await admin.post(f"/api/v1/campaigns/{cid}/start")
    assert (r.status_code, r.json()["code"]) == (409, "campaign.voicemail_missing"), r.text
    assert (await put_voicemail(admin, cid, tone_wav(3.0))).status_code == 200
    assert (await admin.post(f"/api/v1/campaigns/{cid}/start")).status_code == 200


async def _voicemail(cid: int, seconds: float = 2.0) -> None:
    """The campaign (started by the test's helper) gets its voicemail message."""
    audio = message_audio.convert(tone_wav(seconds, 8000))
    row = CampaignMessage(
        campaign=cid,
        kind=campaign_messages.VOICEMAIL,
        audio=audio.ulaw,
        duration_ms=audio.duration_ms,
        filename="drop.wav",
        uploaded_at=utc(2026, 3, 1),
    )
    await CampaignMessage.insert(row).run()


async def _dial(db: Database, pm: PluginManager, script: dict[str, list[str]]) -> Any:
    engine = make_engine(db, FakeClock(utc(2026, 3, 2, 10, 0)), pm=pm, script=script, slots=20)
    await engine.start(run_loop=False)
    try:
        await run_round(engine)
    finally:
        await engine.stop()
    return engine


async def test_the_simulator_leaves_the_message_on_machines(db: Database) -> None:
    pm = PluginManager().load_all()
    cid, numbers, script = await amd_campaign(
        "155071", {"human": 3, "machine": 5}, amd_params={"on_machine": "leave_message"}
    )
    await _voicemail(cid)
    engine = await _dial(db, pm, script)
    calls = {c["phone"]: c for c in await records(cid)}
    for number in numbers["machine"]:
        call = calls[number]
        assert (call["amd_verdict"], call["disposition"], call["status"]) == (
            "MACHINE",
            "message_left",
            "MESSAGE_LEFT",
        ), call
        assert call["detail_code"] == "platform_sim.message_left"
        # what the point was, as values the call log translates; the English kept apart
        params = _params(call)
        assert (params["point"], params["beep_hz"]) == ("beep", "1000"), params
        assert params["why"].startswith("beep 1000 Hz ended at "), params
        assert params["why"].endswith(f"{params['point_at_s']} s"), params
        assert float(params["point_at_s"]) <= float(params["at_s"]) + 0.05, params
    for number in numbers["human"]:
        assert (calls[number]["status"], calls[number]["disposition"]) == (
            "SUCCESS",
            "transferred",
        )
    machines = numbers["machine"]
    leads = await Lead.select(Lead.status, Lead.next_attempt_at).where(Lead.phone.is_in(machines))
    assert {(lead["status"], lead["next_attempt_at"]) for lead in leads} == {("MESSAGE_LEFT", None)}
    audit = await AuditEvent.select().where(
        (AuditEvent.campaign == cid) & (AuditEvent.kind == "message_left")
    )
    assert sorted(a["number"] for a in audit) == sorted(machines)
    assert {json.loads(a["detail"])["message_ms"] for a in audit} == {2000}
    assert engine.metrics.messages_left == 5
    assert engine.metrics.outcomes["MESSAGE_LEFT"] == 5
    r = await campaign_summary_counts(cid)
    assert r["MESSAGE_LEFT"] == 5


def _params(call: dict[str, Any]) -> dict[str, str]:
    stored = call["detail_params"]
    return json.loads(stored) if isinstance(stored, str) else dict(stored)


async def campaign_summary_counts(cid: int) -> dict[str, int]:
    from opendialer.core.services.campaigns import campaign_summary

    return (await campaign_summary(SYSTEM, cid))["leads"]


async def test_a_strategy_without_a_tracker_gets_the_engines_fallback(db: Database) -> None:
    pm = PluginManager().load_all()
    pm.register(EnergyPlugin(), name="energy_test")
    cid, _, script = await amd_campaign(
        "155072",
        {"machine": 2},
        amd_params={"strategy": "energy_test", "on_machine": "leave_message"},
    )
    await _voicemail(cid)
    await _dial(db, pm, script)
    for call in await records(cid):
        assert (call["disposition"], call["status"]) == ("message_left", "MESSAGE_LEFT"), call
        assert "quiet line" in call["detail"]
        params = _params(call)
        assert (params["point"], params["silence_s"]) == ("quiet_line", "2.0"), params
        assert "point_at_s" not in params and "beep_hz" not in params


def _greeting_then_beep(rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """The simulator's recorded voicemail greeting (its 1 kHz beep of 0.5 s ends 0.3 s
    before the clip does), then 6 s of line: (the audio, the beep's end in s)."""
    rate = 8000
    greeting = load_clips()["machine"][0].astype(np.float64)
    line = rng.normal(0, 30, 6 * rate)
    audio = np.concatenate([greeting, line])
    return np.clip(audio, -32768, 32767).astype(np.int16), len(greeting) / rate - 0.3


def test_the_built_in_tracker_starts_the_message_right_after_the_beep() -> None:
    strategy = PluginManager().load_all().factories("amd_strategies")["numpy"](context=None)
    audio, beep_end = _greeting_then_beep(np.random.default_rng(7))
    session = strategy.new_session({}, sample_rate=8000)
    assert isinstance(session, FindsMessagePoint)
    chunks = [audio[i : i + 160] for i in range(0, len(audio), 160)]
    fed = 0
    for chunk in chunks:
        fed += len(chunk)
        decision = session.feed(chunk)
        if decision is not None:
            break
    assert decision is not None and decision.label is AmdLabel.MACHINE, decision
    tracker = tracker_for(session)
    point = None
    for chunk in chunks[fed // 160 :]:
        fed += len(chunk)
        point = tracker.feed(chunk)
        if point is not None:
            break
    assert point is not None and point.found, point
    assert 0 <= fed / 8000 - beep_end <= 0.3, (fed / 8000, beep_end, point)
    assert "beep 1000 Hz" in point.reasons
    # the same as values: what the point was, when the beep ended, its pitch
    assert point.kind == MessagePointKind.BEEP
    assert point.beep_hz is not None and abs(point.beep_hz - 1000) < 15, point
    assert point.event_s is not None and abs(point.event_s - beep_end) <= 0.1, point
    assert point.event_s <= point.at_ms / 1000 and point.silence_s is None
    params = point.detail_params()
    assert params == {
        "why": point.reasons,
        "point": "beep",
        "point_at_s": f"{point.event_s:.2f}",
        "beep_hz": f"{point.beep_hz:.0f}",
    }


def test_the_built_in_tracker_says_the_silence_after_a_greeting_without_a_beep() -> None:
    """A greeting (the simulator's, cut before its beep), then a quiet line: the point
    is the silence, with when the greeting ended."""
    rate = 8000
    greeting = load_clips()["machine"][0].astype(np.float64)[: -int(0.9 * rate)]
    line = np.random.default_rng(3).normal(0, 30, 6 * rate)
    audio = np.clip(np.concatenate([greeting, line]), -32768, 32767).astype(np.int16)
    strategy = PluginManager().load_all().factories("amd_strategies")["numpy"](context=None)
    session = strategy.new_session({}, sample_rate=rate)
    chunks = [audio[i : i + 160] for i in range(0, len(audio), 160)]
    verdict_at = next(n for n, chunk in enumerate(chunks) if session.feed(chunk) is not None)
    tracker = tracker_for(session)
    rest = chunks[verdict_at + 1 :]
    point = next((p for c in rest if (p := tracker.feed(c)) is not None), None)
    assert point is not None and point.found and point.kind == "silence", point
    assert point.silence_s == 2.0 and point.beep_hz is None
    assert point.event_s is not None and point.event_s <= len(greeting) / rate + 0.05, point
    assert point.detail_params()["silence_s"] == "2.0"


def test_a_message_point_of_a_tracker_written_before_its_values_still_works() -> None:
    """Third-party trackers build ``MessagePoint(at_ms, reasons[, found])``: the
    values default to None and the detail carries the English alone."""
    point = MessagePoint(8120.0, "end of greeting (my detector)")
    assert (point.found, point.kind, point.event_s, point.beep_hz, point.silence_s) == (
        True,
        None,
        None,
        None,
        None,
    )
    assert point.detail_params() == {"why": "end of greeting (my detector)"}
    assert not MessagePoint(float("nan"), "gave up", False).found


def test_the_cap_gives_up_on_a_greeting_that_never_ends() -> None:
    """A tracker that never finds a point is capped by the engine: not found."""

    class Never:
        def feed(self, pcm: Any) -> None:
            return None

    class Session:
        def feed(self, pcm: Any) -> None:
            return None

        def finish(self) -> None:
            return None

        def message_point_tracker(self) -> Never:
            return Never()

    tracker = tracker_for(Session())  # type: ignore[arg-type]
    chunk = np.zeros(160, dtype=np.int16)
    results = [tracker.feed(chunk) for _ in range(int(CAP_MS / 20))]
    assert results[-2] is None and results[-1] is not None and not results[-1].found


UI_TEXTS = {
    "en": (
        "Leave a message",
        "This campaign has no voicemail message: choose a WAV or MP3 file under "
        "Voicemail message (below) and save again, or choose another action.",
        "Voicemail message",
    ),
    "pt_BR": (
        "Deixar mensagem",
        "Esta campanha não tem mensagem de correio de voz: escolha um arquivo WAV ou MP3 "
        "em Mensagem de correio de voz (abaixo) e salve de novo, ou escolha outra ação.",
        "Mensagem de correio de voz",
    ),
    "es": (
        "Dejar un mensaje",
        "Esta campaña no tiene mensaje de buzón de voz: elija un archivo WAV o MP3 en "
        "Mensaje de buzón de voz (abajo) y guarde de nuevo, o elija otra acción.",
        "Mensaje de buzón de voz",
    ),
}


@pytest.mark.parametrize("language", sorted(UI_TEXTS))
async def test_the_form_uploads_the_message_and_says_what_to_do_without_it(
    app_client: ApiClient, language: str
) -> None:
    """In the campaign form's AMD settings: "Leave a message" without a voicemail
    message is refused at that select, in the user's language, and nothing is saved;
    the same save with the recording chosen stores it and the setting, and the form
    then plays it back."""
    from test_ui_campaign_amd import GOOD, selected
    from test_ui_form_errors import browser_session, htmx, shown_errors

    from opendialer.core.services import campaigns, users

    label, refusal, heading = UI_TEXTS[language]
    group = await app_client.group("Sales")
    await app_client.user("campaign_admin", [group], username="ana")
    await users.set_language(await users.authenticate("ana", PASSWORD), language)
    ana = await browser_session(app_client, "ana")
    form = {**GOOD, "group_id": str(group)}
    r = await ana.post("/campaigns", data=form, headers=htmx(ana))
    assert r.headers.get("HX-Redirect") == "/campaigns", r.text[:800]
    (created,) = (await campaigns.list_campaigns(SYSTEM))["items"]
    cid = created["id"]
    page = (await ana.get(f"/campaigns/{cid}/edit", headers=htmx(ana))).text
    assert f'<option value="leave_message">{label}</option>' in page
    assert f'<label for="f-voicemail_file">{heading}</label>' in page

    leave = {**form, "amd_on_machine": "leave_message"}
    r = await ana.post(f"/campaigns/{cid}", data=leave, headers=htmx(ana))
    assert shown_errors(r.text) == {"amd_on_machine": refusal}
    assert (await campaigns.get_campaign(SYSTEM, cid))["amd_params"] == {}

    files = {"voicemail_file": ("Oferta.wav", tone_wav(3.0), "audio/wav")}
    r = await ana.post(f"/campaigns/{cid}", data=leave, files=files, headers=htmx(ana))
    assert r.headers.get("HX-Redirect") == "/campaigns", r.text[:800]
    saved = await campaigns.get_campaign(SYSTEM, cid)
    assert saved["amd_params"] == {"on_machine": "leave_message"}
    assert saved["voicemail_message"]["filename"] == "Oferta.wav"
    page = (await ana.get(f"/campaigns/{cid}/edit", headers=htmx(ana))).text
    assert selected(page, "amd_on_machine") == "leave_message"
    assert f"/api/v1/campaigns/{cid}/voicemail-message/audio" in page


async def test_a_new_campaign_leaves_messages_from_its_first_save(app_client: ApiClient) -> None:
    """Add campaign with "Leave a message" and the recording chosen: one save creates
    the campaign, its voicemail message and the setting (it used to be refused as
    having no message, the file dropped with "choose it again"); a refused file still
    saves nothing."""
    from test_ui_campaign_amd import GOOD
    from test_ui_form_errors import browser_session, htmx, shown_errors

    from opendialer.core.services import campaigns

    group = await app_client.group("Sales")
    await app_client.user("campaign_admin", [group], username="ana")
    ana = await browser_session(app_client, "ana")
    leave = {**GOOD, "group_id": str(group), "amd_on_machine": "leave_message"}
    not_audio = {"voicemail_file": ("Oferta.wav", b"not a recording", "audio/wav")}
    r = await ana.post("/campaigns", data=leave, files=not_audio, headers=htmx(ana))
    assert set(shown_errors(r.text)) == {"voicemail_file"}, r.text[:800]
    assert (await campaigns.list_campaigns(SYSTEM))["items"] == []

    files = {"voicemail_file": ("Oferta.wav", tone_wav(3.0), "audio/wav")}
    r = await ana.post("/campaigns", data=leave, files=files, headers=htmx(ana))
    assert r.headers.get("HX-Redirect") == "/campaigns", shown_errors(r.text)
    (created,) = (await campaigns.list_campaigns(SYSTEM))["items"]
    saved = await campaigns.get_campaign(SYSTEM, created["id"])
    assert saved["amd_params"] == {"on_machine": "leave_message"}
    assert saved["voicemail_message"]["filename"] == "Oferta.wav"
    assert saved["voicemail_message"]["duration_ms"] == 3000


class SlotSpy:
    """One slot per campaign; notes, at each release, how many messages the simulator
    had finished leaving."""

    platform: Any = None
    releases: list[int] = []

    def __init__(self, options: Any = None, context: Any = None) -> None:
        self.held: set[str] = set()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def free_slots(self, request: Any) -> int:
        return 0 if self.held else 1

    def reserve(self, request: Any, call_id: str) -> None:
        self.held.add(call_id)

    def release(self, call_id: str, transferred: bool) -> None:
        self.held.discard(call_id)
        SlotSpy.releases.append(SlotSpy.platform.messages_left)

    def health(self, request: Any = None) -> Any:
        from opendialer.sdk import Health

        return Health(ok=True, detail="spy")


class SlotSpyPlugin:
    @hookimpl
    def register_routing_targets(self) -> Any:
        return {"slot_spy": SlotSpy}


async def test_the_agent_is_freed_at_the_verdict_not_after_the_message(db: Database) -> None:
    """A progressive call holds its agent from the launch; leaving a message keeps the
    call up for a minute, so the agent goes back at the MACHINE verdict."""
    pm = PluginManager().load_all()
    pm.register(SlotSpyPlugin(), name="slot_spy")
    cid, _, script = await amd_campaign(
        "155073",
        {"machine": 2},
        routing_target="slot_spy",
        amd_params={"on_machine": "leave_message"},
    )
    await _voicemail(cid)
    engine = make_engine(db, FakeClock(utc(2026, 3, 2, 10, 0)), pm=pm, script=script)
    SlotSpy.platform, SlotSpy.releases = engine.platform, []
    await engine.start(run_loop=False)
    try:
        await run_round(engine, rounds=2)
    finally:
        await engine.stop()
    assert [c["status"] for c in await records(cid)] == ["MESSAGE_LEFT", "MESSAGE_LEFT"]
    assert SlotSpy.releases == [0, 1]  # each before its own message was left
