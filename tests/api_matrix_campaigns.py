"""Permission-matrix rows of the campaign routes (campaigns, schedules and schedule days,
leads, calls, audit trail).

Campaign Administrators do everything on their groups' campaigns; Campaign
Supervisors read them (403 on changes); another group's campaign is a 404 for both;
Masters and Managers have no access to campaigns (403): the role table of DESIGN.md
§3 gives them users and groups, and campaigns to the Campaign Administrator.
"""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from api_matrix import Raw, Row, World, expect

from opendialer.core.services import campaign_states, campaigns, lead_import
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage.tables import Lead


def _campaign_body(world: World, scope: str) -> dict[str, Any]:
    return {
        "name": world.unique("campaign"),
        "group_id": world.group(scope),
        "start_date": "2030-01-07",
        "end_date": "2030-01-11",
        "start_time": "09:00",
        "end_time": "18:00",
        "pilot_number": "4000",
        "weekdays": ["mon", "tue", "wed", "thu"],  # Friday 2030-01-11 stays free
    }


async def campaign_target(world: World, role: str, scope: str) -> dict[str, Any]:
    """A fresh STOPPED campaign in the scope's group."""
    created = await campaigns.create_campaign(SYSTEM, _campaign_body(world, scope))
    return {"campaign_id": created["id"]}


async def startable_campaign_target(world: World, role: str, scope: str) -> dict[str, Any]:
    """A fresh STOPPED campaign with a lead to call (Start refuses one without)."""
    return await lead_target(world, role, scope)


async def schedule_target(world: World, role: str, scope: str) -> dict[str, Any]:
    """A fresh campaign and one of its days, by date."""
    return {**await campaign_target(world, role, scope), "day": "2030-01-08"}


async def started_campaign_target(world: World, role: str, scope: str) -> dict[str, Any]:
    params = await startable_campaign_target(world, role, scope)
    await campaign_states.start_campaign(SYSTEM, params["campaign_id"])
    return params


async def lead_target(world: World, role: str, scope: str) -> dict[str, Any]:
    """A fresh campaign with one lead."""
    params = await campaign_target(world, role, scope)
    with TemporaryDirectory() as folder:
        path = Path(folder) / "one.csv"
        path.write_text("Ann,+1 202 555 0143\n")
        await lead_import.import_file(SYSTEM, params["campaign_id"], path)
    lead = await Lead.select(Lead.id).where(Lead.campaign == params["campaign_id"]).first().run()
    return {**params, "lead_id": lead["id"]}


def _no_access(admin: Any, supervisor: Any) -> dict[str, Any]:
    return expect(master=403, manager=403, campaign_admin=admin, campaign_supervisor=supervisor)


READ = _no_access((200, 404), (200, 404))
LIST = _no_access(200, 200)


def _write(ok: int) -> dict[str, Any]:
    return _no_access((ok, 404), (403, 404))


ROWS: list[Row] = [
    Row("GET", "/api/v1/campaigns", LIST),
    Row(
        "POST",
        "/api/v1/campaigns",
        _no_access((201, 403), 403),
        body=lambda w, role, scope, params: _campaign_body(w, scope),
    ),
    Row("GET", "/api/v1/campaigns/{campaign_id}", READ, target=campaign_target),
    Row(
        "PATCH",
        "/api/v1/campaigns/{campaign_id}",
        _write(200),
        target=campaign_target,
        body=lambda w, role, scope, params: {"queue": "renamed"},
    ),
    Row("DELETE", "/api/v1/campaigns/{campaign_id}", _write(204), target=campaign_target),
    Row(
        "POST",
        "/api/v1/campaigns/{campaign_id}/start",
        _write(200),
        target=startable_campaign_target,
    ),
    Row(
        "POST", "/api/v1/campaigns/{campaign_id}/stop", _write(200), target=started_campaign_target
    ),
    Row("GET", "/api/v1/campaigns/{campaign_id}/summary", READ, target=campaign_target),
    Row("GET", "/api/v1/campaigns/{campaign_id}/schedules", READ, target=campaign_target),
    Row(
        "POST",
        "/api/v1/campaigns/{campaign_id}/schedules",
        _write(201),
        target=campaign_target,
        body=lambda w, role, scope, params: {"date": "2030-01-11"},
    ),
    Row(
        "PATCH",
        "/api/v1/campaigns/{campaign_id}/schedules",
        _write(200),
        target=campaign_target,
        body=lambda w, role, scope, params: {"start_time": "08:00", "end_time": "12:00"},
    ),
    Row("GET", "/api/v1/campaigns/{campaign_id}/schedules/{day}", READ, target=schedule_target),
    Row(
        "PATCH",
        "/api/v1/campaigns/{campaign_id}/schedules/{day}",
        _write(200),
        target=schedule_target,
        body=lambda w, role, scope, params: {"start_time": "08:00", "end_time": "12:00"},
    ),
    Row(
        "DELETE",
        "/api/v1/campaigns/{campaign_id}/schedules/{day}",
        _write(204),
        target=schedule_target,
    ),
    Row("GET", "/api/v1/campaigns/{campaign_id}/leads", READ, target=campaign_target),
    Row(
        "POST",
        "/api/v1/campaigns/{campaign_id}/leads",
        _write(201),
        target=campaign_target,
        body=lambda w, role, scope, params: Raw(b"Ann,+1 202 555 0143\n", "text/csv"),
    ),
    Row("GET", "/api/v1/campaigns/{campaign_id}/leads/{lead_id}", READ, target=lead_target),
    Row(
        "PATCH",
        "/api/v1/campaigns/{campaign_id}/leads/{lead_id}",
        _write(200),
        target=lead_target,
        body=lambda w, role, scope, params: {"name": "Renamed"},
    ),
    Row(
        "DELETE",
        "/api/v1/campaigns/{campaign_id}/leads/{lead_id}",
        _write(204),
        target=lead_target,
    ),
    Row("GET", "/api/v1/campaigns/{campaign_id}/calls", READ, target=campaign_target),
    Row("GET", "/api/v1/campaigns/{campaign_id}/audit", READ, target=campaign_target),
]
