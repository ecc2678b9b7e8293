"""The Summary page's pacing card, in English, Portuguese and Spanish, from the rows the
engine and the calls leave behind (``pacing_decision``, ``call_record``): the dial level,
the last decision, the agents' occupancy, the abandon rate in the campaign's window
against its target — or why no engine is pacing the campaign (stopped, starting, no
engine running, engines that pace nothing) — and the warning of an over-dialing
campaign without a safe-harbour message; the message's player."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from api_client import ApiClient
from pacing_support import over_dialing_modes  # noqa: F401  (fixture)
from safe_harbour_audio import tone_wav
from test_api_campaigns import campaign_body, give_leads
from test_api_pacing_summary import calls, decision, dialing_today, engine, started_ago
from test_phones import browser_session

from opendialer.core.storage.tables import EngineNode

pytestmark = [pytest.mark.pg, pytest.mark.usefixtures("over_dialing_modes")]

SHOWN = {
    "en": {
        "mode": "Predictive: lines adapt to keep abandons under the target",
        "level": "2.5 lines per agent · 2 engines",
        "reason": "Held back: the abandon rate is at its target. · 6 calls launched",
        "occupancy": "90%",
        "abandon": (
            "1.8% of 1,204 live-answered calls in the last 30 days — target 3% · 22 abandoned"
        ),
        "warning": "This campaign over-dials and has no safe-harbour message",
        "idle": "No engine is pacing this campaign.",
    },
    "pt_BR": {
        "mode": "Preditivo: as linhas se ajustam para manter os abandonos abaixo da meta",
        "level": "2,5 linhas por agente · 2 motores",
        "reason": "Contido: a taxa de abandono está na meta. · 6 chamadas lançadas",
        "occupancy": "90%",
        "abandon": (
            "1,8% de 1.204 chamadas atendidas por uma pessoa nos últimos 30 dias — meta 3% "
            "· 22 abandonadas"
        ),
        "warning": "Esta campanha disca mais linhas que agentes e não tem mensagem de abandono",
        "idle": "Nenhum motor está discando esta campanha.",
    },
    "es": {
        "mode": "Predictivo: las líneas se ajustan para mantener los abandonos bajo el objetivo",
        "level": "2,5 líneas por agente · 2 motores",
        "reason": "Contenido: la tasa de abandono está en su objetivo. · 6 llamadas lanzadas",
        "occupancy": "90%",
        "abandon": (
            "1,8% de 1.204 llamadas atendidas por una persona en los últimos 30 días — "
            "objetivo 3% · 22 abandonadas"
        ),
        "warning": "Esta campaña marca más líneas que agentes y no tiene mensaje de abandono",
        "idle": "Ningún motor está marcando esta campaña.",
    },
}


def card(page: str) -> dict[str, str]:
    """``{dd id: its text}`` of the pacing card, whitespace folded."""
    found = re.search(
        r'<div class="card pacing-card" id="summary-pacing"[^>]*>(.*?)</dl>', page, re.S
    )
    assert found, page[:2000]
    items = re.findall(r'<dd id="pacing-([\w-]+)"[^>]*>(.*?)</dd>', found.group(1), re.S)
    return {
        key: " ".join(html.unescape(re.sub(r"<[^>]+>", "", value)).split()) for key, value in items
    }


async def campaign_with_history(app_client: ApiClient, language: str) -> tuple[Any, Any, int]:
    group = await app_client.group("Sales")
    admin = await app_client.login_as("campaign_admin", [group], username="ana")
    await app_client.user("campaign_supervisor", [group], username="sara")
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group, pacing_mode="predictive"))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    await give_leads(admin, cid)
    await calls(cid, 1182)
    await calls(cid, 22, disposition="abandoned", status="ABANDONED")
    await calls(cid, 40, ended_days_ago=45, disposition="abandoned", status="ABANDONED")
    return admin, await browser_session(app_client, "sara", language), cid


@pytest.mark.parametrize("language", ["en", "pt_BR", "es"])
async def test_the_summary_shows_how_the_campaign_is_paced(
    app_client: ApiClient, language: str
) -> None:
    _, sara, cid = await campaign_with_history(app_client, language)
    await decision(cid, "node-a", 2, dial_level=2.0, launched=4, occupancy=0.9, reason="predictive")
    await decision(cid, "node-b", 1, dial_level=3.0, launched=2, reason="abandon_budget")
    await decision(cid, "node-old", 300, dial_level=5.0, launched=7, reason="max_lines")
    said = SHOWN[language]
    page = (await sara.get(f"/campaigns/{cid}/summary")).text  # a supervisor reads it
    assert card(page) == {
        "mode": said["mode"],
        "dial-level": said["level"],
        "reason": said["reason"],
        "occupancy": said["occupancy"],
        "abandon": said["abandon"],
    }
    assert said["warning"] in html.unescape(page)
    assert 'id="summary-safe-harbour"' not in page
    # the part htmx polls while the campaign runs says the same
    panel = (await sara.get(f"/campaigns/{cid}/summary/panel")).text
    assert card(panel) == card(page)


@pytest.mark.parametrize("language", ["en", "pt_BR", "es"])
async def test_without_a_fresh_decision_no_engine_is_pacing(
    app_client: ApiClient, language: str
) -> None:
    _, sara, cid = await campaign_with_history(app_client, language)
    await decision(cid, "node-old", 120, dial_level=2.0, reason="predictive")
    shown = card((await sara.get(f"/campaigns/{cid}/summary")).text)
    assert shown["dial-level"] == SHOWN[language]["idle"]
    assert "reason" not in shown and "occupancy" not in shown
    assert shown["abandon"] == SHOWN[language]["abandon"]  # counted without any engine


async def test_an_unknown_reason_is_shown_in_the_engines_words_and_the_message_is_played(
    app_client: ApiClient,
) -> None:
    admin, sara, cid = await campaign_with_history(app_client, "en")
    await decision(
        cid,
        "node-a",
        1,
        dial_level=1.2,
        reason="warming_up",
        detail="a plugin's own reason",
        occupancy=None,
    )
    r = await admin.put(
        f"/api/v1/campaigns/{cid}/safe-harbour-message",
        files={"file": ("notice.wav", tone_wav(3.5), "audio/wav")},
    )
    assert r.status_code == 200, r.text
    page = (await sara.get(f"/campaigns/{cid}/summary")).text
    shown = card(page)
    assert shown["reason"] == "a plugin's own reason · 0 calls launched"
    assert '<span lang="en">a plugin&#39;s own reason</span>' in page
    assert shown["occupancy"] == (
        "Unknown: the contact center tells only how many agents are free."
    )
    assert "has no safe-harbour message" not in page
    player = re.search(r'<div class="card" id="summary-safe-harbour">(.*?)</div>', page, re.S)
    assert player is not None
    assert "notice.wav" in player.group(1) and "3.5 s" in player.group(1)
    assert f'src="/api/v1/campaigns/{cid}/safe-harbour-message/audio"' in player.group(1)


@pytest.mark.parametrize(
    ("language", "label", "unknown", "reason"),
    [
        (
            "es",
            "Ocupación de los canales del IVR",
            "Desconocida: el marcador solo sabe cuántos canales del IVR están libres.",
            "Una llamada por canal del IVR libre.",
        ),
        (
            "pt_BR",
            "Ocupação dos canais do IVR",
            "Desconhecida: o discador sabe apenas quantos canais do IVR estão livres.",
            "Uma chamada por canal do IVR livre.",
        ),
    ],
)
async def test_an_ivr_campaign_has_channels_not_a_contact_centers_agents(
    app_client: ApiClient, language: str, label: str, unknown: str, reason: str
) -> None:
    """An IVR campaign's pacing card speaks of the IVR's channels: it used to say the
    contact center tells only how many agents are free, of a campaign without one."""
    group = await app_client.group("Sales")
    admin = await app_client.login_as("campaign_admin", [group], username="ana")
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group, type="IVR"))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    await app_client.user("campaign_supervisor", [group], username="sara")
    sara = await browser_session(app_client, "sara", language)
    await decision(cid, "node-a", 1, dial_level=1.0, reason="progressive", occupancy=None)
    page = html.unescape((await sara.get(f"/campaigns/{cid}/summary")).text)
    assert card(page)["occupancy"] == unknown
    assert f"<dt>{label}</dt>" in page and "centro de contact" not in page
    assert card(page)["reason"].startswith(reason)  # the last decision: channels too
    assert "agente" not in card(page)["reason"]


UNPACED = {
    "en": {
        "starting": "Starting: waiting for an engine to take this campaign.",
        "not_paced": (
            "No engine is pacing this campaign, though 2 engines are running: their logs "
            "say why. (ask a Master: System → Diagnostics)"
        ),
        "no_engine": (
            "No engine is running: start one with opendialer serve. "
            "(ask a Master: System → Diagnostics)"
        ),
    },
    "pt_BR": {
        "starting": "Iniciando: aguardando um motor assumir esta campanha.",
        "not_paced": (
            "Nenhum motor está discando esta campanha, embora 2 motores estejam em execução: "
            "os logs deles dizem por quê. (peça a um Master: Sistema → Diagnóstico)"
        ),
        "no_engine": (
            "Nenhum motor está em execução: inicie um com opendialer serve. "
            "(peça a um Master: Sistema → Diagnóstico)"
        ),
    },
    "es": {
        "starting": "Iniciando: esperando que un motor tome esta campaña.",
        "not_paced": (
            "Ningún motor está marcando esta campaña, aunque 2 motores están en ejecución: "
            "sus registros dicen por qué. (pida a un Master: Sistema → Diagnóstico)"
        ),
        "no_engine": (
            "Ningún motor está en ejecución: inicie uno con opendialer serve. "
            "(pida a un Master: Sistema → Diagnóstico)"
        ),
    },
}


@pytest.mark.parametrize("language", ["en", "pt_BR", "es"])
async def test_a_started_campaign_no_engine_paces_yet_says_why(
    app_client: ApiClient, language: str
) -> None:
    """Just started, the card says the campaign is starting (it used to say no engine
    paces it while its state said dialing); later, engines that pace nothing are a
    fault, and no engine alive says how to start one."""
    await EngineNode.delete(force=True).run()
    admin, cid = await dialing_today(app_client)
    group = (await admin.get(f"/api/v1/campaigns/{cid}")).json()["group_id"]
    await app_client.user("campaign_supervisor", [group], username="sara")
    sara = await browser_session(app_client, "sara", language)
    said = UNPACED[language]

    async def shown() -> tuple[str, str]:
        page = (await sara.get(f"/campaigns/{cid}/summary/panel")).text
        status = re.search(r'data-pacing-status="(\w+)"', page)
        assert status is not None
        return status.group(1), card(page)["dial-level"]

    await engine("node-a")
    await engine("node-b")
    assert await shown() == ("starting", said["starting"])
    await started_ago(cid, 31)
    assert await shown() == ("not_paced", said["not_paced"])
    await EngineNode.delete(force=True).run()
    await engine("node-a", heard_s_ago=40)  # its heartbeat stopped: dead
    assert await shown() == ("no_engine", said["no_engine"])
    page = (await sara.get(f"/campaigns/{cid}/summary")).text
    assert '<code translate="no">opendialer serve</code>' in page
    assert 'class="bad"' in page.split('id="pacing-dial-level"')[1][:20]
