"""/api/v1/campaigns/{id}/schedules/{id or date}: one day of the schedule, read,
edited (hours, or moved to a free date in the campaign's range) and deleted, by the
guide's rules: STOPPED campaign, today and later only, one schedule per date, inside
the date range, start before end; a day that has run keeps its date. The summary
shows the hours of today's (or the next) entry, not the campaign's defaults."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from api_client import ApiClient
from engine_support import add_leads
from test_api_schedules import all_schedules, zone_whose_date_is_not_utcs

from opendialer.core.storage.tables import Schedule

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


async def campaign_around_today(app_client: ApiClient) -> tuple[Any, int, date]:
    """A campaign over today−2 … today+4 (every day) in a zone whose date is not UTC's."""
    zone, today = zone_whose_date_is_not_utcs()
    group = await app_client.group()
    admin = await app_client.login_as("campaign_admin", [group])
    body = {
        "name": "Days",
        "group_id": group,
        "start_date": (today - timedelta(days=2)).isoformat(),
        "end_date": (today + timedelta(days=4)).isoformat(),
        "start_time": "09:00",
        "end_time": "18:00",
        "timezone": zone,
        "weekdays": EVERY_DAY,
        "pilot_number": "4000",
    }
    r = await admin.post("/api/v1/campaigns", json=body)
    assert r.status_code == 201, r.text
    return admin, r.json()["id"], today


def day(today: date, offset: int) -> str:
    return (today + timedelta(days=offset)).isoformat()


async def test_edit_one_day_by_id_or_by_date(app_client: ApiClient) -> None:
    admin, cid, today = await campaign_around_today(app_client)
    url = f"/api/v1/campaigns/{cid}/schedules"
    entry = (await admin.get(f"{url}/{day(today, 1)}")).json()
    assert entry["date"] == day(today, 1) and entry["start_time"] == "09:00:00"
    assert (await admin.get(f"{url}/{entry['id']}")).json() == entry
    r = await admin.patch(f"{url}/{entry['id']}", json={"start_time": "10:30"})
    assert r.status_code == 200, r.text
    assert (r.json()["start_time"], r.json()["end_time"]) == ("10:30:00", "18:00:00")
    r = await admin.patch(
        f"{url}/{day(today, 0)}", json={"start_time": "07:00", "end_time": "08:00"}
    )
    assert r.status_code == 200 and r.json()["date"] == day(today, 0), r.text
    hours = {s["date"]: (s["start_time"], s["end_time"]) for s in await all_schedules(admin, cid)}
    assert hours[day(today, 0)] == ("07:00:00", "08:00:00")
    assert hours[day(today, 1)] == ("10:30:00", "18:00:00")
    assert hours[day(today, 2)] == ("09:00:00", "18:00:00")  # the others keep theirs


async def test_move_a_day_to_a_free_date_in_range_only(app_client: ApiClient) -> None:
    admin, cid, today = await campaign_around_today(app_client)
    url = f"/api/v1/campaigns/{cid}/schedules"
    assert (await admin.delete(f"{url}/{day(today, 3)}")).status_code == 204
    r = await admin.patch(f"{url}/{day(today, 1)}", json={"date": day(today, 3)})
    assert r.status_code == 200 and r.json()["date"] == day(today, 3), r.text
    dates = [s["date"] for s in await all_schedules(admin, cid)]
    assert day(today, 1) not in dates and dates.count(day(today, 3)) == 1
    # Onto a taken date: 409 naming it; nothing changes.
    before = await all_schedules(admin, cid)
    r = await admin.patch(f"{url}/{day(today, 3)}", json={"date": day(today, 4)})
    assert r.status_code == 409 and r.json()["field"] == "date", r.text
    assert r.json()["error"] == "schedule_exists" and day(today, 4) in r.json()["detail"]
    # Outside the campaign's date range, or in the past: 422 at the date.
    r = await admin.patch(f"{url}/{day(today, 3)}", json={"date": day(today, 5)})
    assert r.status_code == 422 and r.json()["field"] == "date", r.text
    assert day(today, 5) in r.json()["detail"] and "date range" in r.json()["detail"]
    r = await admin.patch(f"{url}/{day(today, 3)}", json={"date": day(today, -1)})
    assert r.status_code == 422 and r.json()["field"] == "date", r.text
    # Start before end; both errors come together.
    r = await admin.patch(
        f"{url}/{day(today, 3)}",
        json={"date": day(today, 9), "start_time": "12:00", "end_time": "11:00"},
    )
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["date", "end_time"]
    r = await admin.patch(f"{url}/{day(today, 3)}", json={"start_time": "18:30"})
    assert r.status_code == 422 and r.json()["field"] == "end_time", r.text
    r = await admin.patch(f"{url}/{day(today, 3)}", json={"date": "2030-02-30"})
    assert r.status_code == 422, r.text
    r = await admin.patch(f"{url}/{day(today, 3)}", json={"color": "red"})
    assert r.status_code == 422, r.text
    assert await all_schedules(admin, cid) == before


async def test_add_outside_the_date_range_is_refused(app_client: ApiClient) -> None:
    admin, cid, today = await campaign_around_today(app_client)
    r = await admin.post(f"/api/v1/campaigns/{cid}/schedules", json={"date": day(today, 6)})
    assert r.status_code == 422 and r.json()["field"] == "date", r.text
    assert day(today, 6) in r.json()["detail"]


async def test_delete_a_day(app_client: ApiClient) -> None:
    admin, cid, today = await campaign_around_today(app_client)
    url = f"/api/v1/campaigns/{cid}/schedules"
    entry = (await admin.get(f"{url}/{day(today, 2)}")).json()
    assert (await admin.delete(f"{url}/{entry['id']}")).status_code == 204
    assert (await admin.get(f"{url}/{entry['id']}")).status_code == 404
    r = await admin.delete(f"{url}/{day(today, 2)}")
    assert r.status_code == 404 and day(today, 2) in r.json()["detail"], r.text
    assert (await admin.delete(f"{url}/{day(today, 0)}")).status_code == 204  # today's too
    dates = [s["date"] for s in await all_schedules(admin, cid)]
    assert dates == [day(today, n) for n in (-2, -1, 1, 3, 4)]
    r = await admin.post(url, json={"date": day(today, 2)})  # the date is free again
    assert r.status_code == 201, r.text
    assert (await admin.get(f"{url}/9999999999")).status_code == 404
    assert (await admin.get(f"{url}/tomorrow")).status_code == 422  # neither an id nor a date


async def test_past_days_and_days_that_ran_are_history(app_client: ApiClient) -> None:
    admin, cid, today = await campaign_around_today(app_client)
    url = f"/api/v1/campaigns/{cid}/schedules"
    for change in (
        admin.patch(f"{url}/{day(today, -1)}", json={"start_time": "10:00"}),
        admin.delete(f"{url}/{day(today, -1)}"),
    ):
        r = await change
        assert r.status_code == 409 and r.json()["error"] == "schedule_past", r.text
        assert r.json()["field"] == "date" and today.isoformat() in r.json()["detail"]
    ran = today + timedelta(days=2)
    await (
        Schedule.update({Schedule.state: "FINISHED"})
        .where((Schedule.campaign == cid) & (Schedule.date == ran))
        .run()
    )
    r = await admin.delete(f"{url}/{ran}")
    assert r.status_code == 409 and r.json()["error"] == "schedule_has_run", r.text
    r = await admin.patch(f"{url}/{ran}", json={"date": day(today, 3)})
    assert r.status_code == 409 and r.json()["error"] == "schedule_has_run", r.text
    r = await admin.patch(f"{url}/{ran}", json={"end_time": "19:00"})  # hours may change
    assert r.status_code == 200 and r.json()["end_time"] == "19:00:00", r.text


async def test_days_change_only_while_stopped_and_by_the_campaign_admin(
    app_client: ApiClient,
) -> None:
    admin, cid, today = await campaign_around_today(app_client)
    group = (await admin.get(f"/api/v1/campaigns/{cid}")).json()["group_id"]
    supervisor = await app_client.login_as("campaign_supervisor", [group])
    url = f"/api/v1/campaigns/{cid}/schedules/{day(today, 1)}"
    assert (await supervisor.get(url)).status_code == 200
    assert (await supervisor.patch(url, json={"start_time": "10:00"})).status_code == 403
    assert (await supervisor.delete(url)).status_code == 403
    await add_leads(cid, ["5541983015031"])  # Start refuses a campaign with nothing to call
    assert (await admin.post(f"/api/v1/campaigns/{cid}/start")).status_code == 200
    r = await admin.patch(url, json={"start_time": "10:00"})
    assert r.status_code == 409 and "stop it first" in r.json()["detail"], r.text
    assert (await admin.delete(url)).status_code == 409
    assert (await admin.get(url)).json()["start_time"] == "09:00:00"


async def test_summary_shows_the_hours_of_today_or_the_next_day(app_client: ApiClient) -> None:
    admin, cid, today = await campaign_around_today(app_client)
    url = f"/api/v1/campaigns/{cid}/schedules"
    await admin.patch(f"{url}/{day(today, 0)}", json={"start_time": "07:15", "end_time": "11:45"})
    summary = (await admin.get(f"/api/v1/campaigns/{cid}/summary")).json()
    assert summary["start_time"] == "09:00:00"  # the campaign's default stays as it was
    shown = summary["next_schedule"]
    assert (shown["date"], shown["start_time"], shown["end_time"]) == (
        today.isoformat(),
        "07:15:00",
        "11:45:00",
    )
    await admin.delete(f"{url}/{day(today, 0)}")
    await admin.patch(f"{url}/{day(today, 1)}", json={"start_time": "12:00"})
    shown = (await admin.get(f"/api/v1/campaigns/{cid}/summary")).json()["next_schedule"]
    assert (shown["date"], shown["start_time"]) == (day(today, 1), "12:00:00")
    for offset in range(1, 5):
        await admin.delete(f"{url}/{day(today, offset)}")
    assert (await admin.get(f"/api/v1/campaigns/{cid}/summary")).json()["next_schedule"] is None
