"""The campaign form's pacing settings and safe-harbour recording, through the HTML form
as a browser sends it (multipart, htmx headers), in English, Portuguese and Spanish:
the fields and their one-line explanations, the installed modes, what is saved and
shown back, each mistake at its field in the user's language with nothing saved, the
recording's upload, refusal, replacement, playback link and removal."""

from __future__ import annotations

import re
from typing import Any

import pytest
from api_client import ApiClient
from pacing_support import over_dialing_modes  # noqa: F401  (fixture)
from safe_harbour_audio import tone_wav
from test_phones import browser_session, htmx
from test_ui_form_errors import shown_errors

from opendialer.core.services import campaigns
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage.tables import CampaignMessage

pytestmark = [pytest.mark.pg, pytest.mark.usefixtures("over_dialing_modes")]

FORM = {
    "name": "Spring",
    "start_date": "2030-03-01",
    "end_date": "2030-03-10",
    "start_time": "09:00",
    "end_time": "17:00",
    "timezone": "UTC",
    "weekdays": ["mon", "tue"],
    "pilot_number": "4000",
    "max_attempts": "5",
    "retry_after_minutes": "60",
    "type": "OSCC",
    "amd_enabled": "1",
}
PACING = {
    "pacing_mode": "power",
    "lines_per_agent": "1,5",  # a decimal comma, as pt_BR and es write it
    "max_lines_per_agent": "2.5",
    "abandon_target_pct": "2",
    "abandon_window": "24h",
    "abandon_timeout_ms": "1800",
}
LABELS = {
    "en": ("Pacing mode", "Lines per agent", "Abandon target (%)", "Safe-harbour message"),
    "pt_BR": (
        "Modo de discagem",
        "Linhas por agente",
        "Meta de abandono (%)",
        "Mensagem de abandono",
    ),
    "es": (
        "Modo de marcación",
        "Líneas por agente",
        "Objetivo de abandono (%)",
        "Mensaje de abandono",
    ),
}


async def admin_browser(app_client: ApiClient, language: str = "en") -> tuple[Any, int]:
    group = await app_client.group("Sales")
    await app_client.user("campaign_admin", [group], username="ana")
    return await browser_session(app_client, "ana", language), group


def select_options(page: str, name: str) -> list[tuple[str, bool, bool]]:
    """(value, over-dials, selected) of each option of the select ``name``."""
    select = re.search(rf'<select id="f-{name}" name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select, name
    return [
        (value, "data-over-dials" in attrs, "selected" in attrs)
        for value, attrs in re.findall(r'<option value="([^"]*)"([^>]*)>', select.group(1))
    ]


def input_value(page: str, name: str) -> str:
    found = re.search(rf'<input id="f-{name}" name="{name}"[^>]*value="([^"]*)"', page)
    assert found, name
    return found.group(1)


async def only_campaign() -> dict[str, Any]:
    (campaign,) = (await campaigns.list_campaigns(SYSTEM))["items"]
    return campaign


@pytest.mark.parametrize("language", ["en", "pt_BR", "es"])
async def test_the_form_shows_the_pacing_fields_in_the_users_language(
    app_client: ApiClient, language: str
) -> None:
    ana, _ = await admin_browser(app_client, language)
    page = (await ana.get("/campaigns/new", headers=htmx(ana))).text
    for label in LABELS[language]:
        assert f">{label}</label>" in page, label
    assert "docs/pacing.md" in page  # the hint links the settings' documentation
    modes = select_options(page, "pacing_mode")
    assert modes[0] == ("progressive", False, True)  # the default, never abandons
    assert ("power", True, False) in modes and ("predictive", True, False) in modes
    assert [v for v, _, chosen in select_options(page, "abandon_window") if chosen] == ["30d"]
    assert input_value(page, "lines_per_agent") == "1.5"
    assert input_value(page, "abandon_timeout_ms") == "2000"
    # app.js shows these for the modes that use them; without it they all stay
    assert re.search(r'data-pacing-show="power">\s*<label for="f-lines_per_agent"', page)
    for name in ("abandon_target_pct", "abandon_timeout_ms", "max_lines_per_agent"):
        assert re.search(rf'data-pacing-show="over_dials">\s*<label for="f-{name}"', page), name
    assert 'id="safe-harbour-warning" data-pacing-show="over_dials"' in page
    assert 'name="safe_harbour_file" type="file"' in page
    assert 'hx-encoding="multipart/form-data"' in page


async def test_the_settings_are_saved_and_shown_back(app_client: ApiClient) -> None:
    ana, group = await admin_browser(app_client)
    r = await ana.post(
        "/campaigns", data={**FORM, **PACING, "group_id": str(group)}, headers=htmx(ana)
    )
    assert r.headers.get("HX-Redirect") == "/campaigns", r.text[:800]
    saved = await only_campaign()
    assert {k: saved[k] for k in PACING} == {
        "pacing_mode": "power",
        "lines_per_agent": 1.5,
        "max_lines_per_agent": 2.5,
        "abandon_target_pct": 2.0,
        "abandon_window": "24h",
        "abandon_timeout_ms": 1800,
    }
    page = (await ana.get(f"/campaigns/{saved['id']}/edit", headers=htmx(ana))).text
    assert [v for v, _, chosen in select_options(page, "pacing_mode") if chosen] == ["power"]
    assert [v for v, _, chosen in select_options(page, "abandon_window") if chosen] == ["24h"]
    assert input_value(page, "lines_per_agent") == "1.5"
    assert input_value(page, "abandon_timeout_ms") == "1800"
    # a form that does not send the pacing fields (an older page) keeps them
    r = await ana.post(
        f"/campaigns/{saved['id']}", data={**FORM, "group_id": str(group)}, headers=htmx(ana)
    )
    assert r.headers.get("HX-Redirect") == "/campaigns", r.text[:800]
    assert {k: (await only_campaign())[k] for k in PACING} == {k: saved[k] for k in PACING}


MISTAKES = {
    "pacing_mode": "power",
    "lines_per_agent": "abc",
    "max_lines_per_agent": "9",
    "abandon_target_pct": "12",
    "abandon_window": "7d",
    "abandon_timeout_ms": "100",
}
SAID = {
    "en": {
        "lines_per_agent": "Lines per agent: enter a number from 1 to 5 (for example 1.5).",
        "max_lines_per_agent": "Maximum lines per agent: enter a number from 1 to 5 (for example 3).",
        "abandon_target_pct": "Abandon target: enter a percentage from 0 to 10 (for example 3).",
        "abandon_window": "Choose the last 24 hours, the last 30 days or the whole campaign.",
        "abandon_timeout_ms": "Wait for an agent: enter a whole number of milliseconds from 500 to 10000.",
    },
    "pt_BR": {
        "lines_per_agent": "Linhas por agente: informe um número de 1 a 5 (por exemplo 1,5).",
        "max_lines_per_agent": "Máximo de linhas por agente: informe um número de 1 a 5 (por exemplo 3).",
        "abandon_target_pct": "Meta de abandono: informe uma porcentagem de 0 a 10 (por exemplo 3).",
        "abandon_window": "Escolha as últimas 24 horas, os últimos 30 dias ou a campanha inteira.",
        "abandon_timeout_ms": "Espera por um agente: informe um número inteiro de milissegundos de 500 a 10000.",
    },
    "es": {
        "lines_per_agent": "Líneas por agente: introduzca un número de 1 a 5 (por ejemplo 1,5).",
        "max_lines_per_agent": "Máximo de líneas por agente: introduzca un número de 1 a 5 (por ejemplo 3).",
        "abandon_target_pct": "Objetivo de abandono: introduzca un porcentaje de 0 a 10 (por ejemplo 3).",
        "abandon_window": "Elija las últimas 24 horas, los últimos 30 días o toda la campaña.",
        "abandon_timeout_ms": "Espera por un agente: introduzca un número entero de milisegundos de 500 a 10000.",
    },
}


@pytest.mark.parametrize("language", ["en", "pt_BR", "es"])
async def test_each_mistake_is_said_at_its_field_and_nothing_is_saved(
    app_client: ApiClient, language: str
) -> None:
    ana, group = await admin_browser(app_client, language)
    form = {**FORM, **MISTAKES, "group_id": str(group)}
    r = await ana.post("/campaigns", data=form, headers=htmx(ana))
    assert r.status_code == 200 and "HX-Redirect" not in r.headers, r.text[:500]
    assert shown_errors(r.text) == SAID[language]
    assert input_value(r.text, "lines_per_agent") == "abc"  # kept as typed
    assert (await campaigns.list_campaigns(SYSTEM))["total"] == 0
    r = await ana.post(
        "/campaigns", data={**form, **PACING, "pacing_mode": "turbo"}, headers=htmx(ana)
    )
    assert set(shown_errors(r.text)) == {"pacing_mode"}, shown_errors(r.text)


async def test_power_lines_above_the_maximum_are_refused(app_client: ApiClient) -> None:
    ana, group = await admin_browser(app_client, "pt_BR")
    form = {
        **FORM,
        **PACING,
        "lines_per_agent": "4",
        "max_lines_per_agent": "3",
        "group_id": str(group),
    }
    r = await ana.post("/campaigns", data=form, headers=htmx(ana))
    assert shown_errors(r.text) == {
        "lines_per_agent": (
            "As linhas por agente estão acima do máximo de linhas por agente, que sempre "
            "prevaleceria: diminua-as ou aumente o máximo."
        )
    }


async def stored_message(cid: int) -> dict[str, Any] | None:
    return (
        await CampaignMessage.select(
            CampaignMessage.filename, CampaignMessage.duration_ms, CampaignMessage.audio
        )
        .where(CampaignMessage.campaign == cid)
        .first()
        .run()
    )


async def test_the_recording_is_uploaded_with_the_form_shown_replaced_and_removed(
    app_client: ApiClient,
) -> None:
    ana, group = await admin_browser(app_client, "pt_BR")
    form = {**FORM, **PACING, "group_id": str(group)}
    files = {"safe_harbour_file": ("aviso.wav", tone_wav(4.2, 16000, channels=2), "audio/wav")}
    r = await ana.post("/campaigns", data=form, files=files, headers=htmx(ana))
    assert r.headers.get("HX-Redirect") == "/campaigns", r.text[:800]
    cid = (await only_campaign())["id"]
    message = await stored_message(cid)
    assert message is not None and (message["filename"], message["duration_ms"]) == (
        "aviso.wav",
        4200,
    )
    page = (await ana.get(f"/campaigns/{cid}/edit", headers=htmx(ana))).text
    current = re.search(r'<p id="safe-harbour-current">(.*?)</p>', page, re.S)
    assert current is not None, page
    assert "aviso.wav" in current.group(1) and "4,2 s" in current.group(1)
    audio_src = f"/api/v1/campaigns/{cid}/safe-harbour-message/audio"
    assert f'<audio controls preload="none" src="{audio_src}">' in current.group(1)
    assert 'id="safe-harbour-warning"' not in page
    played = await ana.get(audio_src)  # the page's session plays it
    assert played.status_code == 200 and played.content[:4] == b"RIFF", played.text[:200]
    # a bad file: said at the input, in the user's language; the old recording stays
    bad = {"safe_harbour_file": ("vazio.wav", b"", "audio/wav")}
    r = await ana.post(f"/campaigns/{cid}", data=form, files=bad, headers=htmx(ana))
    assert shown_errors(r.text) == {
        "safe_harbour_file": "O arquivo está vazio: escolha uma gravação WAV ou MP3."
    }
    assert (await stored_message(cid)) == message
    short = {"safe_harbour_file": ("curto.wav", tone_wav(0.4), "audio/wav")}
    r = await ana.post(
        f"/campaigns/{cid}", data={**form, "name": ""}, files=short, headers=htmx(ana)
    )
    assert shown_errors(r.text) == {
        "name": "Este campo é obrigatório.",
        "safe_harbour_file": "A mensagem é curta demais: deve durar pelo menos 1 s.",
    }
    # a good file with a mistake elsewhere: nothing is saved, and the page says why
    good = {"safe_harbour_file": ("novo.wav", tone_wav(2.0), "audio/wav")}
    r = await ana.post(
        f"/campaigns/{cid}", data={**form, "name": ""}, files=good, headers=htmx(ana)
    )
    assert shown_errors(r.text)["safe_harbour_file"] == (
        "A gravação não foi salva por causa dos erros acima: escolha-a de novo."
    )
    assert (await stored_message(cid)) == message
    r = await ana.post(f"/campaigns/{cid}", data=form, files=good, headers=htmx(ana))
    assert r.headers.get("HX-Redirect") == "/campaigns", r.text[:800]
    replaced = await stored_message(cid)
    assert replaced is not None and (replaced["filename"], replaced["duration_ms"]) == (
        "novo.wav",
        2000,
    )
    # saving without a file keeps it; ticking "remove" deletes it
    r = await ana.post(f"/campaigns/{cid}", data=form, headers=htmx(ana))
    assert (await stored_message(cid)) == replaced
    r = await ana.post(
        f"/campaigns/{cid}", data={**form, "safe_harbour_remove": "1"}, headers=htmx(ana)
    )
    assert r.headers.get("HX-Redirect") == "/campaigns", r.text[:800]
    assert await stored_message(cid) is None
    page = (await ana.get(f"/campaigns/{cid}/edit", headers=htmx(ana))).text
    assert 'id="safe-harbour-warning"' in page and 'id="safe-harbour-current"' not in page


async def test_a_bad_recording_on_a_new_campaign_creates_nothing(app_client: ApiClient) -> None:
    ana, group = await admin_browser(app_client, "es")
    form = {**FORM, "group_id": str(group)}
    files = {"safe_harbour_file": ("nota.txt", b"no es audio" * 10, "text/plain")}
    r = await ana.post("/campaigns", data=form, files=files, headers=htmx(ana))
    assert shown_errors(r.text) == {"safe_harbour_file": "Esto no es una grabación WAV o MP3."}
    assert (await campaigns.list_campaigns(SYSTEM))["total"] == 0
    assert await CampaignMessage.count().run() == 0


async def test_a_supervisor_cannot_upload_through_the_form(app_client: ApiClient) -> None:
    group = await app_client.group("Sales")
    await app_client.user("campaign_supervisor", [group], username="sara")
    created = await campaigns.create_campaign(
        SYSTEM,
        {
            **FORM,
            "group_id": group,
            "max_attempts": 5,
            "retry_after_minutes": 60,
            "amd_enabled": True,
        },
    )
    sara = await browser_session(app_client, "sara")
    files = {"safe_harbour_file": ("x.wav", tone_wav(0.2), "audio/wav")}
    r = await sara.post(f"/campaigns/{created['id']}", data=FORM, files=files, headers=htmx(sara))
    assert "HX-Redirect" not in r.headers
    assert "A Campaign Supervisor views campaigns" in r.text
    assert await CampaignMessage.count().run() == 0
