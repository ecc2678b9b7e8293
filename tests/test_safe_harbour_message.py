"""A campaign's safe-harbour message over /api/v1/campaigns/{id}/safe-harbour-message:
a WAV or MP3 is stored as 8 kHz mono G.711 µ-law of the right length and sound, played
back as a WAV, replaced and deleted; every bad file is a 422 naming what is wrong and
leaves the old message as it was; who may do what. On SQLite and PostgreSQL."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from api_client import ApiClient
from safe_harbour_audio import main_frequency, read_wav, tone, tone_mp3, tone_wav, wav_bytes
from test_api_campaigns import admin_and_group, campaign_body, give_leads

from opendialer.core.services import message_audio
from opendialer.core.storage.tables import CampaignMessage
from opendialer.plugins.platform_sip import g711

pytestmark = pytest.mark.pg

PATH = "/api/v1/campaigns/{}/safe-harbour-message"


async def new_campaign(app_client: ApiClient, name: str = "Black Friday") -> tuple[Any, int, int]:
    admin, group = await admin_and_group(app_client)
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group, name))
    assert r.status_code == 201, r.text
    return admin, group, r.json()["id"]


async def put_file(client: Any, cid: int, data: bytes, name: str = "message.wav") -> Any:
    return await client.put(PATH.format(cid), files={"file": (name, data, "audio/wav")})


async def stored(cid: int) -> dict[str, Any] | None:
    row = await CampaignMessage.select().where(CampaignMessage.campaign == cid).first().run()
    if row is not None:
        row["audio"] = bytes(row["audio"])
    return row


def level_dbfs(pcm: np.ndarray) -> float:
    return 20 * math.log10(float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) / 32768)


async def test_a_16khz_stereo_wav_is_stored_as_8khz_ulaw_and_played_back(
    app_client: ApiClient,
) -> None:
    admin, _, cid = await new_campaign(app_client)
    r = await put_file(admin, cid, tone_wav(3.0, 16000, channels=2), "Aviso legal.wav")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["filename"] == "Aviso legal.wav" and body["duration_ms"] == 3000
    assert (body["kind"], body["encoding"], body["sample_rate"]) == (
        "safe_harbour",
        "G.711 µ-law",
        8000,
    )
    row = await stored(cid)
    assert row is not None and row["kind"] == "safe_harbour" and row["duration_ms"] == 3000
    assert len(row["audio"]) == 3 * 8000  # one byte per 8 kHz sample
    pcm = g711.decode(row["audio"], g711.PCMU)  # what the SIP platform will play
    assert abs(main_frequency(pcm, 8000) - 1000) < 5
    # a sine at half of full scale: -9 dBFS RMS, kept through mixing and µ-law
    assert abs(level_dbfs(pcm[800:-800]) - (20 * math.log10(0.5 / math.sqrt(2)))) < 0.5
    campaign = (await admin.get(f"/api/v1/campaigns/{cid}")).json()
    assert campaign["safe_harbour_message"] == body
    r = await admin.get(PATH.format(cid))
    assert r.status_code == 200 and r.json() == body, r.text
    r = await admin.get(PATH.format(cid) + "/audio")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav"
    rate, channels, width, played = read_wav(r.content)
    assert (rate, channels, width, played.size) == (8000, 1, 2, 24000)
    assert np.array_equal(played, pcm)


async def test_an_mp3_is_decoded_and_stored(app_client: ApiClient) -> None:
    admin, _, cid = await new_campaign(app_client)
    r = await admin.put(
        PATH.format(cid), files={"file": ("offer.mp3", tone_mp3(2.5, hz=700), "audio/mpeg")}
    )
    assert r.status_code == 200, r.text
    assert r.json()["filename"] == "offer.mp3"
    assert 2500 <= r.json()["duration_ms"] <= 2600  # with the encoder's delay and padding
    row = await stored(cid)
    assert row is not None
    assert abs(main_frequency(g711.decode(row["audio"], g711.PCMU), 8000) - 700) < 5


async def test_a_raw_body_upload_and_a_replacement(app_client: ApiClient) -> None:
    admin, _, cid = await new_campaign(app_client)
    r = await admin.put(
        PATH.format(cid) + "?filename=first.wav",
        content=tone_wav(2.0, 8000),
        headers={"Content-Type": "audio/wav"},
    )
    assert r.status_code == 200 and r.json()["filename"] == "first.wav", r.text
    first = await stored(cid)
    r = await put_file(admin, cid, tone_wav(4.0, 44100, hz=440), "C:\\fakepath\\second.wav")
    assert r.status_code == 200, r.text
    assert (r.json()["filename"], r.json()["duration_ms"]) == ("second.wav", 4000)
    second = await stored(cid)
    assert first is not None and second is not None
    assert len(second["audio"]) == 32000 and second["audio"] != first["audio"]
    assert await CampaignMessage.count().where(CampaignMessage.campaign == cid).run() == 1


async def test_the_telephone_band_is_kept_and_nothing_above_it_folds_back(
    app_client: ApiClient,
) -> None:
    """44.1 kHz → 8 kHz: a 6 kHz tone must not fold back to 2 kHz (8 - 6) in the message."""
    admin, _, cid = await new_campaign(app_client)
    mixed = tone(3.0, 44100, hz=1000, level=0.3) + tone(3.0, 44100, hz=6000, level=0.3)
    r = await put_file(admin, cid, wav_bytes(mixed, 44100))
    assert r.status_code == 200, r.text
    row = await stored(cid)
    assert row is not None
    pcm = g711.decode(row["audio"], g711.PCMU).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(pcm.size)))

    def at(hz: float) -> float:
        index = round(hz * pcm.size / 8000)
        return float(spectrum[index - 3 : index + 4].max())

    assert 20 * math.log10(at(2000) / at(1000)) < -40  # µ-law's own noise is about -38 dB


def corrupt_mp3() -> bytes:
    good = tone_mp3(2.0)
    frames_start = good.find(b"\xff\xf3")
    return good[: frames_start + 4] + bytes(range(256)) * 40


REFUSED = [
    ("empty", b"", "safe_harbour.empty"),
    ("text", b"Hello, this is not a recording.\n" * 20, "safe_harbour.not_audio"),
    ("flac", b"fLaC" + bytes(2000), "safe_harbour.not_audio"),
    ("corrupt mp3", corrupt_mp3(), "safe_harbour.unreadable"),
    (
        "id3 and nothing",
        b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(3000),
        "safe_harbour.unreadable",
    ),
    ("broken wav", b"RIFF\x24\x00\x00\x00WAVEjunkjunkjunk", "safe_harbour.unreadable"),
    ("too short", tone_wav(0.5), "safe_harbour.too_short"),
    ("too long", tone_wav(31.0, 8000), "safe_harbour.too_long"),
    ("too long mp3", tone_mp3(40.0, 22050, 1), "safe_harbour.too_long"),
    # 2 MB of "MP3" is over 30 s even at 320 kbit/s: refused before any decoding
    ("huge mp3", b"\xff\xfb\x90\x00" + bytes(2_000_000), "safe_harbour.too_long"),
    ("digital silence", wav_bytes(np.zeros(24000, np.int16), 8000), "safe_harbour.silent"),
    ("hum at -55 dBFS", tone_wav(3.0, level=0.0025), "safe_harbour.silent"),
]


@pytest.mark.parametrize(("data", "code"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
async def test_a_bad_file_is_refused_with_its_code_and_the_old_message_stays(
    app_client: ApiClient, data: bytes, code: str
) -> None:
    admin, _, cid = await new_campaign(app_client)
    assert (await put_file(admin, cid, tone_wav(2.0), "keep.wav")).status_code == 200
    before = await stored(cid)
    r = await put_file(admin, cid, data, "bad.wav")
    assert r.status_code == 422, r.text
    assert (r.json()["code"], r.json()["field"]) == (code, "file"), r.text
    assert await stored(cid) == before
    other_admin, _, empty = await new_campaign(app_client, "Empty")
    r = await put_file(other_admin, empty, data)
    assert r.json()["code"] == code and await stored(empty) is None


async def test_wrong_uploads_are_refused_before_any_decoding(app_client: ApiClient) -> None:
    admin, _, cid = await new_campaign(app_client)
    r = await admin.put(PATH.format(cid), content=b"x", headers={"Content-Type": "text/plain"})
    assert (r.status_code, r.json()["code"]) == (415, "safe_harbour.unsupported_upload"), r.text
    r = await admin.put(PATH.format(cid), data={"note": "no file"}, files={"x": ("", b"")})
    assert r.status_code == 422, r.text
    big = bytes(message_audio.MAX_UPLOAD_BYTES + 100 * 1024)
    r = await admin.put(PATH.format(cid), content=big, headers={"Content-Type": "audio/wav"})
    assert r.status_code == 413, r.text[:300]
    assert await stored(cid) is None


async def test_delete_and_not_found(app_client: ApiClient) -> None:
    admin, _, cid = await new_campaign(app_client)
    r = await admin.get(PATH.format(cid))
    assert (r.status_code, r.json()["code"]) == (404, "safe_harbour.not_found"), r.text
    assert (await admin.get(PATH.format(cid) + "/audio")).status_code == 404
    assert (await admin.delete(PATH.format(cid))).status_code == 404
    assert (await put_file(admin, cid, tone_wav(2.0))).status_code == 200
    assert (await admin.delete(PATH.format(cid))).status_code == 204
    assert await stored(cid) is None
    assert (await admin.get(f"/api/v1/campaigns/{cid}")).json()["safe_harbour_message"] is None
    assert (await put_file(admin, cid, tone_wav(2.0))).status_code == 200
    assert (await admin.delete(f"/api/v1/campaigns/{cid}")).status_code == 204
    assert await stored(cid) is None  # gone with its campaign


async def test_supervisors_listen_and_a_started_campaign_keeps_its_message(
    app_client: ApiClient,
) -> None:
    admin, group, cid = await new_campaign(app_client)
    supervisor = await app_client.login_as("campaign_supervisor", [group])
    assert (await put_file(supervisor, cid, tone_wav(2.0))).status_code == 403
    assert (await put_file(admin, cid, tone_wav(2.0))).status_code == 200
    assert (await supervisor.get(PATH.format(cid))).status_code == 200
    r = await supervisor.get(PATH.format(cid) + "/audio")
    assert r.status_code == 200 and r.content[:4] == b"RIFF", r.text[:200]
    assert (await supervisor.delete(PATH.format(cid))).status_code == 403
    await give_leads(admin, cid)
    assert (await admin.post(f"/api/v1/campaigns/{cid}/start")).status_code == 200
    before = await stored(cid)
    r = await put_file(admin, cid, tone_wav(3.0))
    assert (r.status_code, r.json()["error"]) == (409, "campaign_started"), r.text
    assert (await admin.delete(PATH.format(cid))).status_code == 409
    assert await stored(cid) == before


def test_the_ulaw_tables_agree_with_the_sip_platforms() -> None:
    every = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)
    assert message_audio.ulaw_encode(every) == g711.encode(every, g711.PCMU)
    codes = bytes(range(256))
    assert np.array_equal(message_audio.ulaw_decode(codes), g711.decode(codes, g711.PCMU))
