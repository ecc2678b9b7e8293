"""A started campaign that cannot dial says why (``dialing``, ``held_reason``), and Start
refuses what can never dial — over the API and the HTML pages, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from api_client import PASSWORD, ApiClient
from test_ui_form_errors import shown_errors
from test_ui_pages import browser_session, htmx

from opendialer.admin_ui.dates import local_day
from opendialer.core.services import users
from opendialer.core.storage.tables import Campaign, EngineNode, Lead, Schedule

START = date.today() + timedelta(days=7)


def body(group_id: int, name: str = "Held", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "group_id": group_id,
        "start_date": START.isoformat(),
        "end_date": (START + timedelta(days=13)).isoformat(),
        "start_time": "09:00",
        "end_time": "17:30",
        "pilot_number": "4000",
        **extra,
    }


async def give_leads(client: Any, cid: int, count: int = 1) -> None:
    csv_text = "".join(f"Lead {n},+1 202 555 03{n:02d}\n" for n in range(count))
    r = await client.post(
        f"/api/v1/campaigns/{cid}/leads", content=csv_text, headers={"Content-Type": "text/csv"}
    )
    assert r.status_code == 201, r.text


async def setup(app_client: ApiClient, language: str = "en") -> tuple[Any, int, str]:
    group = await app_client.group()
    created = await app_client.user("campaign_admin", [group])
    if language != "en":
        await users.set_language(await users.authenticate(created["username"], PASSWORD), language)
    return await app_client.bearer(created["username"]), group, created["username"]


async def test_start_refuses_a_campaign_with_no_lead_to_call(app_client: ApiClient) -> None:
    admin, group, _ = await setup(app_client)
    cid = (await admin.post("/api/v1/campaigns", json=body(group))).json()["id"]
    r = await admin.post(f"/api/v1/campaigns/{cid}/start")
    assert r.status_code == 409 and r.json()["error"] == "no_leads", r.text
    assert "upload leads" in r.json()["detail"]
    assert (await admin.get(f"/api/v1/campaigns/{cid}")).json()["state"] == "STOPPED"

    # Leads all done (none NOT_CALLED, none waiting for a retry): still refused.
    await give_leads(admin, cid, 2)
    await Lead.update({Lead.status: "SUCCESS", Lead.attempts: 1}).where(Lead.campaign == cid).run()
    r = await admin.post(f"/api/v1/campaigns/{cid}/start")
    assert r.status_code == 409 and r.json()["error"] == "no_leads", r.text
    # One waits for a retry: it can dial, Start is accepted.
    soon = datetime.now(UTC) + timedelta(hours=1)
    first = await Lead.select(Lead.id).where(Lead.campaign == cid).first().run()
    await (
        Lead.update({Lead.status: "BUSY", Lead.next_attempt_at: soon})
        .where(Lead.id == first["id"])
        .run()
    )
    r = await admin.post(f"/api/v1/campaigns/{cid}/start")
    assert r.status_code == 200 and r.json()["state"] == "STARTED", r.text


async def test_start_refuses_a_campaign_with_no_schedule_day_left(app_client: ApiClient) -> None:
    admin, group, _ = await setup(app_client)
    cid = (await admin.post("/api/v1/campaigns", json=body(group))).json()["id"]
    await give_leads(admin, cid)
    await Schedule.update({Schedule.state: "FINISHED"}).where(Schedule.campaign == cid).run()
    r = await admin.post(f"/api/v1/campaigns/{cid}/start")
    assert r.status_code == 409 and r.json()["error"] == "no_schedule_left", r.text
    assert "add a schedule or change its dates" in r.json()["detail"]
    assert (await admin.get(f"/api/v1/campaigns/{cid}")).json()["state"] == "STOPPED"
    # Every entry in the past: the same.
    await Schedule.update({Schedule.state: "NOT_RUNNING"}).where(Schedule.campaign == cid).run()
    past = date.today() - timedelta(days=30)
    await Schedule.delete().where(Schedule.campaign == cid).run()
    await Schedule.insert(
        Schedule(campaign=cid, date=past, start_time=time(9), end_time=time(17))
    ).run()
    r = await admin.post(f"/api/v1/campaigns/{cid}/start")
    assert r.status_code == 409 and r.json()["error"] == "no_schedule_left", r.text


async def test_a_range_with_no_selected_weekday_is_refused_at_save(app_client: ApiClient) -> None:
    admin, group, _ = await setup(app_client)
    monday = START - timedelta(days=START.weekday())  # Monday to Friday, weekend wanted
    weekdays = {
        "start_date": monday.isoformat(),
        "end_date": (monday + timedelta(days=4)).isoformat(),
    }
    r = await admin.post("/api/v1/campaigns", json=body(group, weekdays=["sat", "sun"], **weekdays))
    assert r.status_code == 422 and r.json()["field"] == "weekdays", r.text
    assert "no day from" in r.json()["detail"] and "start_date/end_date" in r.json()["detail"]
    assert await Campaign.count().run() == 0
    r = await admin.post("/api/v1/campaigns", json=body(group, weekdays=["fri"], **weekdays))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await admin.patch(f"/api/v1/campaigns/{cid}", json={"weekdays": ["sun"]})
    assert r.status_code == 422 and r.json()["field"] == "weekdays", r.text
    assert (await admin.get(f"/api/v1/campaigns/{cid}")).json()["weekdays"] == ["fri"]


async def test_campaign_and_summary_say_whether_it_dials_and_why_not(
    app_client: ApiClient,
) -> None:
    admin, group, username = await setup(app_client)
    cid = (await admin.post("/api/v1/campaigns", json=body(group))).json()["id"]
    stopped = (await admin.get(f"/api/v1/campaigns/{cid}")).json()
    assert (stopped["dialing"], stopped["held_reason"]) == (False, None)
    await give_leads(admin, cid)
    assert (await admin.post(f"/api/v1/campaigns/{cid}/start")).status_code == 200

    await EngineNode.delete(force=True).run()  # `serve --role web` alone: no engine
    for path in (f"/api/v1/campaigns/{cid}", f"/api/v1/campaigns/{cid}/summary"):
        got = (await admin.get(path)).json()
        assert got["dialing"] is False, got
        assert got["held_reason"] == {
            "code": "no_engine",
            "detail": "Started — not dialing: no dialer engine is running",
            "waiting": False,
            "params": {},
            "fix_path": "/system",
        }
    listed = (await admin.get("/api/v1/campaigns")).json()["items"]
    assert listed[0]["held_reason"]["code"] == "no_engine"

    # An engine is alive: the campaign waits for its first day (START is a week ahead).
    await EngineNode.insert(
        EngineNode(node_id="web-test-engine", heartbeat_at=datetime.now(UTC))
    ).run()
    got = (await admin.get(f"/api/v1/campaigns/{cid}")).json()
    reason = got["held_reason"]
    assert got["dialing"] is False and reason["code"] == "waiting_next_run" and reason["waiting"]
    assert reason["params"] == {"date": START.isoformat(), "time": "09:00"}
    # the date as the caller's language writes it; params keep ISO 8601 for programs
    assert reason["detail"] == f"Started — waiting: next run {local_day(START, 'en')} 09:00"
    assert reason["fix_path"] == f"/campaigns/{cid}/schedules"

    # The same in the caller's language.
    await users.set_language(await users.authenticate(username, PASSWORD), "pt_BR")
    got = (await admin.get(f"/api/v1/campaigns/{cid}")).json()
    assert got["held_reason"]["detail"] == (
        f"Iniciada — aguardando: próxima execução em {START:%d/%m/%Y} às 09:00"
    )
    await EngineNode.delete(force=True).run()


async def test_pages_show_the_held_state_in_the_viewers_language(app_client: ApiClient) -> None:
    group = await app_client.group()
    await app_client.user("campaign_admin", [group], username="held-admin")
    await app_client.user("campaign_supervisor", [group], username="held-watcher")
    admin = await app_client.bearer("held-admin")
    cid = (await admin.post("/api/v1/campaigns", json=body(group, "Seen"))).json()["id"]
    await give_leads(admin, cid)
    assert (await admin.post(f"/api/v1/campaigns/{cid}/start")).status_code == 200
    await EngineNode.delete(force=True).run()

    ana = await browser_session(app_client, "held-admin")
    for path in ("/campaigns", f"/campaigns/{cid}/summary", f"/campaigns/{cid}/schedules"):
        page = (await ana.get(path)).text
        assert 'data-held="no_engine"' in page, path
        assert "Started — not dialing: no dialer engine is running" in page, path
        # A Campaign Administrator cannot open System: told whom to ask, no link.
        assert "ask a Master: System → Diagnostics" in page, path
        assert 'href="/system"' not in page, path

    await users.set_language(await users.authenticate("held-watcher", PASSWORD), "pt_BR")
    watcher = await browser_session(app_client, "held-watcher")
    page = (await watcher.get(f"/campaigns/{cid}/summary")).text
    assert "Iniciada — sem discar: nenhum motor de discagem está em execução" in page
    assert "peça a um Master: Sistema → Diagnóstico" in page

    # Waiting for the next run: the admin gets a link to the schedule.
    await EngineNode.insert(
        EngineNode(node_id="web-test-engine", heartbeat_at=datetime.now(UTC))
    ).run()
    page = (await ana.get("/campaigns")).text
    assert f"Started — waiting: next run {local_day(START, 'en')} 09:00" in page
    assert f'<a class="held-fix" href="/campaigns/{cid}/schedules">Schedule</a>' in page
    await EngineNode.delete(force=True).run()


async def test_start_refusal_is_shown_in_the_users_language(app_client: ApiClient) -> None:
    group = await app_client.group()
    await app_client.user("campaign_admin", [group], username="held-pt")
    await users.set_language(await users.authenticate("held-pt", PASSWORD), "pt_BR")
    admin = await app_client.bearer("held-pt")
    cid = (await admin.post("/api/v1/campaigns", json=body(group, "Vazia"))).json()["id"]
    page = await browser_session(app_client, "held-pt")
    r = await page.post(f"/campaigns/{cid}/start", headers=htmx(page))
    assert "A campanha &#39;Vazia&#39; não tem mais leads para ligar" in r.text, r.text
    assert (await admin.get(f"/api/v1/campaigns/{cid}")).json()["state"] == "STOPPED"


async def test_the_form_names_the_weekdays_of_a_range_with_no_schedule_day(
    app_client: ApiClient,
) -> None:
    group = await app_client.group()
    await app_client.user("campaign_admin", [group], username="held-form")
    await users.set_language(await users.authenticate("held-form", PASSWORD), "pt_BR")
    page = await browser_session(app_client, "held-form")
    form = {
        "name": "Fim de semana",
        "group_id": str(group),
        "start_date": "2030-03-04",  # Monday
        "end_date": "2030-03-08",  # Friday
        "start_time": "09:00",
        "end_time": "17:00",
        "timezone": "America/Sao_Paulo",
        "weekdays": ["sat", "sun"],
        "pilot_number": "4000",
        "max_attempts": "5",
        "retry_after_minutes": "60",
        "type": "OSCC",
    }
    r = await page.post("/campaigns", data=form, headers=htmx(page))
    assert shown_errors(r.text) == {
        "weekdays": "Nenhum dia de 2030-03-04 a 2030-03-08 cai nos dias da semana "
        "selecionados: selecione outro dia da semana ou amplie as datas."
    }
    assert await Campaign.count().run() == 0


def whole_week_from(today: date) -> dict[str, Any]:
    """A campaign's fields for a UTC week from today, every day, all day."""
    return {
        "start_date": today.isoformat(),
        "end_date": (today + timedelta(days=7)).isoformat(),
        "start_time": "00:00",
        "end_time": "23:59",
        "timezone": "UTC",
        "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    }


async def test_a_campaign_just_started_is_not_said_to_dial_before_the_engine_takes_it_up(
    app_client: ApiClient,
) -> None:
    # Seen on a fresh install: Run on a campaign whose contact center was not configured
    # showed "Started — dialing" on the list it returned to, until a reload said why not.
    admin, group, username = await setup(app_client, "es")
    today = datetime.now(UTC).date()
    window = whole_week_from(today)
    cid = (await admin.post("/api/v1/campaigns", json=body(group, "Recién", **window))).json()["id"]
    await give_leads(admin, cid)
    await EngineNode.insert(
        EngineNode(node_id="web-test-engine", heartbeat_at=datetime.now(UTC))
    ).run()
    try:
        assert (await admin.post(f"/api/v1/campaigns/{cid}/start")).status_code == 200
        # No engine round yet: today's entry is still NOT_RUNNING, nothing weighed.
        got = (await admin.get(f"/api/v1/campaigns/{cid}")).json()
        assert got["dialing"] is False, got
        reason = got["held_reason"]
        assert (reason["code"], reason["waiting"]) == ("starting", True), reason
        assert reason["detail"] == (
            "Iniciada — arrancando: el motor de marcación la toma en unos segundos"
        )
        page = (await (await browser_session(app_client, username)).get("/campaigns")).text
        assert 'data-held="starting"' in page
        assert "Iniciada — marcando" not in page

        # The engine opened today's window and held nothing: now it dials.
        await (
            Schedule.update({Schedule.state: "RUNNING"})
            .where((Schedule.campaign == cid) & (Schedule.date == today))
            .run()
        )
        got = (await admin.get(f"/api/v1/campaigns/{cid}")).json()
        assert (got["dialing"], got["held_reason"]) == (True, None), got
    finally:
        await EngineNode.delete(force=True).run()


async def test_a_campaign_run_again_the_day_it_was_stopped_is_not_said_to_be_held(
    app_client: ApiClient,
) -> None:
    # Seen on a fresh install: Stop, edit, Run the same day showed "Iniciada — sin marcar:
    # campaign stopped (pida a un Master: Sistema → Diagnóstico)": the stop's English note
    # in today's schedule row was read as an engine's hold until the engine came round.
    from opendialer.core.engine.scheduler import Scheduler
    from opendialer.core.plugins import PluginManager

    admin, group, username = await setup(app_client, "es")
    today = datetime.now(UTC).date()
    window = whole_week_from(today)
    cid = (await admin.post("/api/v1/campaigns", json=body(group, "Otra vez", **window))).json()[
        "id"
    ]
    await give_leads(admin, cid)
    await EngineNode.insert(
        EngineNode(node_id="web-test-engine", heartbeat_at=datetime.now(UTC))
    ).run()
    scheduler = Scheduler(PluginManager())
    try:
        assert (await admin.post(f"/api/v1/campaigns/{cid}/start")).status_code == 200
        await scheduler.tick(datetime.now(UTC))  # the engine opens today's window
        assert (await admin.get(f"/api/v1/campaigns/{cid}")).json()["dialing"] is True
        assert (await admin.post(f"/api/v1/campaigns/{cid}/stop")).status_code == 200
        await scheduler.tick(datetime.now(UTC))  # and settles the stopped campaign's day
        assert (await admin.post(f"/api/v1/campaigns/{cid}/start")).status_code == 200

        reason = (await admin.get(f"/api/v1/campaigns/{cid}")).json()["held_reason"]
        assert reason is not None and reason["code"] == "starting", reason
        page = (await (await browser_session(app_client, username)).get("/campaigns")).text
        assert "campaign stopped" not in page and "Sistema → Diagnóstico" not in page
        assert 'data-held="starting"' in page
    finally:
        await EngineNode.delete(force=True).run()
