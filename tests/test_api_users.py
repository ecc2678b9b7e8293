"""/api/v1/users over HTTP: the role table of DESIGN.md §3 for users, Manager scoping,
password resets (Master only), validation with the field named, pagination."""

from __future__ import annotations

import pytest
from api_client import PASSWORD, ApiClient

NEW_PW = "a-brand-new-secret"


def _new_user(role: str, group_ids: list[int], username: str = "newbie") -> dict:
    return {
        "username": username,
        "password": PASSWORD,
        "first_name": "Ana",
        "last_name": "Souza",
        "role": role,
        "group_ids": group_ids,
    }


@pytest.mark.parametrize("role", ["manager", "campaign_admin", "campaign_supervisor"])
async def test_master_creates_reads_updates_and_deletes_users(
    app_client: ApiClient, role: str
) -> None:
    master = await app_client.login_as("master")
    g1, g2 = await app_client.group(), await app_client.group()
    r = await master.post("/api/v1/users", json=_new_user(role, [g1]))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created == {
        "id": created["id"],
        "username": "newbie",
        "first_name": "Ana",
        "last_name": "Souza",
        "role": role,
        "language": "en",
        "group_ids": [g1],
    }
    assert "password" not in r.text and "hash" not in r.text
    uid = created["id"]
    assert (await master.get(f"/api/v1/users/{uid}")).json() == created
    r = await master.patch(f"/api/v1/users/{uid}", json={"group_ids": [g1, g2], "last_name": "S."})
    assert r.status_code == 200, r.text
    assert r.json()["group_ids"] == [g1, g2] and r.json()["last_name"] == "S."
    # The new user can log in with the password given at creation.
    assert (await app_client.bearer("newbie")).user["id"] == uid
    assert (await master.delete(f"/api/v1/users/{uid}")).status_code == 204
    assert (await master.get(f"/api/v1/users/{uid}")).status_code == 404


async def test_users_list_is_paginated(app_client: ApiClient) -> None:
    master = await app_client.login_as("master", username="aaa-master")
    g = await app_client.group()
    for n in range(4):
        await app_client.user("campaign_admin", [g], username=f"user{n}")
    r = await master.get("/api/v1/users", params={"page": 2, "per_page": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["total"], body["page"], body["per_page"]) == (5, 2, 2)
    assert [u["username"] for u in body["items"]] == ["user1", "user2"]
    r = await master.get("/api/v1/users", params={"per_page": 0})
    assert r.status_code == 422 and r.json()["field"] == "per_page", r.text
    r = await master.get("/api/v1/users", params={"page": "two"})
    assert r.status_code == 422 and r.json()["field"] == "page", r.text


@pytest.mark.parametrize(
    "change, field, status",
    [
        ({"password": "short"}, "password", 422),
        ({"username": "samesame12", "password": "SameSame12"}, "password", 422),
        ({"role": "emperor"}, "role", 422),
        ({"username": "no spaces allowed"}, "username", 422),
        ({"username": ""}, "username", 422),
        ({"group_ids": [999999]}, "group_ids", 422),
        ({"group_ids": "1"}, "group_ids", 422),
        ({"group_ids": []}, "group_ids", 422),  # a campaign role needs a group
        ({"first_name": "x" * 101}, "first_name", 422),
        ({"first_name": "nul\x00"}, "first_name", 422),
        ({"language": "tlh"}, "language", 422),
        ({"shoe_size": 42}, "shoe_size", 422),
    ],
)
async def test_user_validation_names_the_field(
    app_client: ApiClient, change: dict, field: str, status: int
) -> None:
    master = await app_client.login_as("master")
    g = await app_client.group()
    body = {**_new_user("campaign_admin", [g]), **change}
    r = await master.post("/api/v1/users", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"] == "validation_failed" and r.json()["field"] == field, r.text
    assert r.json()["detail"]


async def test_user_names_are_unique(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    g = await app_client.group()
    assert (
        await master.post("/api/v1/users", json=_new_user("campaign_admin", [g]))
    ).status_code == 201
    r = await master.post("/api/v1/users", json=_new_user("campaign_supervisor", [g]))
    assert r.status_code == 409 and r.json()["field"] == "username", r.text
    assert "taken" in r.json()["detail"]


async def test_manager_manages_only_campaign_roles_of_its_groups(app_client: ApiClient) -> None:
    mine, theirs = await app_client.group(), await app_client.group()
    manager = await app_client.login_as("manager", [mine])
    r = await manager.post("/api/v1/users", json=_new_user("campaign_admin", [mine]))
    assert r.status_code == 201, r.text
    r = await manager.post("/api/v1/users", json=_new_user("campaign_admin", [theirs], "other"))
    assert r.status_code == 403 and r.json()["field"] == "group_ids", r.text
    r = await manager.post("/api/v1/users", json=_new_user("manager", [mine], "boss"))
    assert r.status_code == 403 and r.json()["field"] == "role", r.text
    r = await manager.post("/api/v1/users", json=_new_user("master", [], "root"))
    assert r.status_code == 403, r.text

    foreign = await app_client.user("campaign_admin", [theirs], username="foreign")
    master = await app_client.user("master", username="the-master")
    listed = (await manager.get("/api/v1/users")).json()
    assert [u["username"] for u in listed["items"]] == ["newbie"]
    for uid in (foreign["id"], master["id"]):
        assert (await manager.get(f"/api/v1/users/{uid}")).status_code == 404
        assert (
            await manager.patch(f"/api/v1/users/{uid}", json={"first_name": "x"})
        ).status_code == 404
        assert (await manager.delete(f"/api/v1/users/{uid}")).status_code == 404


async def test_manager_edits_only_its_own_groups_of_a_shared_user(app_client: ApiClient) -> None:
    mine, mine2, theirs = [await app_client.group() for _ in range(3)]
    manager = await app_client.login_as("manager", [mine, mine2])
    shared = await app_client.user("campaign_supervisor", [mine, theirs])
    r = await manager.patch(f"/api/v1/users/{shared['id']}", json={"group_ids": [mine2]})
    assert r.status_code == 200, r.text
    assert r.json()["group_ids"] == sorted([mine2, theirs])  # the foreign group stays
    r = await manager.patch(f"/api/v1/users/{shared['id']}", json={"group_ids": [theirs]})
    assert r.status_code == 403 and r.json()["field"] == "group_ids"
    r = await manager.delete(f"/api/v1/users/{shared['id']}")
    assert r.status_code == 403 and "groups you do not manage" in r.json()["detail"]


@pytest.mark.parametrize("role", ["campaign_admin", "campaign_supervisor"])
async def test_campaign_roles_do_not_manage_users(app_client: ApiClient, role: str) -> None:
    g = await app_client.group()
    client = await app_client.login_as(role, [g])
    colleague = await app_client.user("campaign_admin", [g])
    assert (await client.get("/api/v1/users")).status_code == 403
    assert (await client.get(f"/api/v1/users/{colleague['id']}")).status_code == 403
    r = await client.post("/api/v1/users", json=_new_user("campaign_admin", [g]))
    assert r.status_code == 403 and r.json()["error"] == "forbidden"


async def test_only_a_master_resets_passwords(app_client: ApiClient) -> None:
    g = await app_client.group()
    master = await app_client.login_as("master")
    manager = await app_client.login_as("manager", [g])
    target = await app_client.user("campaign_admin", [g])
    session = await app_client.login(target["username"])
    url = f"/api/v1/users/{target['id']}/password"
    r = await manager.post(url, json={"password": NEW_PW})
    assert r.status_code == 403 and "Master" in r.json()["detail"]
    r = await master.post(url, json={"password": "short"})
    assert r.status_code == 422 and r.json()["field"] == "password"
    r = await master.post(url, json={"password": NEW_PW})
    assert r.status_code == 204, r.text
    # Old sessions end; the old password fails; the new one works.
    assert (await session.get("/api/v1/auth/me")).status_code == 401
    old = await app_client.post(
        "/api/v1/auth/login", json={"username": target["username"], "password": PASSWORD}
    )
    assert old.status_code == 401
    assert (await app_client.login(target["username"], NEW_PW)).user["id"] == target["id"]
    assert (
        await master.post("/api/v1/users/999999/password", json={"password": NEW_PW})
    ).status_code == 404


async def test_passwords_change_only_through_the_reset_route(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    g = await app_client.group()
    target = await app_client.user("campaign_admin", [g])
    r = await master.patch(f"/api/v1/users/{target['id']}", json={"password": NEW_PW})
    assert r.status_code == 422 and r.json()["field"] == "password", r.text


async def test_no_one_deletes_or_demotes_themselves(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    me = master.user["id"]
    r = await master.delete(f"/api/v1/users/{me}")
    assert r.status_code == 409 and "yourself" in r.json()["detail"]
    g = await app_client.group()
    r = await master.patch(f"/api/v1/users/{me}", json={"role": "manager", "group_ids": [g]})
    assert r.status_code == 409 and r.json()["field"] == "role"
    other = await app_client.user("master")
    assert (await master.delete(f"/api/v1/users/{other['id']}")).status_code == 204


async def test_unknown_and_malformed_user_ids(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    assert (await master.get("/api/v1/users/424242")).status_code == 404
    assert (await master.get("/api/v1/users/0")).status_code == 422
    assert (await master.get(f"/api/v1/users/{2**40}")).status_code == 422
    assert (await master.get("/api/v1/users/abc")).status_code == 404  # no such route
