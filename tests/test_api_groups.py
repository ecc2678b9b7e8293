"""/api/v1/groups over HTTP: Masters create and edit, Managers enable/disable their
own, everyone sees only their groups, and groups are never deleted (405 + reason)."""

from __future__ import annotations

import pytest
from api_client import ApiClient


async def test_master_creates_lists_and_edits_groups(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    r = await master.post("/api/v1/groups", json={"name": "Sales", "description": "outbound"})
    assert r.status_code == 201, r.text
    sales = r.json()
    assert sales == {"id": sales["id"], "name": "Sales", "description": "outbound", "enabled": True}
    r = await master.patch(
        f"/api/v1/groups/{sales['id']}", json={"name": "Sales BR", "enabled": False}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["enabled"]) == ("Sales BR", False)
    listed = (await master.get("/api/v1/groups")).json()
    names = [g["name"] for g in listed["items"]]
    assert names == sorted(names) and {"Sales BR", "Default Dialer Group"} <= set(names)
    assert listed["total"] == len(names) and listed["page"] == 1


async def test_groups_list_is_paginated(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    for n in range(3):
        await app_client.group(f"g{n}")
    body = (await master.get("/api/v1/groups", params={"per_page": 2, "page": 2})).json()
    assert (body["total"], body["page"], body["per_page"]) == (4, 2, 2)
    assert [g["name"] for g in body["items"]] == ["g1", "g2"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "enabled": "yes"}, "enabled"),
        ({"name": "ok", "colour": "red"}, "colour"),
        ({}, "name"),
    ],
)
async def test_group_validation_names_the_field(
    app_client: ApiClient, body: dict, field: str
) -> None:
    master = await app_client.login_as("master")
    r = await master.post("/api/v1/groups", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_failed" and r.json()["field"] == field, r.text


async def test_group_names_are_unique(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    other = await app_client.group("Support")
    r = await master.post("/api/v1/groups", json={"name": "Support"})
    assert r.status_code == 409 and r.json()["field"] == "name", r.text
    r = await master.patch(f"/api/v1/groups/{other}", json={"name": "Default Dialer Group"})
    assert r.status_code == 409 and r.json()["field"] == "name", r.text


async def test_manager_only_enables_and_disables_its_groups(app_client: ApiClient) -> None:
    mine, theirs = await app_client.group("mine"), await app_client.group("theirs")
    manager = await app_client.login_as("manager", [mine])
    r = await manager.patch(f"/api/v1/groups/{mine}", json={"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False, r.text
    r = await manager.patch(f"/api/v1/groups/{mine}", json={"name": "renamed"})
    assert r.status_code == 403, r.text
    assert (
        await manager.patch(f"/api/v1/groups/{theirs}", json={"enabled": False})
    ).status_code == 404
    assert (await manager.get(f"/api/v1/groups/{theirs}")).status_code == 404
    assert (await manager.post("/api/v1/groups", json={"name": "new"})).status_code == 403
    listed = (await manager.get("/api/v1/groups")).json()
    assert [g["name"] for g in listed["items"]] == ["mine"]


@pytest.mark.parametrize("role", ["campaign_admin", "campaign_supervisor"])
async def test_campaign_roles_see_their_groups_and_change_none(
    app_client: ApiClient, role: str
) -> None:
    mine, theirs = await app_client.group("mine"), await app_client.group("theirs")
    client = await app_client.login_as(role, [mine])
    listed = (await client.get("/api/v1/groups")).json()
    assert [g["id"] for g in listed["items"]] == [mine]
    assert (await client.get(f"/api/v1/groups/{mine}")).json()["name"] == "mine"
    assert (await client.get(f"/api/v1/groups/{theirs}")).status_code == 404
    r = await client.patch(f"/api/v1/groups/{mine}", json={"enabled": False})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert (await client.post("/api/v1/groups", json={"name": "x"})).status_code == 403


@pytest.mark.parametrize("role", ["master", "manager", "campaign_admin", "campaign_supervisor"])
async def test_groups_are_never_deleted(app_client: ApiClient, role: str) -> None:
    g = await app_client.group("keep-me")
    client = await app_client.login_as(role, [] if role == "master" else [g])
    r = await client.delete(f"/api/v1/groups/{g}")
    assert r.status_code == 405, r.text
    assert r.json()["error"] == "method_not_allowed"
    assert "disable" in r.json()["detail"] and '"enabled": false' in r.json()["detail"]
    master = await app_client.login_as("master")
    assert (await master.get(f"/api/v1/groups/{g}")).status_code == 200


async def test_a_manager_whose_groups_are_all_disabled_can_enable_one(
    app_client: ApiClient,
) -> None:
    g = await app_client.group("dormant", enabled=False)
    manager = await app_client.login_as("manager", [g], cookie=True)
    r = await manager.patch(f"/api/v1/groups/{g}", json={"enabled": True})
    assert r.status_code == 200 and r.json()["enabled"] is True, r.text
    me = (await manager.get("/api/v1/auth/me")).json()
    assert me["enabled_group_ids"] == [g]
