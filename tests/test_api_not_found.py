"""An object outside the caller's scope is answered exactly as a missing one — same
status, same body byte for byte (the id itself aside) — for every resource kind, in
the JSON API and on the HTML pages, so a 404 never confirms that an id exists."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from api_client import ApiClient
from test_ui_pages import browser_session, htmx

LEADS_CSV = "name,phone\nAna Souza,(41) 98102-1119\nBruno Lima,+55 11 91234-5678\n"
MISSING = 10**6  # added to an existing id: an id nobody has


@dataclass
class World:
    own_group: int
    foreign_group: int
    own_campaign: int
    foreign_campaign: int
    foreign_lead: int
    foreign_user: int
    foreign_token: int
    dnc_service: int


async def _campaign_with_leads(app: ApiClient, group: int, name: str) -> tuple[int, int]:
    admin = await app.login_as("campaign_admin", [group])
    r = await admin.post(
        "/api/v1/campaigns",
        json={
            "name": name,
            "group_id": group,
            "start_date": "2030-01-07",
            "end_date": "2030-01-11",
            "start_time": "09:00",
            "end_time": "18:00",
            "pilot_number": "4000",
            "default_region": "BR",
        },
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await admin.post(
        f"/api/v1/campaigns/{cid}/leads",
        content=LEADS_CSV.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code in (200, 201), r.text
    leads = (await admin.get(f"/api/v1/campaigns/{cid}/leads")).json()["items"]
    return cid, leads[0]["id"]


async def build(app: ApiClient) -> World:
    own, foreign = await app.group("own"), await app.group("foreign")
    own_campaign, _ = await _campaign_with_leads(app, own, "Own")
    foreign_campaign, foreign_lead = await _campaign_with_leads(app, foreign, "Foreign")
    stranger = await app.user("campaign_admin", [foreign])
    someone = await app.login_as("campaign_supervisor", [foreign])
    tokens = (await someone.get("/api/v1/auth/tokens")).json()["items"]
    master = await app.login_as("master")
    sid = (
        await master.post(
            "/api/v1/dnc-services",
            json={"name": "Registry", "kind": "http", "url": "https://dnc.example/x"},
        )
    ).json()["id"]
    return World(
        own,
        foreign,
        own_campaign,
        foreign_campaign,
        foreign_lead,
        stranger["id"],
        tokens[0]["id"],
        sid,
    )


def api_requests(w: World) -> list[tuple[str, str, int, str, Any]]:
    """(caller's role, method, the foreign id, path with {id}, JSON body)."""
    fc, lead = w.foreign_campaign, w.foreign_lead
    return [
        ("manager", "GET", w.foreign_user, "/api/v1/users/{id}", None),
        ("manager", "PATCH", w.foreign_user, "/api/v1/users/{id}", {"first_name": "X"}),
        ("manager", "DELETE", w.foreign_user, "/api/v1/users/{id}", None),
        ("manager", "GET", w.foreign_group, "/api/v1/groups/{id}", None),
        ("manager", "PATCH", w.foreign_group, "/api/v1/groups/{id}", {"enabled": False}),
        ("campaign_admin", "GET", w.foreign_group, "/api/v1/groups/{id}", None),
        ("campaign_admin", "GET", fc, "/api/v1/campaigns/{id}", None),
        ("campaign_admin", "PATCH", fc, "/api/v1/campaigns/{id}", {"description": "x"}),
        ("campaign_admin", "DELETE", fc, "/api/v1/campaigns/{id}", None),
        ("campaign_admin", "POST", fc, "/api/v1/campaigns/{id}/start", None),
        ("campaign_admin", "POST", fc, "/api/v1/campaigns/{id}/stop", None),
        ("campaign_supervisor", "GET", fc, "/api/v1/campaigns/{id}/summary", None),
        ("campaign_supervisor", "GET", fc, "/api/v1/campaigns/{id}/leads", None),
        ("campaign_admin", "GET", fc, "/api/v1/campaigns/{id}/leads/" + str(lead), None),
        ("campaign_supervisor", "GET", fc, "/api/v1/campaigns/{id}/schedules", None),
        (
            "campaign_admin",
            "PATCH",
            fc,
            "/api/v1/campaigns/{id}/schedules",
            {"start_time": "10:00", "end_time": "17:00"},
        ),
        ("campaign_supervisor", "GET", fc, "/api/v1/campaigns/{id}/calls", None),
        # One schedule day of another group's campaign (the routes of issue 15 §3).
        ("campaign_supervisor", "GET", fc, "/api/v1/campaigns/{id}/schedules/2030-01-08", None),
        (
            "campaign_admin",
            "PATCH",
            fc,
            "/api/v1/campaigns/{id}/schedules/2030-01-08",
            {"start_time": "10:00"},
        ),
        ("campaign_admin", "DELETE", fc, "/api/v1/campaigns/{id}/schedules/2030-01-08", None),
        # A lead of another campaign, through a campaign of one's own.
        ("campaign_admin", "GET", lead, f"/api/v1/campaigns/{w.own_campaign}/leads/{{id}}", None),
        (
            "campaign_admin",
            "DELETE",
            lead,
            f"/api/v1/campaigns/{w.own_campaign}/leads/{{id}}",
            None,
        ),
        ("campaign_admin", "DELETE", w.foreign_token, "/api/v1/auth/tokens/{id}", None),
        ("manager", "GET", w.dnc_service, "/api/v1/dnc-services/{id}", None),  # 403 both
    ]


async def _same_answer(
    client: httpx.AsyncClient, method: str, path: str, found: int, body: Any, headers: Any = None
) -> tuple[int, bytes]:
    answers = []
    for oid in (found, found + MISSING):
        kwargs: dict[str, Any] = {"headers": headers}
        if isinstance(body, dict) and method != "GET":
            kwargs["json" if headers is None else "data"] = body
        r = await client.request(method, path.replace("{id}", str(oid)), **kwargs)
        content = r.content  # an HTML error says nothing of the id; JSON details name it
        if r.headers.get("content-type", "").startswith("application/json"):
            content = re.sub(rb"(?<!\w)%d(?!\w)" % oid, b"{id}", content)
        answers.append((r.status_code, content))
    assert answers[0] == answers[1], (method, path, answers)
    return answers[0]


async def test_api_answers_foreign_objects_as_missing_ones(app_client: ApiClient) -> None:
    w = await build(app_client)
    callers = {
        role: await app_client.login_as(role, [w.own_group])
        for role in ("manager", "campaign_admin", "campaign_supervisor")
    }
    kinds = set()
    for role, method, oid, path, body in api_requests(w):
        status, content = await _same_answer(callers[role], method, path, oid, body)
        assert status == (403 if "dnc-services" in path else 404), (path, content)
        kinds.add(path.split("/")[3])
    assert kinds == {"users", "groups", "campaigns", "auth", "dnc-services"}


@pytest.mark.parametrize(
    ("role", "paths"),
    [
        ("manager", ["/users/{id}/edit", "/users/{id}/delete"]),
        ("manager", ["/groups/{id}/edit"]),
        (
            "campaign_admin",
            [
                "/campaigns/{id}/edit",
                "/campaigns/{id}/leads",
                "/campaigns/{id}/leads/upload",
                "/campaigns/{id}/schedules",
                "/campaigns/{id}/summary",
                "/campaigns/{id}/summary/panel",
                "/campaigns/{id}/calls",
                "/campaigns/{id}/delete",
                "/campaigns/{id}/schedules/add",
            ],
        ),
    ],
)
async def test_pages_answer_foreign_objects_as_missing_ones(
    app_client: ApiClient, role: str, paths: list[str]
) -> None:
    w = await build(app_client)
    user = await app_client.user(role, [w.own_group])
    browser = await browser_session(app_client, user["username"])
    ids = {"users": w.foreign_user, "groups": w.foreign_group, "campaigns": w.foreign_campaign}
    for path in paths:
        oid = ids[path.split("/")[1]]
        status, _ = await _same_answer(browser, "GET", path, oid, None)
        assert status == 404, path
        # htmx gets the error in the modal area (it does not swap 4xx bodies).
        status, body = await _same_answer(browser, "GET", path, oid, None, htmx(browser))
        assert status == 200 and b"Not found" in body, path
    if role == "campaign_admin":
        for lead_path in (
            f"/campaigns/{w.own_campaign}/leads/{{id}}/edit",
            f"/campaigns/{w.own_campaign}/leads/{{id}}/delete",
        ):
            status, _ = await _same_answer(browser, "GET", lead_path, w.foreign_lead, None)
            assert status == 404, lead_path
        for action in ("start", "stop"):
            status, body = await _same_answer(
                browser,
                "POST",
                f"/campaigns/{{id}}/{action}",
                w.foreign_campaign,
                {},
                htmx(browser),
            )
            assert status == 200 and b"Not found" in body
