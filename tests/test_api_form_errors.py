"""A 422 lists EVERY field in error (``errors``), not only the first; ``detail`` and
``field`` stay the first error's, so the single-error contract is unchanged.

Runs on SQLite and PostgreSQL (``app_client``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from api_client import PASSWORD, ApiClient
from test_api_campaigns import START, campaign_body


def fields_in_error(body: dict[str, Any]) -> list[str]:
    assert body["error"] == "validation_failed", body
    listed = body["errors"]
    assert all(
        set(item) == {"field", "code", "detail"} and item["detail"] and item["code"]
        for item in listed
    ), body
    # The first of the list is the error the body names on its own.
    first = (listed[0]["field"], listed[0]["code"], listed[0]["detail"])
    assert first == (body["field"], body["code"], body["detail"])
    return [item["field"] for item in listed]


async def test_a_campaign_with_five_mistakes_gets_five_errors(app_client: ApiClient) -> None:
    group = await app_client.group()
    admin = await app_client.login_as("campaign_admin", [group])
    body = campaign_body(
        group,
        name="",
        end_date=(START - timedelta(days=1)).isoformat(),
        timezone="Mars/Olympus_Mons",
        weekdays=[],
        pilot_number="",
        dnc_service_id=999999,
    )
    r = await admin.post("/api/v1/campaigns", json=body)
    assert r.status_code == 422, r.text
    assert fields_in_error(r.json()) == [
        "end_date",
        "name",
        "timezone",
        "weekdays",
        "pilot_number",
        "dnc_service_id",
    ]
    assert (await admin.get("/api/v1/campaigns")).json()["total"] == 0


async def test_an_update_lists_every_field_too(app_client: ApiClient) -> None:
    group = await app_client.group()
    admin = await app_client.login_as("campaign_admin", [group])
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await admin.patch(
        f"/api/v1/campaigns/{cid}",
        json={"end_date": (START - timedelta(days=1)).isoformat(), "end_time": "08:00"},
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert fields_in_error(body) == ["end_date", "end_time"]
    assert "before start_date" in body["errors"][0]["detail"]
    assert "must be after" in body["errors"][1]["detail"]  # 08:00 is before 09:00


async def test_a_single_mistake_keeps_the_single_error_contract(app_client: ApiClient) -> None:
    group = await app_client.group()
    admin = await app_client.login_as("campaign_admin", [group])
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group, timezone="Nowhere"))
    assert r.status_code == 422, r.text
    assert fields_in_error(r.json()) == ["timezone"]


async def test_user_errors_come_together_and_conflicts_after(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    group = await app_client.group()
    body = {
        "username": "-bad",
        "password": "short",
        "role": "campaign_admin",
        "group_ids": [],
        "language": "tlh",
    }
    r = await master.post("/api/v1/users", json=body)
    assert r.status_code == 422, r.text
    assert fields_in_error(r.json()) == ["username", "group_ids", "password", "language"]
    # A taken name is a 409 of its own, reported once the input is valid.
    await app_client.user("campaign_admin", [group], username="ana")
    r = await master.post(
        "/api/v1/users",
        json={"username": "ana", "password": PASSWORD, "role": "campaign_admin", "group_ids": []},
    )
    assert r.status_code == 422 and fields_in_error(r.json()) == ["group_ids"], r.text
    r = await master.post(
        "/api/v1/users",
        json={
            "username": "ana",
            "password": PASSWORD,
            "role": "campaign_admin",
            "group_ids": [group],
        },
    )
    assert r.status_code == 409 and "errors" not in r.json(), r.text


async def test_user_update_lists_every_field(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    group = await app_client.group()
    ana = await app_client.user("campaign_admin", [group], username="ana")
    r = await master.patch(
        f"/api/v1/users/{ana['id']}",
        json={"username": "x", "last_name": "nul\x00", "group_ids": [999999]},
    )
    assert r.status_code == 422, r.text
    assert fields_in_error(r.json()) == ["username", "last_name", "group_ids"]


async def test_a_permission_error_stays_a_single_403(app_client: ApiClient) -> None:
    mine, theirs = await app_client.group(), await app_client.group()
    manager = await app_client.login_as("manager", [mine])
    body = {"username": "x", "password": "short", "role": "manager", "group_ids": [theirs]}
    r = await manager.post("/api/v1/users", json=body)
    assert r.status_code == 403 and r.json()["field"] == "role", r.text
    assert "errors" not in r.json()


async def test_group_errors_come_together(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    r = await master.post("/api/v1/groups", json={"name": "  ", "description": "\x00"})
    assert r.status_code == 422, r.text
    assert fields_in_error(r.json()) == ["name", "description"]


async def test_dnc_service_errors_come_together(app_client: ApiClient) -> None:
    admin = await app_client.login_as("master")
    body = {"name": "", "kind": "http", "url": "ftp://x", "ca_bundle": "not a certificate"}
    r = await admin.post("/api/v1/dnc-services", json=body)
    assert r.status_code == 422, r.text
    assert fields_in_error(r.json()) == ["name", "url", "ca_bundle"]


async def test_schedule_errors_come_together(app_client: ApiClient) -> None:
    group = await app_client.group()
    admin = await app_client.login_as("campaign_admin", [group])
    cid = (await admin.post("/api/v1/campaigns", json=campaign_body(group))).json()["id"]
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    r = await admin.post(
        f"/api/v1/campaigns/{cid}/schedules",
        json={"date": yesterday, "start_time": "18:00", "end_time": "08:00"},
    )
    assert r.status_code == 422, r.text
    assert fields_in_error(r.json()) == ["date", "end_time"]


async def test_a_body_that_is_not_json_is_a_400_saying_where(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    before = (await master.get("/api/v1/groups")).json()
    json_header = {"content-type": "application/json"}
    r = await master.post("/api/v1/groups", content=b'{"name": "x",', headers=json_header)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "bad_request"
    assert r.json()["detail"].startswith("request body is not valid JSON: "), r.text
    r = await master.post("/api/v1/groups", content=b"{not json", headers=json_header)
    assert r.status_code == 400 and "byte 1" in r.json()["detail"], r.text
    # JSON of the wrong shape is bad input, not an unreadable body.
    r = await master.post("/api/v1/groups", content=b"[1, 2]", headers=json_header)
    assert r.status_code == 422 and r.json()["error"] == "validation_failed", r.text
    assert (await master.get("/api/v1/groups")).json() == before
