"""/api/v1/dnc-services over HTTP: create/read/update/delete, validation with the field
named, the built-in Embedded Service (409 on PATCH/DELETE), services in use (409),
kinds from plugins, and who may (Master and Campaign Administrators manage;
Supervisors read; Managers nothing)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import trustme
from api_client import ApiClient

from opendialer.core.plugins import get_plugin_manager
from opendialer.core.services import campaigns
from opendialer.core.services.common import SYSTEM
from opendialer.sdk.hookspecs import hookimpl

HTTP_SERVICE = {"name": "National list", "kind": "http", "url": "https://dnc.example/check"}


async def _embedded_id(client) -> int:
    items = (await client.get("/api/v1/dnc-services")).json()["items"]
    return next(s["id"] for s in items if s["builtin"])


async def _campaign_using(group_id: int, service_id: int, name: str) -> int:
    today = date.today()
    created = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": name,
            "group_id": group_id,
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=7)).isoformat(),
            "start_time": "09:00",
            "end_time": "17:00",
            "pilot_number": "5000",
            "dnc_service_id": service_id,
        },
    )
    return int(created["id"])


@pytest.mark.parametrize("role", ["master", "campaign_admin"])
async def test_master_and_campaign_admins_manage_services(app_client: ApiClient, role: str) -> None:
    g = await app_client.group()
    client = await app_client.login_as(role, [] if role == "master" else [g])
    r = await client.post("/api/v1/dnc-services", json=HTTP_SERVICE)
    assert r.status_code == 201, r.text
    created = r.json()
    assert {
        k: created[k] for k in ("name", "kind", "url", "timeout_ms", "insecure", "builtin")
    } == {
        "name": "National list",
        "kind": "http",
        "url": "https://dnc.example/check",
        "timeout_ms": 2000,
        "insecure": False,
        "builtin": False,
    }
    sid = created["id"]
    r = await client.patch(f"/api/v1/dnc-services/{sid}", json={"timeout_ms": 800, "name": "BR"})
    assert r.status_code == 200, r.text
    assert (r.json()["timeout_ms"], r.json()["name"]) == (800, "BR")
    assert r.json()["updated_at"] > created["updated_at"]  # nodes rebuild the provider
    assert (await client.get(f"/api/v1/dnc-services/{sid}")).json()["name"] == "BR"
    assert (await client.delete(f"/api/v1/dnc-services/{sid}")).status_code == 204
    assert (await client.get(f"/api/v1/dnc-services/{sid}")).status_code == 404


async def test_the_list_starts_with_the_embedded_service_and_is_paginated(
    app_client: ApiClient,
) -> None:
    master = await app_client.login_as("master")
    for n in range(3):
        r = await master.post("/api/v1/dnc-services", json={**HTTP_SERVICE, "name": f"list {n}"})
        assert r.status_code == 201
    body = (await master.get("/api/v1/dnc-services", params={"per_page": 2})).json()
    assert (body["total"], body["page"], body["per_page"]) == (4, 1, 2)
    first = body["items"][0]
    assert (first["name"], first["kind"], first["builtin"]) == (
        "Embedded Service",
        "embedded",
        True,
    )
    assert body["items"][1]["name"] == "list 0"


async def test_supervisors_read_and_managers_see_nothing(app_client: ApiClient) -> None:
    g = await app_client.group()
    supervisor = await app_client.login_as("campaign_supervisor", [g])
    manager = await app_client.login_as("manager", [g])
    embedded = await _embedded_id(supervisor)
    assert (await supervisor.get(f"/api/v1/dnc-services/{embedded}")).status_code == 200
    r = await supervisor.post("/api/v1/dnc-services", json=HTTP_SERVICE)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    r = await manager.get("/api/v1/dnc-services")
    assert r.status_code == 403 and "Do-Not-Call" in r.json()["detail"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "carrier-pigeon"}, "kind"),
        ({"kind": "http", "url": None}, "url"),
        ({"url": "ftp://dnc.example/"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "http://dnc.example/check"}, "url"),  # plain http needs insecure
        ({"kind": "embedded"}, "url"),  # an embedded list has no url
        ({"timeout_ms": 10}, "timeout_ms"),
        ({"timeout_ms": 600_000}, "timeout_ms"),
        ({"ca_bundle": "not a certificate"}, "ca_bundle"),
        ({"options": ["retries", 2]}, "options"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_service_validation_names_the_field(
    app_client: ApiClient, body: dict, field: str
) -> None:
    master = await app_client.login_as("master")
    r = await master.post("/api/v1/dnc-services", json={**HTTP_SERVICE, **body})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_failed" and r.json()["field"] == field, r.text


async def test_kind_is_required_and_the_error_lists_the_kinds(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    r = await master.post("/api/v1/dnc-services", json={"name": "no kind"})
    assert r.status_code == 422 and r.json()["field"] == "kind", r.text
    r = await master.post("/api/v1/dnc-services", json={**HTTP_SERVICE, "kind": "x"})
    assert "embedded" in r.json()["detail"] and "http" in r.json()["detail"]


async def test_http_service_options(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    ca_pem = trustme.CA().cert_pem.bytes().decode()
    r = await master.post(
        "/api/v1/dnc-services",
        json={
            **HTTP_SERVICE,
            "ca_bundle": ca_pem,
            "timeout_ms": 500,
            "options": {"retries": 1},
        },
    )
    assert r.status_code == 201, r.text
    assert (r.json()["ca_bundle"], r.json()["options"]) == (ca_pem, {"retries": 1})
    r = await master.post(
        "/api/v1/dnc-services",
        json={"name": "lab", "kind": "http", "url": "http://10.0.0.5/dnc", "insecure": True},
    )
    assert r.status_code == 201 and r.json()["insecure"] is True, r.text
    # Turning the lab service into an embedded list: its url has to go.
    sid = r.json()["id"]
    r = await master.patch(f"/api/v1/dnc-services/{sid}", json={"kind": "embedded"})
    assert r.status_code == 422 and r.json()["field"] == "url"
    r = await master.patch(f"/api/v1/dnc-services/{sid}", json={"kind": "embedded", "url": None})
    assert r.status_code == 200 and r.json()["url"] is None, r.text


async def test_service_names_are_unique(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    assert (await master.post("/api/v1/dnc-services", json=HTTP_SERVICE)).status_code == 201
    r = await master.post("/api/v1/dnc-services", json=HTTP_SERVICE)
    assert r.status_code == 409 and r.json()["field"] == "name", r.text
    r = await master.post("/api/v1/dnc-services", json={**HTTP_SERVICE, "name": "Embedded Service"})
    assert r.status_code == 409


async def test_the_embedded_service_refuses_changes_and_deletion(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    embedded = await _embedded_id(master)
    r = await master.patch(f"/api/v1/dnc-services/{embedded}", json={"timeout_ms": 900})
    assert r.status_code == 409 and r.json()["error"] == "builtin_service", r.text
    assert "import its numbers" in r.json()["detail"]
    r = await master.delete(f"/api/v1/dnc-services/{embedded}")
    assert r.status_code == 409 and r.json()["error"] == "builtin_service", r.text
    assert (await master.get(f"/api/v1/dnc-services/{embedded}")).json()["timeout_ms"] == 2000


async def test_a_service_in_use_cannot_be_deleted(app_client: ApiClient) -> None:
    mine, theirs = await app_client.group(), await app_client.group()
    admin = await app_client.login_as("campaign_admin", [mine])
    sid = (await admin.post("/api/v1/dnc-services", json=HTTP_SERVICE)).json()["id"]
    await _campaign_using(mine, sid, "Mine")
    await _campaign_using(theirs, sid, "Secret")
    r = await admin.delete(f"/api/v1/dnc-services/{sid}")
    assert r.status_code == 409 and r.json()["error"] == "service_in_use", r.text
    detail = r.json()["detail"]
    assert "2 campaign(s)" in detail and "'Mine'" in detail
    assert "Secret" not in detail  # another group's campaign is not named
    assert (await admin.get(f"/api/v1/dnc-services/{sid}")).status_code == 200


async def test_kinds_registered_by_plugins_are_accepted(app_client: ApiClient) -> None:
    class AcmeDnc:
        @hookimpl
        def register_dnc_providers(self):
            return {"acme": object}

    pm = get_plugin_manager()
    assert pm.register(AcmeDnc(), name="acme_dnc_test")
    try:
        master = await app_client.login_as("master")
        r = await master.post("/api/v1/dnc-services", json={"name": "Acme", "kind": "acme"})
        assert r.status_code == 201 and r.json()["kind"] == "acme", r.text
    finally:
        pm.unregister("acme_dnc_test")
    r = await master.post("/api/v1/dnc-services", json={"name": "Acme 2", "kind": "acme"})
    assert r.status_code == 422 and r.json()["field"] == "kind"


async def test_unknown_service_is_404(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    for method in ("GET", "DELETE"):
        r = await master.request(method, "/api/v1/dnc-services/777777")
        assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = await master.patch("/api/v1/dnc-services/777777", json={"timeout_ms": 900})
    assert r.status_code == 404
