"""``POST /api/v1/dnc-services/{id}/numbers`` through the whole application: who may
import, CSV body and multipart, refusals with line numbers, replace."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from api_client import ApiClient

from opendialer.core import dnc
from opendialer.core.services import dnc_numbers

pytestmark = pytest.mark.pg


@pytest.fixture(autouse=True)
async def close_providers() -> AsyncIterator[None]:
    yield
    await dnc.close_all()


async def embedded_id() -> int:
    return int((await dnc_numbers.find_service())["id"])


async def test_campaign_admin_imports_and_the_list_answers(app_client: ApiClient) -> None:
    group = await app_client.group()
    admin = await app_client.login_as("campaign_admin", [group])
    service_id = await embedded_id()
    r = await admin.post(
        f"/api/v1/dnc-services/{service_id}/numbers",
        content=b"phone\n554181021119\n(41) 98102-1119\n",
        headers={"content-type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["mode"] == "append" and report["added"] == 2 and report["on_list"] == 2
    assert report["list_version"] == 1 and report["invalid"] == []
    r = await admin.post(
        f"/api/v1/dnc-services/{service_id}/numbers",
        files={"file": ("dnc.csv", b"12025550123\n", "text/csv")},
        params={"region": "US", "replace": "true"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["mode"] == "replace" and r.json()["on_list"] == 1
    assert set((await dnc_numbers.read_numbers(service_id)).tolist()) == {12025550123}


async def test_refusals(app_client: ApiClient) -> None:
    group = await app_client.group()
    supervisor = await app_client.login_as("campaign_supervisor", [group])
    master = await app_client.login_as("master")
    service_id = await embedded_id()
    url = f"/api/v1/dnc-services/{service_id}/numbers"
    csv = {"content-type": "text/csv"}
    r = await supervisor.post(url, content=b"554181021119\n", headers=csv)
    assert r.status_code == 403 and "Campaign Administrators" in r.json()["detail"]
    r = await app_client.post(url, content=b"554181021119\n", headers=csv)
    assert r.status_code == 401
    r = await master.post(url, content=b"554181021119\nbogus\n", headers=csv)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["line"] == 2 and body["invalid"][0]["text"] == "bogus"
    r = await master.post(f"{url}?skip_invalid=true", content=b"554181021119\nbogus\n", headers=csv)
    assert r.status_code == 201 and r.json()["invalid_count"] == 1
    r = await master.post(
        "/api/v1/dnc-services/999999/numbers", content=b"554181021119\n", headers=csv
    )
    assert r.status_code == 404
    r = await master.post(url, content=b"{}", headers={"content-type": "application/json"})
    assert r.status_code == 415


async def test_donotcall_is_served_by_the_application(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    r = await master.post(
        f"/api/v1/dnc-services/{await embedded_id()}/numbers",
        content=b"554181021119\n",
        headers={"content-type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    # public, like the product guide's service: no credentials
    r = await app_client.post("/donotcall", json={"number": "554181021119"})
    assert r.status_code == 200 and r.json() == {"number": "554181021119", "doNotCall": True}
    r = await app_client.post("/donotcall", json={"number": "abc"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_number"
