"""The Add Campaign form's lists (issue 15): phone regions sorted by their shown name
with accents folded, in every language; time zones without ``Factory``/``localtime``;
a new campaign's zone is the last campaign of the user's groups, else left to the
browser (``data-browser-zone``, app.js). HTML pages of the in-process app."""

from __future__ import annotations

import html
import re
import unicodedata

import pytest
from api_client import ApiClient
from test_phones import browser_session, guide_campaign


def folded(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def region_names(page: str) -> list[str]:
    select = re.search(r'<select id="f-default_region".*?</select>', page, re.S)
    assert select is not None, page
    options = re.findall(r'<option value="([A-Z0-9]+)"[^>]*>([^<]*)</option>', select.group(0))
    return [html.unescape(name) for _, name in options]


def zone_select(page: str) -> str:
    select = re.search(r'<select id="f-timezone"[^>]*>.*?</select>', page, re.S)
    assert select is not None, page
    return select.group(0)


@pytest.mark.parametrize("language", ["en", "pt_BR", "es"])
async def test_phone_regions_are_sorted_as_their_language_reads_them(
    app_client: ApiClient, language: str
) -> None:
    admin, _, _ = await guide_campaign(app_client)
    client = await browser_session(app_client, admin.user["username"], language)
    names = region_names((await client.get("/campaigns/new")).text)
    assert len(names) > 200
    assert names == sorted(names, key=lambda n: (folded(n), n))
    if language == "pt_BR":
        assert names.index("Arábia Saudita (SA)") < names.index("Argentina (AR)")
        assert names.index("Bélgica (BE)") < names.index("Butão (BT)")


async def test_the_zone_list_holds_places_and_a_new_campaign_starts_in_the_last_ones_zone(
    app_client: ApiClient,
) -> None:
    group = await app_client.group()
    admin = await app_client.login_as("campaign_admin", [group], username=f"z{group}")
    client = await browser_session(app_client, admin.user["username"])
    select = zone_select((await client.get("/campaigns/new")).text)
    zones = re.findall(r"<option[^>]*>([^<]*)</option>", select)
    assert "America/Sao_Paulo" in zones and "UTC" in zones
    assert not {"Factory", "localtime", "posixrules"} & set(zones)
    assert "data-browser-zone" in select  # no campaign yet: the browser's zone (app.js)
    r = await admin.post(
        "/api/v1/campaigns",
        json={
            "name": "Lisboa",
            "group_id": group,
            "pilot_number": "351210000000",
            "timezone": "Europe/Lisbon",
            "start_date": "2030-01-07",
            "end_date": "2030-01-11",
            "start_time": "09:00",
            "end_time": "18:00",
        },
    )
    assert r.status_code == 201, r.text
    select = zone_select((await client.get("/campaigns/new")).text)
    assert "data-browser-zone" not in select
    assert re.findall(r"<option selected>([^<]*)</option>", select) == ["Europe/Lisbon"]
    r = await admin.patch(f"/api/v1/campaigns/{r.json()['id']}", json={"timezone": "Factory"})
    assert (r.status_code, r.json()["field"]) == (422, "timezone"), r.text
