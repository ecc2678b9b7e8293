"""/api/v1/campaigns/{id}/calls over HTTP: the call log (records made here directly in
the database, as the engine would), newest first, by status, time and number, with the
lead's name, by role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from api_client import ApiClient

from opendialer.core.storage.tables import CallRecord, Lead

T0 = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)


async def setup(app_client: ApiClient) -> tuple[Any, int, int]:
    group = await app_client.group()
    admin = await app_client.login_as("campaign_admin", [group])
    r = await admin.post(
        "/api/v1/campaigns",
        json={
            "name": "Calls",
            "group_id": group,
            "start_date": "2030-01-07",
            "end_date": "2030-01-11",
            "start_time": "09:00",
            "end_time": "18:00",
            "pilot_number": "4000",
        },
    )
    cid = r.json()["id"]
    r = await admin.post(
        f"/api/v1/campaigns/{cid}/leads",
        content="Ana,+1 202 555 0143\nBia,+1 202 555 0144\n",
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    return admin, cid, group


async def record(
    cid: int,
    lead_id: int,
    n: int,
    status: str | None,
    phone: str = "12025550143",
    **extra: Any,
) -> None:
    await (
        CallRecord(
            campaign=cid,
            lead=lead_id,
            attempt=n,
            call_id=f"call-{cid}-{lead_id}-{n}",
            phone=phone,
            created_at=T0 + timedelta(minutes=n),
            status=status,
            **extra,
        )
        .save()
        .run()
    )


async def test_call_log_newest_first_with_filters(app_client: ApiClient) -> None:
    admin, cid, _ = await setup(app_client)
    lead = (await Lead.select(Lead.id).order_by(Lead.id).first().run())["id"]
    await record(cid, lead, 1, "BUSY", sip_code=486, ended_at=T0 + timedelta(minutes=1, seconds=5))
    await record(
        cid,
        lead,
        2,
        "SUCCESS",
        sip_code=200,
        answered_at=T0 + timedelta(minutes=2, seconds=3),
        amd_verdict="human",
        amd_decision_ms=812.5,
        transfer_result="202 Accepted",
    )
    await record(cid, lead, 3, None)  # in flight
    url = f"/api/v1/campaigns/{cid}/calls"
    body = (await admin.get(url)).json()
    assert body["total"] == 3 and [c["attempt"] for c in body["items"]] == [3, 2, 1]
    success = body["items"][1]
    assert success | {"id": 0} == {
        "id": 0,
        "lead_id": lead,
        "lead_name": "Ana",
        "attempt": 2,
        "call_id": f"call-{cid}-{lead}-2",
        "node": "",
        "port": "",
        "phone": "12025550143",
        "created_at": "2030-01-07T12:02:00Z",
        "answered_at": "2030-01-07T12:02:03Z",
        "ended_at": None,
        "sip_code": 200,
        "disposition": "",
        "amd_verdict": "human",
        "amd_decision_ms": 812.5,
        "amd_reasons": "",
        "transfer_result": "202 Accepted",
        "dnc_service": None,
        "dnc_checked_at": None,
        "dnc_result": None,
        "status": "SUCCESS",
        "detail": "",
        "detail_code": None,
        "detail_params": None,
    }
    busy = (await admin.get(url, params={"status": "BUSY"})).json()
    assert [c["attempt"] for c in busy["items"]] == [1]
    live = (await admin.get(url, params={"status": "IN_PROGRESS"})).json()
    assert [c["attempt"] for c in live["items"]] == [3]
    since = (await admin.get(url, params={"since": "2030-01-07T12:02:00Z"})).json()
    assert [c["attempt"] for c in since["items"]] == [3, 2]
    naive = (await admin.get(url, params={"since": "2030-01-07T12:03:00"})).json()
    assert [c["attempt"] for c in naive["items"]] == [3]  # no offset: UTC
    page = (await admin.get(url, params={"page": 2, "per_page": 2})).json()
    assert page["total"] == 3 and [c["attempt"] for c in page["items"]] == [1]


async def test_call_log_by_number_with_the_lead_name(app_client: ApiClient) -> None:
    admin, cid, _ = await setup(app_client)
    ana, bia = [r["id"] for r in await Lead.select(Lead.id).order_by(Lead.id).run()]
    await record(cid, ana, 1, "BUSY")
    await record(cid, bia, 2, "SUCCESS", phone="12025550144")
    url = f"/api/v1/campaigns/{cid}/calls"
    for query in ("12025550144", "+1 (202) 555-0144", "0144"):
        body = (await admin.get(url, params={"phone": query})).json()
        assert [(c["lead_name"], c["phone"]) for c in body["items"]] == [("Bia", "12025550144")], (
            query
        )
    body = (await admin.get(url, params={"phone": "202555014"})).json()
    assert [c["lead_name"] for c in body["items"]] == ["Bia", "Ana"] and body["total"] == 2
    body = (await admin.get(url, params={"phone": "0144", "status": "BUSY"})).json()
    assert body["total"] == 0


async def test_bad_filters_are_422(app_client: ApiClient) -> None:
    admin, cid, _ = await setup(app_client)
    url = f"/api/v1/campaigns/{cid}/calls"
    r = await admin.get(url, params={"phone": "abc"})
    assert r.status_code == 422 and r.json()["field"] == "phone", r.text
    r = await admin.get(url, params={"status": "LOST"})
    assert r.status_code == 422 and r.json()["field"] == "status", r.text
    r = await admin.get(url, params={"since": "yesterday"})
    assert r.status_code == 422 and r.json()["field"] == "since", r.text


async def test_call_log_follows_campaign_visibility(app_client: ApiClient) -> None:
    _, cid, group = await setup(app_client)
    lead = (await Lead.select(Lead.id).first().run())["id"]
    await record(cid, lead, 1, "FAILURE")
    supervisor = await app_client.login_as("campaign_supervisor", [group])
    stranger = await app_client.login_as("campaign_supervisor", [await app_client.group()])
    manager = await app_client.login_as("manager", [group])
    url = f"/api/v1/campaigns/{cid}/calls"
    assert (await supervisor.get(url)).json()["total"] == 1
    assert (await stranger.get(url)).status_code == 404
    assert (await manager.get(url)).status_code == 403
    assert (await app_client.get(url)).status_code == 401
