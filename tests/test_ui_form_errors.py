"""Every mistake of a form is shown at once, next to its field, in the user's language,
and the form keeps what was typed. Also: every form template has a place for the
error of each of its fields.

Runs the app in-process (``app_client``), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest
from api_client import PASSWORD, ApiClient

from opendialer.admin_ui.pages import campaigns as campaign_page
from opendialer.admin_ui.pages import dnc as dnc_page
from opendialer.admin_ui.pages import groups as group_page
from opendialer.admin_ui.pages import schedules as schedule_page
from opendialer.admin_ui.pages import users as user_page
from opendialer.core.services import campaigns, users
from opendialer.core.services.common import SYSTEM

TEMPLATES = Path(campaign_page.__file__).resolve().parent.parent / "templates"

#: The campaign form below, with seven mistakes.
BAD_CAMPAIGN = {
    "name": "",
    "description": "Spring sale",
    "start_date": "2030-03-10",
    "end_date": "2030-03-01",
    "start_time": "09:00",
    "end_time": "08:00",
    "timezone": "UTC",
    "pilot_number": "",
    "max_attempts": "0",
    "retry_after_minutes": "soon",
    "type": "OSCC",
    "queue": "sales-q",
}

#: field → what the user reads next to it, per language.
EXPECTED = {
    "en": {
        "name": "This field is required.",
        "end_date": "The end must come after the start.",
        "end_time": "The end must come after the start.",
        "weekdays": "Choose at least one weekday.",
        "pilot_number": "This field is required.",
        "max_attempts": "Max attempts must be a whole number from 1 to 100.",
        "retry_after_minutes": "Retry after must be a whole number of minutes from 1 to 1440.",
    },
    "pt_BR": {
        "name": "Este campo é obrigatório.",
        "end_date": "O fim deve ser depois do início.",
        "end_time": "O fim deve ser depois do início.",
        "weekdays": "Escolha pelo menos um dia da semana.",
        "pilot_number": "Este campo é obrigatório.",
        "max_attempts": "Máximo de tentativas deve ser um número inteiro de 1 a 100.",
        "retry_after_minutes": (
            "Tentar novamente após deve ser um número inteiro de minutos de 1 a 1440."
        ),
    },
    "es": {
        "name": "Este campo es obligatorio.",
        "end_date": "El fin debe ser posterior al inicio.",
        "end_time": "El fin debe ser posterior al inicio.",
        "weekdays": "Elija al menos un día de la semana.",
        "pilot_number": "Este campo es obligatorio.",
        "max_attempts": "El máximo de intentos debe ser un número entero de 1 a 100.",
        "retry_after_minutes": "Reintentar tras debe ser un número entero de minutos de 1 a 1440.",
    },
}


async def browser_session(app: ApiClient, username: str) -> httpx.AsyncClient:
    client: httpx.AsyncClient = app.client()
    r = await client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return client


def htmx(client: httpx.AsyncClient) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": client.cookies["od_csrf"]}


def shown_errors(page: str) -> dict[str, str]:
    """``{field: message}`` of every ``field_error`` in the page."""
    found = re.findall(r'<p class="field-error" id="err-([\w]+)" role="alert">([^<]*)</p>', page)
    return {field: html.unescape(message) for field, message in found}


@pytest.mark.parametrize("language", ["en", "pt_BR", "es"])
async def test_a_campaign_form_shows_every_mistake_next_to_its_field(
    app_client: ApiClient, language: str
) -> None:
    group = await app_client.group("Sales")
    await app_client.user("campaign_admin", [group], username="ana")
    await users.set_language(await users.authenticate("ana", PASSWORD), language)
    ana = await browser_session(app_client, "ana")
    r = await ana.post(
        "/campaigns", data={**BAD_CAMPAIGN, "group_id": str(group)}, headers=htmx(ana)
    )
    assert r.status_code == 200 and "HX-Redirect" not in r.headers, r.text[:500]
    assert shown_errors(r.text) == EXPECTED[language]
    assert '<div class="form-error"' not in r.text  # each one has its own field
    # What was typed stays, mistakes included.
    for name in ("description", "start_date", "end_date", "end_time", "queue"):
        assert f'value="{BAD_CAMPAIGN[name]}"' in r.text, name
    assert 'value="0"' in r.text and 'value="soon"' in r.text
    assert (await campaigns.list_campaigns(SYSTEM))["total"] == 0


async def test_an_edit_reports_every_mistake_and_skips_dependent_checks(
    app_client: ApiClient,
) -> None:
    group = await app_client.group("Sales")
    await app_client.user("campaign_admin", [group], username="ana")
    campaign = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Spring",
            "group_id": group,
            "start_date": "2030-01-01",
            "end_date": "2030-01-05",
            "start_time": "09:00",
            "end_time": "17:00",
            "pilot_number": "4000",
        },
    )
    ana = await browser_session(app_client, "ana")
    form = {
        **BAD_CAMPAIGN,
        "name": "Spring",
        "group_id": str(group),
        "start_date": "not-a-date",
        "end_date": "2030-01-05",
        "max_attempts": "5",
        "retry_after_minutes": "60",
        "pilot_number": "4000",
        "weekdays": ["mon"],
    }
    r = await ana.post(f"/campaigns/{campaign['id']}", data=form, headers=htmx(ana))
    # The range cannot be judged while its start is not a date: one error, on start_date.
    assert shown_errors(r.text) == {
        "start_date": "Enter a date as YYYY-MM-DD.",
        "end_time": "The end must come after the start.",
    }
    assert 'value="not-a-date"' in r.text


async def test_a_user_form_shows_every_mistake(app_client: ApiClient) -> None:
    await app_client.user("master", username="boss")
    await users.set_language(await users.authenticate("boss", PASSWORD), "es")
    boss = await browser_session(app_client, "boss")
    form = {
        "username": "x",
        "password": "short",
        "password_confirm": "other",
        "first_name": "Ana",
        "last_name": "nul\x00",
    }
    r = await boss.post("/users", data=form, headers=htmx(boss))
    errors = shown_errors(r.text)
    assert set(errors) == {"username", "role", "password", "password_confirm", "last_name"}
    assert errors["password_confirm"] == "Las contraseñas no coinciden."
    assert errors["role"] == "Elija un rol."
    assert "de 2 a 64 letras" in errors["username"]
    assert 'value="Ana"' in r.text and 'value="x"' in r.text
    # Editing: the password is checked with the other fields, before anything is saved.
    group = await app_client.group()
    ana = await app_client.user("campaign_admin", [group], username="ana")
    edit = {"username": "ana", "first_name": "Ana", "role": "campaign_admin", "group_ids": group}
    r = await boss.post(
        f"/users/{ana['id']}",
        data={**edit, "last_name": "y" * 101, "password": "short", "password_confirm": "short"},
        headers=htmx(boss),
    )
    assert set(shown_errors(r.text)) == {"last_name", "password"}
    assert await users.authenticate("ana", PASSWORD)  # the password did not change


async def test_group_dnc_and_schedule_forms_show_every_mistake(app_client: ApiClient) -> None:
    await app_client.user("master", username="boss")
    await users.set_language(await users.authenticate("boss", PASSWORD), "pt_BR")
    boss = await browser_session(app_client, "boss")
    r = await boss.post("/groups", data={"name": "", "description": "d" * 2001}, headers=htmx(boss))
    assert set(shown_errors(r.text)) == {"name", "description"}
    r = await boss.post(
        "/dnc/services",
        data={"name": "", "url": "http://dnc.example/", "timeout_ms": "10"},
        headers=htmx(boss),
    )
    errors = shown_errors(r.text)
    assert set(errors) == {"name", "url", "timeout_ms"}
    assert errors["name"] == "Este campo é obrigatório."

    group = await app_client.group("Sales")
    await app_client.user("campaign_admin", [group], username="ana")
    await users.set_language(await users.authenticate("ana", PASSWORD), "pt_BR")
    campaign = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Spring",
            "group_id": group,
            "start_date": "2030-01-07",
            "end_date": "2030-01-08",
            "start_time": "09:00",
            "end_time": "17:00",
            "pilot_number": "4000",
        },
    )
    ana = await browser_session(app_client, "ana")
    r = await ana.post(
        f"/campaigns/{campaign['id']}/schedules/add",
        data={"date": "2030-13-45", "start_time": "18:00", "end_time": "7pm"},
        headers=htmx(ana),
    )
    assert shown_errors(r.text) == {
        "date": "Informe uma data como AAAA-MM-DD.",
        "end_time": "Informe um horário como HH:MM.",
    }


# -- every form template shows the error of each of its fields -----------------

#: template → the page's list of the form's fields.
FORMS = {
    "campaigns/form.html": campaign_page.FORM_FIELDS,
    "users/form.html": user_page.FORM_FIELDS,
    "groups/form.html": group_page.FORM_FIELDS,
    "dnc/form.html": dnc_page.SERVICE_FIELDS,
    "campaigns/schedule_form.html": schedule_page.FORM_FIELDS,
    "campaigns/lead_form.html": ("name", "phone", "description"),
}
RAW_INPUT = re.compile(r"<(?:input|select|textarea)\b(?![^>]*type=\"hidden\")[^>]*\bname=\"(\w+)\"")
#: Macros that draw a field with its error (macros.html).
WITH_ERROR = re.compile(r"\b(?:text_input|choice_select|group_picker)\(\s*\"(\w+)\"|group_picker\(")
FIELD_ERROR = re.compile(r"field_error\(errors, \"(\w+)\"\)")


@pytest.mark.parametrize("template", sorted(FORMS))
def test_every_form_field_has_its_error_place(template: str) -> None:
    source = (TEMPLATES / template).read_text()
    inputs = set(RAW_INPUT.findall(source))
    drawn = {m.group(1) or "group_ids" for m in WITH_ERROR.finditer(source)}
    fields = (inputs | drawn) - {"csrf_token"}
    assert "form_error(errors)" in source, template  # errors of no field of the form
    missing = sorted(inputs - set(FIELD_ERROR.findall(source)))
    assert not missing, f"{template}: no field_error for {missing}"
    assert fields == set(FORMS[template]), (template, sorted(fields))
