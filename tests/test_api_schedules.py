"""/api/v1/campaigns/{id}/schedules over HTTP: generation on every selected weekday,
one schedule per date, "edit all" from today (in the campaign's zone), regeneration
when the range or weekdays change, and no change while STARTED."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from api_client import ApiClient

from opendialer.core.storage.tables import Schedule


async def setup(app_client: ApiClient, **fields: Any) -> tuple[Any, int]:
    group = await app_client.group()
    admin = await app_client.login_as("campaign_admin", [group])
    body = {
        "name": "Schedules",
        "group_id": group,
        "start_time": "09:00",
        "end_time": "18:00",
        "pilot_number": "4000",
        **fields,
    }
    r = await admin.post("/api/v1/campaigns", json=body)
    assert r.status_code == 201, r.text
    return admin, r.json()["id"]


async def all_schedules(client: Any, cid: int) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/campaigns/{cid}/schedules", params={"per_page": 500})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_one_schedule_per_selected_weekday_in_range(app_client: ApiClient) -> None:
    # 2030-01-07 is a Monday; the range holds two Mondays and two Wednesdays.
    admin, cid = await setup(
        app_client, start_date="2030-01-07", end_date="2030-01-16", weekdays=["wed", "mon"]
    )
    items = await all_schedules(admin, cid)
    assert [s["date"] for s in items] == ["2030-01-07", "2030-01-09", "2030-01-14", "2030-01-16"]
    assert {(s["start_time"], s["end_time"], s["state"]) for s in items} == {
        ("09:00:00", "18:00:00", "NOT_RUNNING")
    }
    page = (await admin.get(f"/api/v1/campaigns/{cid}/schedules", params={"per_page": 3})).json()
    assert page["total"] == 4 and len(page["items"]) == 3


async def test_add_schedule_allows_one_per_date(app_client: ApiClient) -> None:
    admin, cid = await setup(
        app_client, start_date="2030-01-07", end_date="2030-01-13", weekdays=["mon"]
    )
    url = f"/api/v1/campaigns/{cid}/schedules"
    r = await admin.post(
        url, json={"date": "2030-01-12", "start_time": "10:00", "end_time": "12:00"}
    )
    assert r.status_code == 201, r.text
    assert r.json() | {"id": 0} == {
        "id": 0,
        "date": "2030-01-12",
        "start_time": "10:00:00",
        "end_time": "12:00:00",
        "state": "NOT_RUNNING",
        "reason": "",
    }
    r = await admin.post(
        url, json={"date": "2030-01-12", "start_time": "13:00", "end_time": "14:00"}
    )
    assert r.status_code == 409 and r.json()["error"] == "schedule_exists", r.text
    r = await admin.post(url, json={"date": "2030-01-07"})  # the generated Monday
    assert r.status_code == 409, r.text
    r = await admin.post(url, json={"date": "2030-01-08"})  # hours default to the campaign's
    assert r.status_code == 201 and r.json()["end_time"] == "18:00:00", r.text
    r = await admin.post(url, json={"date": "2000-01-03"})
    assert r.status_code == 422 and r.json()["field"] == "date", r.text
    r = await admin.post(url, json={"date": "2030-01-14"})  # after the campaign's end date
    assert r.status_code == 422 and "2030-01-14 is outside" in r.json()["detail"], r.text
    r = await admin.post(
        url, json={"date": "2030-01-09", "start_time": "12:00", "end_time": "11:00"}
    )
    assert r.status_code == 422 and r.json()["field"] == "end_time", r.text
    assert len(await all_schedules(admin, cid)) == 3


def zone_whose_date_is_not_utcs() -> tuple[str, date]:
    """UTC+14 or UTC−11: at any hour one of them has another date than UTC."""
    utc_today = datetime.now(UTC).date()
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        today = datetime.now(ZoneInfo(zone)).date()
        if today != utc_today:
            return zone, today
    raise AssertionError("unreachable: the two zones are 25 hours apart")


async def test_edit_all_touches_today_and_later_in_the_campaign_zone(
    app_client: ApiClient,
) -> None:
    zone, today = zone_whose_date_is_not_utcs()
    start, end = today - timedelta(days=3), today + timedelta(days=3)
    admin, cid = await setup(
        app_client,
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        timezone=zone,
        weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    )
    r = await admin.patch(
        f"/api/v1/campaigns/{cid}/schedules", json={"start_time": "07:00", "end_time": "11:00"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == 4 and r.json()["from_date"] == today.isoformat()
    hours = {s["date"]: s["start_time"] for s in await all_schedules(admin, cid)}
    for offset in range(-3, 4):
        day = (today + timedelta(days=offset)).isoformat()
        assert hours[day] == ("07:00:00" if offset >= 0 else "09:00:00"), day


async def test_range_and_weekday_edits_regenerate_future_entries_only(
    app_client: ApiClient,
) -> None:
    today = datetime.now(UTC).date()
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    admin, cid = await setup(
        app_client,
        start_date=(today - timedelta(days=2)).isoformat(),
        end_date=(today + timedelta(days=6)).isoformat(),
        weekdays=every_day,
    )
    # A future day that already ran is history and stays.
    ran = today + timedelta(days=5)
    await Schedule.update({Schedule.state: "FINISHED"}).where(Schedule.date == ran).run()
    keep_one = (today + timedelta(days=1)).strftime("%a").lower()
    r = await admin.patch(
        f"/api/v1/campaigns/{cid}",
        json={"weekdays": [keep_one], "end_date": (today + timedelta(days=9)).isoformat()},
    )
    assert r.status_code == 200, r.text
    dates = {s["date"]: s["state"] for s in await all_schedules(admin, cid)}
    past = {(today - timedelta(days=n)).isoformat() for n in (1, 2)}
    assert past <= set(dates)  # past entries are kept as they were
    future = sorted(d for d in dates if d >= today.isoformat())
    expected = {
        (today + timedelta(days=n)).isoformat()
        for n in range(10)
        if (today + timedelta(days=n)).strftime("%a").lower() == keep_one
    } | {ran.isoformat()}
    assert set(future) == expected
    assert dates[ran.isoformat()] == "FINISHED"


async def test_schedules_change_only_while_stopped(app_client: ApiClient) -> None:
    admin, cid = await setup(
        app_client, start_date="2030-01-07", end_date="2030-01-11", weekdays=["mon"]
    )
    r = await admin.post(
        f"/api/v1/campaigns/{cid}/leads",
        content="Ann,+1 202 555 0143\n",
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    assert (await admin.post(f"/api/v1/campaigns/{cid}/start")).status_code == 200
    url = f"/api/v1/campaigns/{cid}/schedules"
    r = await admin.post(url, json={"date": "2030-01-08"})
    assert r.status_code == 409 and "stop it first" in r.json()["detail"], r.text
    r = await admin.patch(url, json={"start_time": "07:00", "end_time": "08:00"})
    assert r.status_code == 409, r.text
    assert (await admin.get(url)).status_code == 200


async def test_supervisor_reads_schedules_but_cannot_change_them(app_client: ApiClient) -> None:
    group = await app_client.group()
    admin = await app_client.login_as("campaign_admin", [group])
    supervisor = await app_client.login_as("campaign_supervisor", [group])
    body = {
        "name": "S",
        "group_id": group,
        "start_date": "2030-01-07",
        "end_date": "2030-01-07",
        "start_time": "09:00",
        "end_time": "10:00",
        "pilot_number": "1",
    }
    cid = (await admin.post("/api/v1/campaigns", json=body)).json()["id"]
    url = f"/api/v1/campaigns/{cid}/schedules"
    assert (await supervisor.get(url)).json()["total"] == 1
    assert (await supervisor.post(url, json={"date": "2030-01-08"})).status_code == 403
    r = await supervisor.patch(url, json={"start_time": "07:00", "end_time": "08:00"})
    assert r.status_code == 403


async def test_new_working_hours_reach_today_and_later_days_that_have_not_run(
    app_client: ApiClient,
) -> None:
    """PATCH of the campaign's hours: today's and later NOT_RUNNING days take them (in
    the campaign's zone); past days and a day that ran keep theirs; new days get them."""
    zone, today = zone_whose_date_is_not_utcs()
    admin, cid = await setup(
        app_client,
        start_date=(today - timedelta(days=2)).isoformat(),
        end_date=(today + timedelta(days=4)).isoformat(),
        timezone=zone,
        weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    )
    ran = today + timedelta(days=1)
    await (
        Schedule.update({Schedule.state: "FINISHED"})
        .where((Schedule.campaign == cid) & (Schedule.date == ran))
        .run()
    )
    r = await admin.patch(
        f"/api/v1/campaigns/{cid}",
        json={
            "start_time": "10:00",
            "end_time": "16:30",
            "end_date": (today + timedelta(days=5)).isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    days = {s["date"]: (s["start_time"], s["end_time"]) for s in await all_schedules(admin, cid)}
    for offset in range(-2, 6):
        day = today + timedelta(days=offset)
        old = offset < 0 or day == ran
        expected = ("09:00:00", "18:00:00") if old else ("10:00:00", "16:30:00")
        assert days[day.isoformat()] == expected, day
    summary = (await admin.get(f"/api/v1/campaigns/{cid}/summary")).json()
    assert summary["next_schedule"]["start_time"] == "10:00:00"
    # A PATCH that leaves the hours alone leaves the days' own hours alone.
    await admin.patch(
        f"/api/v1/campaigns/{cid}/schedules/{(today + timedelta(days=2)).isoformat()}",
        json={"start_time": "08:00"},
    )
    r = await admin.patch(f"/api/v1/campaigns/{cid}", json={"description": "x"})
    assert r.status_code == 200, r.text
    days = {s["date"]: s["start_time"] for s in await all_schedules(admin, cid)}
    assert days[(today + timedelta(days=2)).isoformat()] == "08:00:00"


async def test_openapi_says_what_a_campaign_patch_does_to_the_schedule(
    app_client: ApiClient,
) -> None:
    schema = (await app_client.client().get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/v1/campaigns/{campaign_id}"]["patch"]
    assert "today's and later schedule days that have not run" in operation["description"]
