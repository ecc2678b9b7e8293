"""/api/v1/campaigns/{id}/leads over HTTP: import (text/csv and multipart), list with
status / search / pagination, read, edit, delete — by role, and only while STOPPED.
The CSV format's edge cases are in test_leads_csv.py."""

from __future__ import annotations

from typing import Any

import pytest
from api_client import ApiClient

from opendialer.core.storage.tables import Lead

LEADS_CSV = (
    "name,phone\n"
    "Ana Souza,(41) 98102-1119\n"
    "Bruno Lima,+55 11 91234-5678\n"
    "Carla Dias,5521987654321\n"
    "Davi Rocha,41 3333-4444\n"
)


async def setup(app_client: ApiClient, **fields: Any) -> tuple[Any, int, int]:
    group = await app_client.group()
    admin = await app_client.login_as("campaign_admin", [group])
    body = {
        "name": "Leads",
        "group_id": group,
        "start_date": "2030-01-07",
        "end_date": "2030-01-11",
        "start_time": "09:00",
        "end_time": "18:00",
        "pilot_number": "4000",
        "default_region": "BR",
        **fields,
    }
    r = await admin.post("/api/v1/campaigns", json=body)
    assert r.status_code == 201, r.text
    return admin, r.json()["id"], group


async def upload(client: Any, cid: int, text: str | bytes, **params: Any) -> Any:
    return await client.post(
        f"/api/v1/campaigns/{cid}/leads",
        content=text.encode() if isinstance(text, str) else text,
        headers={"Content-Type": "text/csv"},
        params=params,
    )


@pytest.mark.pg
async def test_import_then_list_search_filter_and_paginate(app_client: ApiClient) -> None:
    admin, cid, _ = await setup(app_client)
    r = await upload(admin, cid, LEADS_CSV)
    assert r.status_code == 201, r.text
    assert r.json() == {
        "imported": 4,
        "rejected": 0,
        "lines": 5,
        "header": True,
        "errors": [],
        "errors_total": 0,
        "region": "BR",
        "unassigned": 0,
        "unassigned_lines": [],
        "unassigned_regions": [],
    }
    listed = (await admin.get(f"/api/v1/campaigns/{cid}/leads")).json()
    assert listed["total"] == 4
    first = listed["items"][0]
    assert first | {"id": 0} == {
        "id": 0,
        "name": "Ana Souza",
        "description": "",
        "phone": "5541981021119",
        "attempts": 0,
        "status": "NOT_CALLED",
        "next_attempt_at": None,
        # Curitiba's area code (41): its zone, from the number (docs/compliance.md).
        "timezone": "America/Sao_Paulo",
        "timezone_source": "number",
        "deferred": None,
    }
    assert [i["phone"] for i in listed["items"]] == [
        "5541981021119",
        "5511912345678",
        "5521987654321",
        "554133334444",
    ]
    url = f"/api/v1/campaigns/{cid}/leads"
    assert [i["name"] for i in (await admin.get(url, params={"q": "bruno"})).json()["items"]] == [
        "Bruno Lima"
    ]
    found = (await admin.get(url, params={"q": "3333"})).json()
    assert [i["name"] for i in found["items"]] == ["Davi Rocha"]
    page = (await admin.get(url, params={"page": 2, "per_page": 3})).json()
    assert page["total"] == 4 and [i["name"] for i in page["items"]] == ["Davi Rocha"]
    await Lead.update({Lead.status: "BUSY"}).where(Lead.phone == "5521987654321").run()
    busy = (await admin.get(url, params={"status": "BUSY"})).json()
    assert busy["total"] == 1 and busy["items"][0]["name"] == "Carla Dias"
    r = await admin.get(url, params={"status": "MAYBE"})
    assert r.status_code == 422, r.text


async def test_multipart_upload(app_client: ApiClient) -> None:
    admin, cid, _ = await setup(app_client)
    r = await admin.post(
        f"/api/v1/campaigns/{cid}/leads",
        files={"file": ("leads.csv", LEADS_CSV.encode(), "text/csv")},
        data={"note": "ignored"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 4
    r = await admin.post(f"/api/v1/campaigns/{cid}/leads", data={"note": "no file"})
    assert r.status_code in (415, 422), r.text


async def test_other_content_types_are_415(app_client: ApiClient) -> None:
    admin, cid, _ = await setup(app_client)
    r = await admin.post(f"/api/v1/campaigns/{cid}/leads", json=[{"name": "a", "phone": "1"}])
    assert r.status_code == 415 and "text/csv" in r.json()["detail"], r.text


async def test_read_edit_and_delete_a_lead(app_client: ApiClient) -> None:
    admin, cid, _ = await setup(app_client)
    await upload(admin, cid, LEADS_CSV)
    items = (await admin.get(f"/api/v1/campaigns/{cid}/leads")).json()["items"]
    lead, other = items[0], items[1]
    url = f"/api/v1/campaigns/{cid}/leads/{lead['id']}"
    assert (await admin.get(url)).json() == lead
    r = await admin.patch(url, json={"name": " Ana  Maria ", "phone": "41 99999-0000"})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["phone"]) == ("Ana Maria", "5541999990000")
    r = await admin.patch(url, json={"phone": other["phone"]})
    assert r.status_code == 409 and r.json()["field"] == "phone", r.text
    r = await admin.patch(url, json={"phone": "123"})
    assert r.status_code == 422 and r.json()["field"] == "phone", r.text
    r = await admin.patch(url, json={"status": "SUCCESS"})
    assert r.status_code == 422, r.text
    assert (await admin.delete(url)).status_code == 204
    assert (await admin.get(url)).status_code == 404
    assert (await admin.get(f"/api/v1/campaigns/{cid}/leads")).json()["total"] == 3


async def test_a_lead_is_reached_only_through_its_campaign(app_client: ApiClient) -> None:
    admin, cid, group = await setup(app_client)
    r = await admin.post(
        "/api/v1/campaigns",
        json={
            "name": "Second",
            "group_id": group,
            "start_date": "2030-01-07",
            "end_date": "2030-01-11",
            "start_time": "09:00",
            "end_time": "18:00",
            "pilot_number": "1",
        },
    )
    second = r.json()["id"]
    await upload(admin, cid, LEADS_CSV)
    lead_id = (await admin.get(f"/api/v1/campaigns/{cid}/leads")).json()["items"][0]["id"]
    for method in ("GET", "PATCH", "DELETE"):
        r = await admin.request(
            method,
            f"/api/v1/campaigns/{second}/leads/{lead_id}",
            json={"name": "x"} if method == "PATCH" else None,
        )
        assert r.status_code == 404, (method, r.text)


async def test_leads_change_only_while_stopped(app_client: ApiClient) -> None:
    admin, cid, _ = await setup(app_client)
    await upload(admin, cid, LEADS_CSV)
    lead_id = (await admin.get(f"/api/v1/campaigns/{cid}/leads")).json()["items"][0]["id"]
    assert (await admin.post(f"/api/v1/campaigns/{cid}/start")).status_code == 200
    r = await upload(admin, cid, "Eva,41 98888-7777\n")
    assert r.status_code == 409 and "stop it first" in r.json()["detail"], r.text
    url = f"/api/v1/campaigns/{cid}/leads/{lead_id}"
    assert (await admin.patch(url, json={"name": "x"})).status_code == 409
    assert (await admin.delete(url)).status_code == 409
    assert (await admin.get(url)).status_code == 200
    assert (await admin.get(f"/api/v1/campaigns/{cid}/leads")).json()["total"] == 4


async def test_supervisor_reads_leads_only_and_foreign_admins_see_nothing(
    app_client: ApiClient,
) -> None:
    admin, cid, group = await setup(app_client)
    await upload(admin, cid, LEADS_CSV)
    lead_id = (await admin.get(f"/api/v1/campaigns/{cid}/leads")).json()["items"][0]["id"]
    supervisor = await app_client.login_as("campaign_supervisor", [group])
    stranger = await app_client.login_as("campaign_admin", [await app_client.group()])
    url = f"/api/v1/campaigns/{cid}/leads"
    assert (await supervisor.get(url)).json()["total"] == 4
    assert (await supervisor.get(f"{url}/{lead_id}")).status_code == 200
    assert (await upload(supervisor, cid, "Eva,41 98888-7777\n")).status_code == 403
    assert (await supervisor.patch(f"{url}/{lead_id}", json={"name": "x"})).status_code == 403
    assert (await supervisor.delete(f"{url}/{lead_id}")).status_code == 403
    assert (await stranger.get(url)).status_code == 404
    assert (await stranger.get(f"{url}/{lead_id}")).status_code == 404
    assert (await upload(stranger, cid, "Eva,41 98888-7777\n")).status_code == 404
    assert (await admin.get(url)).json()["total"] == 4
