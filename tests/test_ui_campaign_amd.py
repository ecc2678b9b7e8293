"""The campaign form's AMD settings: a preset, what each verdict does and the
detector's parameters, saved as the campaign's ``amd_params`` and shown back; a
mistake is shown at its field, in the user's language, and nothing is saved.

Runs the app in-process (``app_client``), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re

import pytest
from api_client import PASSWORD, ApiClient
from test_ui_form_errors import browser_session, htmx, shown_errors

from opendialer.core.services import campaigns, users
from opendialer.core.services.common import SYSTEM

GOOD = {
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


def selected(page: str, name: str) -> str:
    select = re.search(rf'<select id="f-{name}" name="{name}">(.*?)</select>', page, re.S)
    assert select, name
    chosen = re.findall(r'<option value="([^"]*)" selected>', select.group(1))
    return chosen[0] if chosen else ""


async def test_new_form_shows_the_defaults_and_the_strategys_presets(
    app_client: ApiClient,
) -> None:
    group = await app_client.group("Sales")
    await app_client.user("campaign_admin", [group], username="ana")
    ana = await browser_session(app_client, "ana")
    page = (await ana.get("/campaigns/new", headers=htmx(ana))).text
    assert selected(page, "amd_preset") == ""
    assert re.findall(
        r'<option value="(\w+)"', page.split('name="amd_preset"')[1].split("</select>")[0]
    ) == ["accurate", "fast"]
    assert [selected(page, f"amd_on_{v}") for v in ("machine", "fax", "silence", "notsure")] == [
        "hangup",
        "hangup",
        "hangup",
        "transfer",
    ]
    assert re.search(r'<textarea id="f-amd_params" name="amd_params"[^>]*></textarea>', page)


PRESET_WORDS = {
    "es": ["Preciso (espera el pitido)", "Rápido (decide pronto, 5 s como máximo)"],
    "pt_BR": ["Preciso (espera o bipe)", "Rápido (decide cedo, 5 s no máximo)"],
}


@pytest.mark.parametrize("language", sorted(PRESET_WORDS))
async def test_the_presets_are_named_in_the_users_language(
    app_client: ApiClient, language: str
) -> None:
    """The strategy's preset names (``fast``, ``accurate``) stay the stored values;
    the form and the Summary show them in words of the user's language, not English."""
    group = await app_client.group("Sales")
    await app_client.user("campaign_admin", [group], username="ana")
    await users.set_language(await users.authenticate("ana", PASSWORD), language)
    ana = await browser_session(app_client, "ana")
    page = (await ana.get("/campaigns/new", headers=htmx(ana))).text
    options = page.split('name="amd_preset"')[1].split("</select>")[0]
    assert re.findall(r'<option value="(\w+)">([^<]*)</option>', options) == list(
        zip(["accurate", "fast"], PRESET_WORDS[language], strict=True)
    )
    form = {**GOOD, "group_id": str(group), "amd_preset": "fast"}
    assert (await ana.post("/campaigns", data=form, headers=htmx(ana))).headers["HX-Redirect"]
    (created,) = (await campaigns.list_campaigns(SYSTEM))["items"]
    summary = (await ana.get(f"/campaigns/{created['id']}/summary")).text
    amd_line = summary.split('id="summary-amd">')[1].split("</dd>")[0]
    assert PRESET_WORDS[language][1] in amd_line and "fast" not in amd_line


async def test_settings_are_saved_as_amd_params_and_shown_back(app_client: ApiClient) -> None:
    group = await app_client.group("Sales")
    await app_client.user("campaign_admin", [group], username="ana")
    ana = await browser_session(app_client, "ana")
    form = {
        **GOOD,
        "group_id": str(group),
        "amd_preset": "accurate",
        "amd_on_machine": "hangup",
        "amd_on_fax": "hangup",
        "amd_on_silence": "transfer",
        "amd_on_notsure": "hangup",
        "amd_params": "greeting_ms=4200\r\n afterGreetingSilence = 700 \r\n\r\n",
    }
    r = await ana.post("/campaigns", data=form, headers=htmx(ana))
    assert r.headers.get("HX-Redirect") == "/campaigns", r.text[:800]
    (saved,) = (await campaigns.list_campaigns(SYSTEM))["items"]
    # only what differs from the defaults is stored
    assert saved["amd_params"] == {
        "greeting_ms": 4200,
        "afterGreetingSilence": 700,
        "preset": "accurate",
        "on_silence": "transfer",
        "on_notsure": "hangup",
    }
    page = (await ana.get(f"/campaigns/{saved['id']}/edit", headers=htmx(ana))).text
    assert selected(page, "amd_preset") == "accurate"
    assert selected(page, "amd_on_silence") == "transfer"
    assert selected(page, "amd_on_notsure") == "hangup"
    assert selected(page, "amd_on_machine") == "hangup"
    assert ">greeting_ms=4200\nafterGreetingSilence=700</textarea>" in page
    # saving the edit form unchanged keeps the settings
    form["amd_params"] = "greeting_ms=4200\nafterGreetingSilence=700"
    r = await ana.post(f"/campaigns/{saved['id']}", data=form, headers=htmx(ana))
    assert r.headers.get("HX-Redirect") == "/campaigns", r.text[:800]
    again = await campaigns.get_campaign(SYSTEM, saved["id"])
    assert again["amd_params"] == saved["amd_params"]


@pytest.mark.parametrize(
    "language, messages",
    [
        (
            "en",
            {
                "amd_params": "greting_ms is not an AMD parameter (the names are in docs/amd.md).",
                "amd_on_fax": "Choose hang up or transfer.",
            },
        ),
        (
            "pt_BR",
            {
                "amd_params": "greting_ms não é um parâmetro de AMD (os nomes estão em docs/amd.md).",
                "amd_on_fax": "Escolha desligar ou transferir.",
            },
        ),
    ],
)
async def test_a_mistake_is_shown_at_its_field_and_nothing_is_saved(
    app_client: ApiClient, language: str, messages: dict[str, str]
) -> None:
    group = await app_client.group("Sales")
    await app_client.user("campaign_admin", [group], username="ana")
    await users.set_language(await users.authenticate("ana", PASSWORD), language)
    ana = await browser_session(app_client, "ana")
    for field, typed in (("amd_params", "greting_ms=3000"), ("amd_on_fax", "drop")):
        form = {**GOOD, "group_id": str(group), field: typed}
        r = await ana.post("/campaigns", data=form, headers=htmx(ana))
        assert r.status_code == 200 and "HX-Redirect" not in r.headers
        assert shown_errors(r.text) == {field: messages[field]}
        assert (await campaigns.list_campaigns(SYSTEM))["total"] == 0
    form = {**GOOD, "group_id": str(group), "amd_params": "greeting_ms=1"}
    r = await ana.post("/campaigns", data=form, headers=htmx(ana))
    errors = shown_errors(r.text)
    assert list(errors) == ["amd_params"] and "500" in errors["amd_params"]
    assert ">greeting_ms=1</textarea>" in r.text  # what was typed stays
