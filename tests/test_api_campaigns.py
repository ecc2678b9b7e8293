"""/api/v1/campaigns over HTTP: fields, ranges and defaults, unique names, group
scoping by role, STOPPED-only changes, disabled groups, start/stop and its hook,
the summary."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from api_client import ApiClient

from opendialer.core.plugins import get_plugin_manager
from opendialer.core.storage.tables import Lead
from opendialer.sdk.hookspecs import hookimpl

START = date.today() + timedelta(days=7)


def campaign_body(group_id: int, name: str = "Black Friday", **extra: Any) -> dict[str, Any]:
    body = {
        "name": name,
        "group_id": group_id,
        "start_date": START.isoformat(),
        "end_date": (START + timedelta(days=13)).isoformat(),
        "start_time": "09:00",
        "end_time": "17:30",
        "pilot_number": "4000",
    }
    body.update(extra)
    return body


async def give_leads(admin: Any, cid: int, count: int = 1) -> None:
    """Leads to call: Start refuses a campaign with none."""
    csv_text = "".join(f"Lead {n},+1 202 555 02{n:02d}\n" for n in range(count))
    r = await admin.post(
        f"/api/v1/campaigns/{cid}/leads", content=csv_text, headers={"Content-Type": "text/csv"}
    )
    assert r.status_code == 201, r.text


async def admin_and_group(app_client: ApiClient) -> tuple[Any, int]:
    group = await app_client.group()
    return await app_client.login_as("campaign_admin", [group]), group


async def test_create_with_defaults_and_read_back(app_client: ApiClient) -> None:
    admin, group = await admin_and_group(app_client)
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created == {
        **created,
        "name": "Black Friday",
        "group_id": group,
        "start_time": "09:00:00",
        "end_time": "17:30:00",
        "timezone": "UTC",
        "weekdays": ["mon", "tue", "wed", "thu", "fri"],
        "max_attempts": 5,
        "retry_after_minutes": 60,
        "type": "OSCC",
        "amd_enabled": True,
        "state": "STOPPED",
        "default_region": "US",
        "amd_params": {},
        "caller_id": None,
        "routing_target": None,
        "no_answer_timeout_s": 30,
    }
    assert isinstance(created["id"], int) and created["dnc_service_id"] is not None
    assert (await admin.get(f"/api/v1/campaigns/{created['id']}")).json() == created
    listed = (await admin.get("/api/v1/campaigns")).json()
    assert listed["total"] == 1 and listed["items"] == [created]


async def test_every_field_round_trips_and_patch_changes_only_what_is_sent(
    app_client: ApiClient,
) -> None:
    admin, group = await admin_and_group(app_client)
    body = campaign_body(
        group,
        description="Q4 offers",
        timezone="America/Sao_Paulo",
        weekdays=["sat", "mon"],
        max_attempts=100,
        retry_after_minutes=1440,
        type="IVR",
        queue="sales",
        amd_enabled=False,
        dnc_service_id=None,
        amd_params={"preset": "accurate", "greeting_ms": 4200, "on_notsure": "hangup"},
        default_region="BR",
        caller_id="551130000000",
        no_answer_timeout_s=45,
        routing_target="static",
    )
    r = await admin.post("/api/v1/campaigns", json=body)
    assert r.status_code == 201, r.text
    got = r.json()
    for key, value in body.items():
        if key in ("start_time", "end_time"):
            assert got[key] == value + ":00"
        elif key == "weekdays":
            assert got[key] == ["mon", "sat"]  # stored in week order
        else:
            assert got[key] == value, key
    r = await admin.patch(f"/api/v1/campaigns/{got['id']}", json={"max_attempts": 1, "queue": ""})
    assert r.status_code == 200, r.text
    assert r.json() == {**got, "max_attempts": 1, "queue": ""}


@pytest.mark.parametrize(
    "field, value",
    [
        ("max_attempts", 0),
        ("max_attempts", 101),
        ("retry_after_minutes", 0),
        ("retry_after_minutes", 1441),
        ("timezone", "Mars/Olympus_Mons"),
        ("weekdays", ["mon", "funday"]),
        ("weekdays", []),
        ("type", "SMS"),
        ("end_time", "08:00"),
        ("start_time", "9am"),
        ("end_date", (START - timedelta(days=1)).isoformat()),
        ("default_region", "XX"),
        ("routing_target", "carrier-pigeon"),
        ("no_answer_timeout_s", 4),
        ("name", ""),
        ("state", "STARTED"),
        ("color", "red"),
    ],
)
async def test_bad_fields_are_422_naming_the_field(
    app_client: ApiClient, field: str, value: Any
) -> None:
    admin, group = await admin_and_group(app_client)
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group, **{field: value}))
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_failed"
    assert field in r.json().get("field", "") + r.json()["detail"]
    assert (await admin.get("/api/v1/campaigns")).json()["total"] == 0


@pytest.mark.parametrize(
    "amd_params, detail",
    [
        ({"on_machine": "drop"}, "amd_params.on_machine: 'drop' is not an action"),
        ({"on_notsure": "HANGUP"}, "amd_params.on_notsure: 'HANGUP' is not an action"),
        ({"preset": "slow"}, "amd_params.preset: 'slow' is not a preset of the numpy strategy"),
        ({"preset": ["fast"]}, "amd_params.preset: ['fast'] is not a preset"),
        ({"strategy": "crystal_ball"}, "amd_params.strategy: 'crystal_ball' is not an installed"),
        ({"greeting_ms": 1}, "amd_params: AMD parameter greeting_ms: 1 is out of range"),
        ({"greting_ms": 3000}, "amd_params: unknown AMD parameter 'greting_ms'"),
        ({"preset": "fast", "totalAnalysisTime": "soon"}, "totalAnalysisTime"),
    ],
)
async def test_bad_amd_params_are_422_naming_the_key_and_nothing_is_saved(
    app_client: ApiClient, amd_params: dict[str, Any], detail: str
) -> None:
    admin, group = await admin_and_group(app_client)
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group, amd_params=amd_params))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "amd_params" and detail in r.json()["detail"], r.json()
    assert (await admin.get("/api/v1/campaigns")).json()["total"] == 0
    good = {"preset": "fast", "on_silence": "transfer"}
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group, amd_params=good))
    assert r.status_code == 201, r.text
    r = await admin.patch(f"/api/v1/campaigns/{r.json()['id']}", json={"amd_params": amd_params})
    assert r.status_code == 422 and r.json()["field"] == "amd_params", r.text
    (stored,) = (await admin.get("/api/v1/campaigns")).json()["items"]
    assert stored["amd_params"] == good


async def test_unknown_group_and_dnc_service_are_422(app_client: ApiClient) -> None:
    admin, group = await admin_and_group(app_client)
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group, dnc_service_id=999999))
    assert r.status_code == 422 and r.json()["field"] == "dnc_service_id", r.text


async def test_campaign_names_are_unique(app_client: ApiClient) -> None:
    admin, group = await admin_and_group(app_client)
    assert (await admin.post("/api/v1/campaigns", json=campaign_body(group))).status_code == 201
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group))
    assert r.status_code == 409 and r.json()["field"] == "name", r.text
    other = (await admin.post("/api/v1/campaigns", json=campaign_body(group, "Other"))).json()
    r = await admin.patch(f"/api/v1/campaigns/{other['id']}", json={"name": "Black Friday"})
    assert r.status_code == 409 and r.json()["field"] == "name", r.text


async def test_group_scoping_hides_other_groups_campaigns(app_client: ApiClient) -> None:
    mine, theirs = await app_client.group(), await app_client.group()
    admin = await app_client.login_as("campaign_admin", [mine])
    other_admin = await app_client.login_as("campaign_admin", [theirs])
    foreign = (await other_admin.post("/api/v1/campaigns", json=campaign_body(theirs))).json()
    assert (await admin.get("/api/v1/campaigns")).json()["total"] == 0
    cid = foreign["id"]
    for method, path in [
        ("GET", f"/api/v1/campaigns/{cid}"),
        ("PATCH", f"/api/v1/campaigns/{cid}"),
        ("DELETE", f"/api/v1/campaigns/{cid}"),
        ("POST", f"/api/v1/campaigns/{cid}/start"),
        ("POST", f"/api/v1/campaigns/{cid}/stop"),
        ("GET", f"/api/v1/campaigns/{cid}/summary"),
    ]:
        r = await admin.request(method, path, json={} if method == "PATCH" else None)
        assert r.status_code == 404, (method, path, r.text)
    r = await admin.post("/api/v1/campaigns", json=campaign_body(theirs, "Sneaky"))
    assert r.status_code == 403 and r.json()["field"] == "group_id", r.text
    own = (await admin.post("/api/v1/campaigns", json=campaign_body(mine, "Mine"))).json()
    r = await admin.patch(f"/api/v1/campaigns/{own['id']}", json={"group_id": theirs})
    assert r.status_code == 403, r.text
    assert (await other_admin.get(f"/api/v1/campaigns/{cid}")).json()["state"] == "STOPPED"


async def test_supervisor_reads_but_never_writes(app_client: ApiClient) -> None:
    admin, group = await admin_and_group(app_client)
    supervisor = await app_client.login_as("campaign_supervisor", [group])
    cid = (await admin.post("/api/v1/campaigns", json=campaign_body(group))).json()["id"]
    for path in ("", "/summary", "/schedules", "/leads", "/calls"):
        r = await supervisor.get(f"/api/v1/campaigns/{cid}{path}")
        assert r.status_code == 200, (path, r.text)
    assert (await supervisor.get("/api/v1/campaigns")).json()["total"] == 1
    for method, path, body in [
        ("POST", "/api/v1/campaigns", campaign_body(group, "New")),
        ("PATCH", f"/api/v1/campaigns/{cid}", {"queue": "x"}),
        ("DELETE", f"/api/v1/campaigns/{cid}", None),
        ("POST", f"/api/v1/campaigns/{cid}/start", None),
        ("POST", f"/api/v1/campaigns/{cid}/stop", None),
    ]:
        r = await supervisor.request(method, path, json=body)
        assert r.status_code == 403, (method, path, r.text)
    assert (await admin.get(f"/api/v1/campaigns/{cid}")).json()["queue"] == ""


@pytest.mark.parametrize("role", ["master", "manager"])
async def test_masters_and_managers_have_no_campaign_access(
    app_client: ApiClient, role: str
) -> None:
    admin, group = await admin_and_group(app_client)
    cid = (await admin.post("/api/v1/campaigns", json=campaign_body(group))).json()["id"]
    other = await app_client.login_as(role, [] if role == "master" else [group])
    for method, path, body in [
        ("GET", "/api/v1/campaigns", None),
        ("GET", f"/api/v1/campaigns/{cid}", None),
        ("GET", f"/api/v1/campaigns/{cid}/summary", None),
        ("POST", "/api/v1/campaigns", campaign_body(group, "Theirs")),
        ("POST", f"/api/v1/campaigns/{cid}/start", None),
    ]:
        r = await other.request(method, path, json=body)
        assert r.status_code == 403, (method, path, r.text)
        assert "Campaign Administrators" in r.json()["detail"]


async def test_settings_change_only_while_stopped(app_client: ApiClient) -> None:
    admin, group = await admin_and_group(app_client)
    cid = (await admin.post("/api/v1/campaigns", json=campaign_body(group))).json()["id"]
    await give_leads(admin, cid)
    r = await admin.post(f"/api/v1/campaigns/{cid}/start")
    assert r.status_code == 200 and r.json()["state"] == "STARTED", r.text
    r = await admin.patch(f"/api/v1/campaigns/{cid}", json={"queue": "late"})
    assert r.status_code == 409, r.text
    assert "stop it first" in r.json()["detail"]
    assert (await admin.delete(f"/api/v1/campaigns/{cid}")).status_code == 409
    assert (await admin.post(f"/api/v1/campaigns/{cid}/start")).status_code == 409
    r = await admin.post(f"/api/v1/campaigns/{cid}/stop")
    assert r.status_code == 200 and r.json()["state"] == "STOPPED", r.text
    assert (await admin.post(f"/api/v1/campaigns/{cid}/stop")).status_code == 409
    r = await admin.patch(f"/api/v1/campaigns/{cid}", json={"queue": "late"})
    assert r.status_code == 200 and r.json()["queue"] == "late"
    assert (await admin.delete(f"/api/v1/campaigns/{cid}")).status_code == 204
    assert (await admin.get(f"/api/v1/campaigns/{cid}")).status_code == 404


async def test_disabled_group_rules(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    g1, g2 = await app_client.group(), await app_client.group()
    admin = await app_client.login_as("campaign_admin", [g1, g2])
    running = (await admin.post("/api/v1/campaigns", json=campaign_body(g1, "Running"))).json()
    stopped = (await admin.post("/api/v1/campaigns", json=campaign_body(g1, "Stopped"))).json()
    elsewhere = (await admin.post("/api/v1/campaigns", json=campaign_body(g2, "Elsewhere"))).json()
    await give_leads(admin, running["id"])
    await give_leads(admin, stopped["id"])
    assert (await admin.post(f"/api/v1/campaigns/{running['id']}/start")).status_code == 200
    r = await master.patch(f"/api/v1/groups/{g1}", json={"enabled": False})
    assert r.status_code == 200, r.text

    # STARTED campaigns continue; STOPPED ones cannot start.
    assert (await admin.get(f"/api/v1/campaigns/{running['id']}")).json()["state"] == "STARTED"
    r = await admin.post(f"/api/v1/campaigns/{stopped['id']}/start")
    assert r.status_code == 409 and r.json()["error"] == "group_disabled", r.text
    assert "disabled" in r.json()["detail"]
    # No campaign is created in, or moved to, a disabled group.
    r = await admin.post("/api/v1/campaigns", json=campaign_body(g1, "New"))
    assert r.status_code == 409 and r.json()["field"] == "group_id", r.text
    r = await admin.patch(f"/api/v1/campaigns/{elsewhere['id']}", json={"group_id": g1})
    assert r.status_code == 409 and r.json()["error"] == "group_disabled", r.text
    # The running one can still be stopped by its administrator.
    assert (await admin.post(f"/api/v1/campaigns/{running['id']}/stop")).status_code == 200


async def test_start_and_stop_tell_plugins(app_client: ApiClient) -> None:
    admin, group = await admin_and_group(app_client)
    cid = (await admin.post("/api/v1/campaigns", json=campaign_body(group))).json()["id"]
    await give_leads(admin, cid)
    seen: list[tuple[str, str, str, str]] = []

    class Recorder:
        @hookimpl
        def campaign_state_changed(self, campaign, old_state, new_state, reason):
            seen.append((campaign["name"], old_state, new_state, reason))

    pm = get_plugin_manager()
    assert pm.register(Recorder(), name="state_recorder")
    try:
        await admin.post(f"/api/v1/campaigns/{cid}/start")
        await admin.post(f"/api/v1/campaigns/{cid}/stop")
    finally:
        pm.unregister("state_recorder")
    who = f"user:{admin.user['username']}"
    assert seen == [
        ("Black Friday", "STOPPED", "STARTED", who),
        ("Black Friday", "STARTED", "STOPPED", who),
    ]


async def test_summary_counts_leads_by_status(app_client: ApiClient) -> None:
    admin, group = await admin_and_group(app_client)
    cid = (await admin.post("/api/v1/campaigns", json=campaign_body(group))).json()["id"]
    csv_text = "".join(f"Lead {n},+1 202 555 01{n:02d}\n" for n in range(6))
    r = await admin.post(
        f"/api/v1/campaigns/{cid}/leads", content=csv_text, headers={"Content-Type": "text/csv"}
    )
    assert r.status_code == 201, r.text
    ids = [row["id"] for row in await Lead.select(Lead.id).order_by(Lead.id).run()]
    await Lead.update({Lead.status: "SUCCESS"}).where(Lead.id.is_in(ids[:2])).run()
    await Lead.update({Lead.status: "BUSY"}).where(Lead.id == ids[2]).run()
    r = await admin.get(f"/api/v1/campaigns/{cid}/summary")
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["name"] == "Black Friday" and summary["state"] == "STOPPED"
    assert summary["leads"] == {
        "total": 6,
        "NOT_CALLED": 3,
        "SUCCESS": 2,
        "FAILURE": 0,
        "BUSY": 1,
        "REJECTED": 0,
        "AMD": 0,
        "SERVICE_TEMPORARILY_UNAVAILABLE": 0,
        "DO_NOT_CALL": 0,
        "ABANDONED": 0,
        "MESSAGE_LEFT": 0,
        "UNKNOWN": 0,
    }


async def test_list_is_paginated_and_filtered_by_state(app_client: ApiClient) -> None:
    admin, group = await admin_and_group(app_client)
    ids = []
    for n in range(3):
        body = campaign_body(group, f"C{n}")
        ids.append((await admin.post("/api/v1/campaigns", json=body)).json()["id"])
    await give_leads(admin, ids[1])
    assert (await admin.post(f"/api/v1/campaigns/{ids[1]}/start")).status_code == 200
    page = (await admin.get("/api/v1/campaigns", params={"page": 2, "per_page": 2})).json()
    assert page["total"] == 3 and [c["name"] for c in page["items"]] == ["C2"]
    assert (page["page"], page["per_page"]) == (2, 2)
    started = (await admin.get("/api/v1/campaigns", params={"state": "STARTED"})).json()
    assert [c["id"] for c in started["items"]] == [ids[1]]
