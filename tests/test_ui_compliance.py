"""The Compliance page of a campaign (issue 18), through the HTML forms: a preset fills
the form without saving, Save stores it and says what the campaign's settings became,
a looser value makes it custom and names it, bad values are shown next to their fields
with everything typed kept, a Supervisor reads it; in en, pt_BR and es."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from api_client import PASSWORD, ApiClient

from opendialer.core.services import campaigns, compliance_policy
from opendialer.core.services.common import SYSTEM


async def _browser(app: ApiClient, username: str, language: str) -> httpx.AsyncClient:
    client: httpx.AsyncClient = app.client()
    if language != "en":
        await client.get(f"/login?lang={language}")
    r = await client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return client


async def _campaign(group: int) -> int:
    body = {
        "name": "Anatel",
        "group_id": group,
        "start_date": "2030-01-07",
        "end_date": "2030-01-11",
        "start_time": "09:00",
        "end_time": "18:00",
        "pilot_number": "4000",
        "timezone": "America/Sao_Paulo",
        "no_answer_timeout_s": 10,
    }
    return int((await campaigns.create_campaign(SYSTEM, body))["id"])


def _form(client: httpx.AsyncClient, **values: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"csrf_token": client.cookies["od_csrf"], "preset": "none"}
    for day in compliance_policy.WEEKDAYS:
        data[f"hours_{day}"] = ""
    data.update(values)
    return data


def _value(page: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
    assert found, name
    return found.group(1)


@pytest.mark.parametrize(
    ("language", "title", "saved"),
    [
        ("en", "Compliance policy of Anatel", "Saved: Brazil: Anatel"),
        ("pt_BR", "Política de conformidade de Anatel", "Salva: Brasil: Anatel"),
        ("es", "Política de cumplimiento de Anatel", "Guardada: Brasil: Anatel"),
    ],
)
async def test_a_preset_is_filled_in_then_saved_and_tightens_the_campaign(
    app_client: ApiClient, language: str, title: str, saved: str
) -> None:
    group = await app_client.group()
    await app_client.user("campaign_admin", [group], username="ana")
    cid = await _campaign(group)
    ana = await _browser(app_client, "ana", language)

    r = await ana.get(f"/campaigns/{cid}/compliance")
    assert r.status_code == 200, r.text
    assert title in r.text and 'id="menu-compliance"' in r.text

    # Choosing a preset fills its values in; nothing is saved yet.
    r = await ana.get(f"/campaigns/{cid}/compliance", params={"preset": "br_anatel"})
    page = r.text
    assert 'id="compliance-unsaved"' in page
    assert _value(page, "hours_mon") == "09:00-21:00"
    assert _value(page, "hours_sat") == "10:00-16:00"
    assert _value(page, "short_call_guard_pct") == "80"
    policy = (
        await (await app_client.login_as("campaign_admin", [group])).get(
            f"/api/v1/campaigns/{cid}/compliance"
        )
    ).json()
    assert policy["preset"] == "none"

    hours = {f"hours_{d}": "09:00-21:00" for d in ("mon", "tue", "wed", "thu", "fri")}
    data = _form(
        ana,
        preset="br_anatel",
        local_hours_on="1",
        hours_sat="10:00-16:00",
        short_call_guard_pct="80",
        caller_id_required="1",
        min_ring_seconds="15",
        **hours,
    )
    r = await ana.post(f"/campaigns/{cid}/compliance", data=data)
    assert r.status_code == 200, r.text
    assert saved in r.text, r.text
    # The campaign's 10 s no-answer timeout was raised to the 15 s the form asked.
    assert 'data-field="no_answer_timeout_s"' in r.text and "→ 15" in r.text
    assert 'id="compliance-loosened"' not in r.text  # tighter than the preset: still it
    assert (await campaigns.get_campaign(SYSTEM, cid))["no_answer_timeout_s"] == 15


async def test_a_looser_value_makes_it_custom_and_bad_values_are_shown_by_field(
    app_client: ApiClient,
) -> None:
    group = await app_client.group()
    await app_client.user("campaign_admin", [group], username="bia")
    cid = await _campaign(group)
    bia = await _browser(app_client, "bia", "pt_BR")

    hours = {f"hours_{d}": "08:00-22:00" for d in compliance_policy.WEEKDAYS}
    r = await bia.post(
        f"/campaigns/{cid}/compliance",
        data=_form(bia, preset="us_tsr", local_hours_on="1", caller_id_required="1", **hours),
    )
    assert r.status_code == 200, r.text
    assert 'id="compliance-loosened"' in r.text
    assert "Horários de chamada no horário local do lead" in r.text  # the loosened field
    assert "Salva: Personalizada" in r.text

    bad = _form(
        bia,
        preset="custom",
        local_hours_on="1",
        hours_mon="21:00-08:00",
        holiday_calendars="BR, XX",
        max_attempts_per_day="muitos",
    )
    r = await bia.post(f"/campaigns/{cid}/compliance", data=bad)
    assert r.status_code == 200, r.text
    assert "Escreva os horários como 08:00-21:00" in r.text
    assert "não é um calendário de feriados" in r.text
    assert "Deixe vazio (sem limite)" in r.text
    # What was typed is kept, and nothing was saved.
    assert _value(r.text, "hours_mon") == "21:00-08:00"
    assert _value(r.text, "max_attempts_per_day") == "muitos"
    stored = await campaigns.get_campaign(SYSTEM, cid)
    assert stored["compliance_preset"] == "custom"


async def test_a_supervisor_reads_the_policy_without_a_save_button(
    app_client: ApiClient,
) -> None:
    group = await app_client.group()
    await app_client.user("campaign_supervisor", [group], username="caio")
    cid = await _campaign(group)
    caio = await _browser(app_client, "caio", "es")
    r = await caio.get(f"/campaigns/{cid}/compliance")
    assert r.status_code == 200, r.text
    assert "Política de cumplimiento de Anatel" in r.text
    assert 'id="save-compliance"' not in r.text and "<fieldset disabled>" in r.text
    r = await caio.post(f"/campaigns/{cid}/compliance", data=_form(caio, preset="us_tsr"))
    assert r.status_code == 403, r.text


async def test_the_schedule_shows_the_days_its_holidays_skip(app_client: ApiClient) -> None:
    group = await app_client.group()
    await app_client.user("campaign_admin", [group], username="duda")
    body = {
        "name": "Natal",
        "group_id": group,
        "start_date": "2030-12-23",
        "end_date": "2030-12-27",
        "start_time": "09:00",
        "end_time": "18:00",
        "pilot_number": "4000",
        "timezone": "America/Sao_Paulo",
    }
    cid = int((await campaigns.create_campaign(SYSTEM, body))["id"])
    duda = await _browser(app_client, "duda", "pt_BR")
    r = await duda.post(
        f"/campaigns/{cid}/compliance",
        data=_form(duda, preset="custom", holiday_calendars="BR", holiday_dates="2030-12-24"),
    )
    assert r.status_code == 200, r.text
    page = (await duda.get(f"/campaigns/{cid}/schedules")).text
    rows = dict(re.findall(r'<tr data-date="([\d-]+)">(.*?)</tr>', page, re.S))
    assert "Sem chamadas: folga da campanha" in rows["2030-12-24"]
    assert "Sem chamadas: Natal (BR)" in rows["2030-12-25"], rows["2030-12-25"]
    assert "skipped-day" not in rows["2030-12-23"] and "skipped-day" not in rows["2030-12-26"]


async def test_the_lead_list_shows_each_leads_time_zone(app_client: ApiClient) -> None:
    group = await app_client.group()
    await app_client.user("campaign_admin", [group], username="eva")
    cid = await _campaign(group)
    eva = await _browser(app_client, "eva", "es")
    admin = await app_client.login_as("campaign_admin", [group])
    r = await admin.post(
        f"/api/v1/campaigns/{cid}/leads",
        content=b"Ana,5592991234567\nBia,+44 20 7946 0018\n",
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    page = (await eva.get(f"/campaigns/{cid}/leads")).text
    zones = re.findall(r'<td class="lead-zone" title="([^"]*)">([^<]*)</td>', page)
    assert ("Del código de área del número", "America/Manaus") in zones, zones
    assert any("Europe/London" in zone for _, zone in zones), zones
