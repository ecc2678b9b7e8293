"""Phone numbers as contact centers write them (issue 15): the product guide's own lead
list imports into a campaign made with the guide's fields (API, upload page, CLI);
every format of the guide is stored as the digits that will be dialed; a number is
refused for its shape only, never because phonenumbers thinks it unassigned (that is
a warning count); a campaign's region comes from its time zone; a lead edit round-trips
its number; search takes ``%`` and ``_`` literally; pilot numbers, caller IDs and SIP
port names carry nothing a SIP header cannot; CR-only CSV files import. DNC lists follow
the same rule. In-process app on SQLite and PostgreSQL; the CLI in a child process."""

from __future__ import annotations

import asyncio
import html
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_client import PASSWORD, ApiClient
from helpers import run_cli

from opendialer.core.services import dnc_numbers, users

#: The guide's lead file, exactly as written ("Name, Phone", a space after the comma).
GUIDE_CSV = "María Rodríguez, 554183015031\n\nJuan Pérez, 554183015023\n"

#: The guide's "Edit campaign" screen (Figure 12); its schedules are GMT-3.
GUIDE_CAMPAIGN = {
    "name": "OSCC V12R0",
    "description": "Test",
    "pilot_number": "554183022950",
    "max_attempts": 5,
    "retry_after_minutes": 60,
    "type": "OSCC",
    "amd_enabled": True,
    "timezone": "America/Sao_Paulo",
    "start_date": "2030-01-07",
    "end_date": "2030-01-11",
    "start_time": "08:00",
    "end_time": "18:00",
}


async def guide_campaign(app_client: ApiClient, **more: Any) -> tuple[Any, int, int]:
    group = await app_client.group()
    admin = await app_client.login_as("campaign_admin", [group], username=f"ana{group}")
    r = await admin.post("/api/v1/campaigns", json={**GUIDE_CAMPAIGN, "group_id": group, **more})
    assert r.status_code == 201, r.text
    return admin, r.json()["id"], group


async def upload(client: Any, cid: int, body: str | bytes, **params: Any) -> httpx.Response:
    response: httpx.Response = await client.post(
        f"/api/v1/campaigns/{cid}/leads",
        content=body.encode() if isinstance(body, str) else body,
        headers={"Content-Type": "text/csv"},
        params=params,
    )
    return response


async def leads_of(client: Any, cid: int, **params: Any) -> list[tuple[str, str]]:
    r = await client.get(f"/api/v1/campaigns/{cid}/leads", params={"per_page": 100, **params})
    assert r.status_code == 200, r.text
    return [(i["name"], i["phone"]) for i in r.json()["items"]]


async def browser_session(app: ApiClient, username: str, language: str = "en") -> Any:
    await users.set_language(await users.authenticate(username, PASSWORD), language)
    client = app.client()
    r = await client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return client


def htmx(client: Any) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": client.cookies["od_csrf"]}


def shown_errors(page: str) -> dict[str, str]:
    found = re.findall(r'<p class="field-error" id="err-([\w]+)" role="alert">([^<]*)</p>', page)
    return {field: html.unescape(message) for field, message in found}


# -- the guide's own example ---------------------------------------------------


@pytest.mark.parametrize("region", [None, "BR"])
async def test_the_guide_csv_imports_through_the_api(
    app_client: ApiClient, region: str | None
) -> None:
    more = {"default_region": region} if region else {}
    admin, cid, _ = await guide_campaign(app_client, **more)
    r = await upload(admin, cid, GUIDE_CSV.encode())
    assert r.status_code == 201, r.text
    report = r.json()
    assert (report["imported"], report["rejected"], report["header"]) == (2, 0, False)
    # Old 8-digit mobile numbers of Curitiba: phonenumbers calls them unassigned today.
    assert (report["region"], report["unassigned"], report["unassigned_lines"]) == ("BR", 2, [1, 3])
    assert report["unassigned_regions"] == ["BR"]
    assert await leads_of(admin, cid) == [
        ("María Rodríguez", "554183015031"),
        ("Juan Pérez", "554183015023"),
    ]


WARNINGS = {
    "en": "2 numbers look unassigned in Brazil: lines 1, 3. They were imported anyway. The "
    "dialer's list of phone number ranges in use does not include them, but that list is "
    "often out of date: check them if calls to them fail.",
    "pt_BR": "2 números parecem não atribuídos no plano de numeração do país (Brasil): "
    "linhas 1, 3. Eles foram importados "
    "mesmo assim. A lista de faixas de números em uso que o discador conhece não os "
    "inclui, mas essa lista costuma estar desatualizada: confira-os se as chamadas para "
    "eles falharem.",
    "es": "2 números parecen no asignados en Brasil: líneas 1, 3. Se importaron de todos modos. "
    "La lista de rangos de números en uso que conoce el marcador no los incluye, pero esa "
    "lista suele estar desactualizada: revíselos si las llamadas a ellos fallan.",
}


@pytest.mark.parametrize("language", list(WARNINGS))
async def test_the_guide_csv_imports_through_the_upload_page(
    app_client: ApiClient, language: str
) -> None:
    admin, cid, _ = await guide_campaign(app_client)
    client = await browser_session(app_client, admin.user["username"], language)
    r = await client.post(
        f"/campaigns/{cid}/leads/upload",
        files={"file": ("leads.csv", GUIDE_CSV.encode(), "text/csv")},
        headers=htmx(client),
    )
    assert r.status_code == 200, r.text
    assert 'id="upload-ok"' in r.text and 'id="upload-error"' not in r.text, r.text
    warning = re.search(r'id="upload-unassigned">([^<]*)</div>', r.text)
    assert warning is not None, r.text
    assert html.unescape(warning.group(1)) == WARNINGS[language]  # no library's name
    assert len(await leads_of(admin, cid)) == 2


@pytest.mark.parametrize("language", ["en", "es"])
async def test_the_warning_names_the_numbers_country_not_the_campaigns(
    app_client: ApiClient, language: str
) -> None:
    """The guide's file uploaded into a US campaign (the demo's): its numbers carry
    Brazil's code and are stored as Brazilian, but the warning said they "look
    unassigned in United States"."""
    admin, cid, _ = await guide_campaign(app_client, timezone="America/New_York")
    client = await browser_session(app_client, admin.user["username"], language)
    r = await client.post(
        f"/campaigns/{cid}/leads/upload",
        files={"file": ("leads.csv", GUIDE_CSV.encode(), "text/csv")},
        headers=htmx(client),
    )
    warning = re.search(r'id="upload-unassigned">([^<]*)</div>', r.text)
    assert warning is not None, r.text
    expected = {"en": "unassigned in Brazil: lines 1, 3.", "es": "no asignados en Brasil"}
    assert expected[language] in html.unescape(warning.group(1))
    assert [p for _, p in await leads_of(admin, cid)] == ["554183015031", "554183015023"]
    r = await upload(admin, cid, "Ana, 554183015039\nBia, +1 202 555 0143\n")
    assert r.status_code == 201, r.text
    report = r.json()  # the region the file was read in, and the countries of the warning
    assert (report["region"], report["unassigned_regions"]) == ("US", ["BR"])


async def test_the_guide_csv_imports_through_the_cli(
    app_client: ApiClient, cli_env: dict[str, str], tmp_path: Path
) -> None:
    admin, cid, _ = await guide_campaign(app_client)
    path = tmp_path / "guia.csv"
    path.write_text(GUIDE_CSV)
    r = await asyncio.to_thread(run_cli, "leads", "import", "OSCC V12R0", str(path), env=cli_env)
    assert r.returncode == 0, r.stderr
    assert "imported 2 lead(s) into 'OSCC V12R0'" in r.stdout
    assert "warning: 2 numbers look unassigned in BR: lines 1, 3 (imported anyway" in r.stderr
    assert "phonenumbers" not in r.stderr
    assert [p for _, p in await leads_of(admin, cid)] == ["554183015031", "554183015023"]


# -- the formats, the shape rule, the warning ----------------------------------

FORMATS = [
    ("554183015031", "554183015031"),  # country code without +
    ("+55 (41) 98301-5031", "5541983015031"),
    ("(41) 98102-1119", "5541981021119"),  # national, the campaign's region
    ("041 98102-1118", "5541981021118"),  # trunk prefix 0
    ("0xx41 98102-1117", "5541981021117"),  # 0xx: trunk prefix, carrier of choice
    ("41.9810.21116", "5541981021116"),
    ("+1 202 555 0143", "12025550143"),  # another country
]


async def test_every_format_of_the_guide_is_stored_as_the_digits_dialed(
    app_client: ApiClient,
) -> None:
    admin, cid, _ = await guide_campaign(app_client)
    text = "".join(f'Lead {n},"{raw}"\n' for n, (raw, _) in enumerate(FORMATS))
    r = await upload(admin, cid, text)
    assert r.status_code == 201, r.text
    assert r.json()["unassigned"] == 1  # the 8-digit mobile number
    assert [p for _, p in await leads_of(admin, cid)] == [d for _, d in FORMATS]


async def test_a_number_with_letters_is_refused_naming_line_and_value(
    app_client: ApiClient,
) -> None:
    admin, cid, _ = await guide_campaign(app_client)
    r = await upload(admin, cid, "Ana,(41) 98102-1119\nBia,5541810211xx\nCaio,12345\n")
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [(2, "phone"), (3, "phone")]
    assert errors[0]["reason"].startswith("invalid phone number '5541810211xx': only digits")
    assert "it has 5 digits" in errors[1]["reason"]
    assert await leads_of(admin, cid) == []  # nothing converted, nothing half-imported


async def test_unassigned_numbers_are_imported_with_a_count_and_their_lines(
    app_client: ApiClient,
) -> None:
    admin, cid, _ = await guide_campaign(app_client)
    rows = [
        "Ana,(41) 98102-1119",  # 1 assigned
        "Bia,554183015031",  # 2 unassigned (old 8-digit mobile)
        "Caio,(41) 98102-1118",  # 3
        "Dora,5541 0000 0000",  # 4 unassigned
        "Eli,+55 11 91234-5678",  # 5
    ]
    r = await upload(admin, cid, "\n".join(rows))
    assert r.status_code == 201, r.text
    assert (r.json()["imported"], r.json()["unassigned"]) == (5, 2)
    assert r.json()["unassigned_lines"] == [2, 4]


async def test_cr_only_line_ends_import_like_lf(app_client: ApiClient) -> None:
    """Old-Mac spreadsheet exports end lines with a lone CR."""
    admin, cid, _ = await guide_campaign(app_client)
    text = 'name,phone\r"Souza, Ana",(41) 98102-1119\rBia,554183015031\r\rCaio,41981021118\r'
    r = await upload(admin, cid, text)
    assert r.status_code == 201, r.text
    assert (r.json()["imported"], r.json()["header"]) == (3, True)
    assert await leads_of(admin, cid) == [
        ("Souza, Ana", "5541981021119"),
        ("Bia", "554183015031"),
        ("Caio", "5541981021118"),
    ]
    r = await upload(admin, cid, "Dora,41981021117\rEli,41 9810 211x\r")
    assert r.status_code == 422 and r.json()["errors"][0]["line"] == 2, r.text


# -- the campaign's region ------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "region"),
    [("America/Sao_Paulo", "BR"), ("Europe/Lisbon", "PT"), ("America/Mexico_City", "MX")],
)
async def test_default_region_is_the_country_of_the_time_zone(
    app_client: ApiClient, zone: str, region: str
) -> None:
    admin, cid, _ = await guide_campaign(app_client, timezone=zone)
    campaign = (await admin.get(f"/api/v1/campaigns/{cid}")).json()
    assert campaign["default_region"] == region
    # Stored, so a later change of zone does not move it; an explicit one wins.
    r = await admin.patch(f"/api/v1/campaigns/{cid}", json={"default_region": "US"})
    assert r.status_code == 200 and r.json()["default_region"] == "US", r.text
    client = await browser_session(app_client, admin.user["username"])
    page = (await client.get(f"/campaigns/{cid}/edit")).text
    assert '<option value="US" selected>' in page, page


async def test_the_campaign_form_sets_the_region_from_the_zone_or_the_select(
    app_client: ApiClient,
) -> None:
    group = await app_client.group()
    await app_client.user("campaign_admin", [group], username="bea")
    client = await browser_session(app_client, "bea", "pt_BR")
    new = (await client.get("/campaigns/new")).text
    assert 'name="default_region"' in new and "Região telefônica" in new
    assert '<option value="PT">Portugal (PT)</option>' in new
    form = {
        **{k: str(v) for k, v in GUIDE_CAMPAIGN.items() if k != "amd_enabled"},
        "group_id": str(group),
        "weekdays": ["mon", "tue"],
        "default_region": "",
    }
    r = await client.post("/campaigns", data=form, headers=htmx(client))
    assert r.status_code == 200 and "HX-Redirect" in r.headers, r.text[:800]
    form = {**form, "name": "Lisboa", "timezone": "Europe/Lisbon", "default_region": "ES"}
    r = await client.post("/campaigns", data=form, headers=htmx(client))
    assert r.status_code == 200 and "HX-Redirect" in r.headers, r.text[:800]
    admin = await app_client.bearer("bea")
    items = (await admin.get("/api/v1/campaigns")).json()["items"]
    assert {c["name"]: c["default_region"] for c in items} == {"OSCC V12R0": "BR", "Lisboa": "ES"}


# -- editing and searching leads -----------------------------------------------


async def test_changing_only_the_name_of_a_lead_saves_through_the_form(
    app_client: ApiClient,
) -> None:
    admin, cid, _ = await guide_campaign(app_client)
    text = "María Rodríguez, 554183015031\nEli,+1 202 555 0143\n"
    assert (await upload(admin, cid, text)).status_code == 201
    client = await browser_session(app_client, admin.user["username"])
    items = (await admin.get(f"/api/v1/campaigns/{cid}/leads")).json()["items"]
    for lead, new_name in zip(items, ["María R. Rodríguez", "Eli Souza"], strict=True):
        page = (await client.get(f"/campaigns/{cid}/leads/{lead['id']}/edit")).text
        shown = re.search(r'name="phone"[^>]*value="([^"]*)"', page) or re.search(
            r'value="([^"]*)"[^>]*name="phone"', page
        )
        assert shown is not None, page
        data = {"name": new_name, "phone": html.unescape(shown.group(1)), "description": ""}
        r = await client.post(
            f"/campaigns/{cid}/leads/{lead['id']}", data=data, headers=htmx(client)
        )
        assert r.status_code == 200 and shown_errors(r.text) == {}, r.text[:800]
    assert await leads_of(admin, cid) == [
        ("María R. Rodríguez", "554183015031"),
        ("Eli Souza", "12025550143"),
    ]
    # A real change of number still goes through the rule.
    lead_id = items[0]["id"]
    r = await admin.patch(
        f"/api/v1/campaigns/{cid}/leads/{lead_id}", json={"phone": "41 9810 211x"}
    )
    assert (r.status_code, r.json()["field"]) == (422, "phone"), r.text
    r = await admin.patch(
        f"/api/v1/campaigns/{cid}/leads/{lead_id}", json={"phone": "(41) 3301-5031"}
    )
    assert r.status_code == 200 and r.json()["phone"] == "554133015031", r.text


async def test_the_edit_form_shows_the_number_as_the_lead_list_does(
    app_client: ApiClient,
) -> None:
    admin, cid, _ = await guide_campaign(app_client)
    assert (await upload(admin, cid, "Ana,(41) 98102-1119\n")).status_code == 201
    client = await browser_session(app_client, admin.user["username"])
    listed = re.findall(
        r"<td[^>]*>([^<]*)</td>", (await client.get(f"/campaigns/{cid}/leads")).text
    )
    lead = (await admin.get(f"/api/v1/campaigns/{cid}/leads")).json()["items"][0]
    page = (await client.get(f"/campaigns/{cid}/leads/{lead['id']}/edit")).text
    shown = re.search(r'name="phone"[^>]*value="([^"]*)"', page) or re.search(
        r'value="([^"]*)"[^>]*name="phone"', page
    )
    assert shown is not None, page
    assert html.unescape(shown.group(1)) == "+5541981021119"
    assert "+5541981021119" in listed
    # an error keeps what was typed
    data = {"name": "", "phone": "(41) 98102-1119", "description": ""}
    r = await client.post(f"/campaigns/{cid}/leads/{lead['id']}", data=data, headers=htmx(client))
    assert 'value="(41) 98102-1119"' in r.text and "name" in shown_errors(r.text), r.text[:800]


@pytest.mark.pg
async def test_search_takes_percent_and_underscore_literally(app_client: ApiClient) -> None:
    admin, cid, _ = await guide_campaign(app_client)
    text = (
        "Desconto 50% Ana,41981021119\n"
        "Desconto 500 Bia,41981021118\n"
        "lead_vip Caio,41981021117\n"
        "leadXvip Dora,41981021116\n"
        "back\\slash Eli,41981021115\n"
    )
    assert (await upload(admin, cid, text)).status_code == 201
    assert [n for n, _ in await leads_of(admin, cid, q="50%")] == ["Desconto 50% Ana"]
    assert [n for n, _ in await leads_of(admin, cid, q="%")] == ["Desconto 50% Ana"]
    assert [n for n, _ in await leads_of(admin, cid, q="lead_")] == ["lead_vip Caio"]
    assert [n for n, _ in await leads_of(admin, cid, q="_")] == ["lead_vip Caio"]
    assert [n for n, _ in await leads_of(admin, cid, q="k\\s")] == ["back\\slash Eli"]
    assert len(await leads_of(admin, cid, q="DESCONTO")) == 2  # still any case
    assert [n for n, _ in await leads_of(admin, cid, q="021117")] == ["lead_vip Caio"]


# -- what reaches a SIP header --------------------------------------------------

INJECTIONS = [
    "evil@evil.example>;x=<sip:4000",
    "4000\r\nRefer-To: <sip:1@evil>",
    "4000;transport=tcp",
    "4000?Subject=x",
    "40 00\t1",
    "<sip:4000>",
]


@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize("field", ["pilot_number", "caller_id"])
async def test_pilot_number_and_caller_id_refuse_what_a_sip_header_cannot_carry(
    app_client: ApiClient, field: str, value: str
) -> None:
    admin, cid, group = await guide_campaign(app_client)
    r = await admin.patch(f"/api/v1/campaigns/{cid}", json={field: value})
    assert (r.status_code, r.json()["field"]) == (422, field), r.text
    body = {**GUIDE_CAMPAIGN, "name": "Other", "group_id": group, field: value}
    r = await admin.post("/api/v1/campaigns", json=body)
    assert (r.status_code, r.json()["field"]) == (422, field), r.text
    campaign = (await admin.get(f"/api/v1/campaigns/{cid}")).json()
    assert (campaign["pilot_number"], campaign["caller_id"]) == ("554183022950", None)


async def test_pilot_number_and_caller_id_keep_what_people_write(app_client: ApiClient) -> None:
    admin, cid, _ = await guide_campaign(app_client)
    r = await admin.patch(
        f"/api/v1/campaigns/{cid}",
        json={"pilot_number": "*55 (41) 8302-2950#", "caller_id": "+55 41 3301-5000"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["pilot_number"], r.json()["caller_id"]) == ("*554183022950#", "+554133015000")


@pytest.mark.parametrize("language", ["en", "pt_BR", "es"])
async def test_the_campaign_form_refuses_an_injected_pilot_number(
    app_client: ApiClient, language: str
) -> None:
    admin, _, group = await guide_campaign(app_client)
    client = await browser_session(app_client, admin.user["username"], language)
    form = {
        **{k: str(v) for k, v in GUIDE_CAMPAIGN.items() if k != "amd_enabled"},
        "group_id": str(group),
        "weekdays": ["mon"],
        "pilot_number": INJECTIONS[0],
    }
    r = await client.post("/campaigns", data=form, headers=htmx(client))
    assert r.status_code == 200 and "HX-Redirect" not in r.headers
    expected = {
        "en": "Digits, * and # only, with an optional leading +.",
        "pt_BR": "Apenas dígitos, * e #, com um + opcional no início.",
        "es": "Solo dígitos, * y #, con un + opcional al inicio.",
    }
    assert shown_errors(r.text) == {"pilot_number": expected[language]}
    assert len((await admin.get("/api/v1/campaigns")).json()["items"]) == 1


# -- Do-Not-Call lists: the same rule ---------------------------------------


async def test_dnc_lists_follow_the_same_rule(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    service_id = int((await dnc_numbers.find_service())["id"])
    url = f"/api/v1/dnc-services/{service_id}/numbers"
    lines = "\r".join(raw for raw, _ in FORMATS) + "\r"  # CR-only, like leads
    r = await master.post(url, content=lines.encode(), headers={"content-type": "text/csv"})
    assert r.status_code == 201, r.text
    assert (r.json()["lines"], r.json()["added"]) == (len(FORMATS), len(FORMATS))
    stored = set((await dnc_numbers.read_numbers(service_id)).tolist())
    assert stored == {int(d) for _, d in FORMATS}
    r = await master.post(
        url, content=b"554181021119\n5541810211xx\n", headers={"content-type": "text/csv"}
    )
    assert r.status_code == 422, r.text
    assert r.json()["line"] == 2 and r.json()["invalid"][0]["text"] == "5541810211xx"
    assert "only digits" in r.json()["invalid"][0]["reason"]


async def test_the_dnc_upload_page_names_the_bad_number_in_the_users_language(
    app_client: ApiClient,
) -> None:
    group = await app_client.group()
    await app_client.user("campaign_admin", [group], username="dora")
    client = await browser_session(app_client, "dora", "pt_BR")
    r = await client.post(
        "/dnc/upload",
        files={"file": ("dnc.csv", b"554181021119\r5541810211xx\r", "text/csv")},
        data={"mode": "append"},
        headers=htmx(client),
    )
    assert r.status_code == 200, r.text
    assert "Número de telefone inválido '5541810211xx': use apenas dígitos" in html.unescape(
        r.text
    ), r.text


#: Numbers written without "+" in a campaign whose region they cannot belong to.
INTERNATIONAL_WITHOUT_PLUS = [
    ("US", "554183015031", "554183015031"),  # the guide's María: BR, not +1 554183015031
    ("US", "55 41 98102-1119", "5541981021119"),  # 13 digits: BR mobile
    ("US", "525512345678", "525512345678"),  # MX
    ("US", "351 912 345 678", "351912345678"),  # PT
    ("BR", "351912345678", "351912345678"),  # PT, 12 digits not starting 55
    ("PT", "12125551234", "12125551234"),  # US: 1 + 10 digits
    ("MX", "5541981021119", "5541981021119"),  # BR
    # genuine national numbers are never read as international
    ("US", "(41) 98102-1119", "141981021119"),  # a parenthesised area code is national
    ("US", "2025550143", "12025550143"),
    ("US", "1 202 555 0144", "12025550144"),
    ("BR", "(41) 98102-1119", "5541981021119"),
    ("BR", "12125551234", "5512125551234"),  # 11 digits: a BR number (area code 12)
    ("BR", "554183015031", "554183015031"),
    ("PT", "912345678", "351912345678"),
    ("MX", "5512345678", "525512345678"),
    ("US", "441234", "1441234"),  # too short for the region: never read as +44
]


async def test_a_number_with_a_country_code_but_no_plus_keeps_its_country(
    app_client: ApiClient,
) -> None:
    admin, _, group = await guide_campaign(app_client)
    stored: dict[str, list[tuple[str, str]]] = {}
    for region in sorted({region for region, _, _ in INTERNATIONAL_WITHOUT_PLUS}):
        cases = [(raw, d) for r, raw, d in INTERNATIONAL_WITHOUT_PLUS if r == region]
        r = await admin.post(
            "/api/v1/campaigns",
            json={
                **GUIDE_CAMPAIGN,
                "name": f"Region {region}",
                "group_id": group,
                "default_region": region,
            },
        )
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        text = "".join(f'Lead {n},"{raw}"\n' for n, (raw, _) in enumerate(cases))
        r = await upload(admin, cid, text)
        assert r.status_code == 201, r.text
        stored[region] = [
            (raw, p) for (raw, _), (_, p) in zip(cases, await leads_of(admin, cid), strict=True)
        ]
    expected = {
        region: [(raw, d) for r, raw, d in INTERNATIONAL_WITHOUT_PLUS if r == region]
        for region in stored
    }
    assert stored == expected


def test_the_country_of_a_number_keeps_the_region_it_was_read_in_when_they_share_a_code() -> None:
    """+1 is the US's and Canada's and the Dominican Republic's (+7 Russia's and
    Kazakhstan's): an import warning about a Canadian campaign's numbers says Canada."""
    from opendialer.core.services.phones import country_of

    assert country_of("554183015031", "US") == "BR"  # the guide's numbers, read in the US
    assert country_of("16135550123", "CA") == "CA"
    assert country_of("18095550123", "DO") == "DO"
    assert country_of("77012345678", "KZ") == "KZ"
    assert country_of("12025550143", "BR") == "US"  # another code's: its main region
