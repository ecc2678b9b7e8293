"""The HTML admin (no browser) for issue 15 §3: editing and deleting one schedule day,
the summary's real hours, the call log page, and deleting a campaign or a lead after
a confirmation that says what goes. Call records come from the simulator engine, as
a running campaign makes them. SQLite and PostgreSQL; English and Portuguese."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from api_client import PASSWORD, ApiClient
from engine_support import make_engine, run_round
from test_ui_pages import browser_session, htmx

from opendialer.core.engine.clock import FakeClock
from opendialer.core.services import campaign_states, campaigns, lead_import, schedules, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, Lead, Schedule

#: 13:00 UTC on a Monday is 10:00 in São Paulo (UTC−3 all year).
DIALED_AT = datetime(2030, 1, 7, 13, 0, tzinfo=UTC)
BUSY = [f"55119999900{i:02d}" for i in range(12)]
HUMAN, MACHINE = "5511988880001", "5511988880002"


async def people(app_client: ApiClient) -> int:
    """Group Sales with ana (Campaign Administrator, English) and sam (Supervisor,
    Portuguese)."""
    group = await app_client.group("Sales")
    await app_client.user("campaign_admin", [group], username="ana")
    await app_client.user("campaign_supervisor", [group], username="sam")
    await users.set_language(await users.authenticate("sam", PASSWORD), "pt_BR")
    return group


async def import_leads(campaign_id: int, lines: list[str]) -> None:
    with TemporaryDirectory() as folder:
        path = Path(folder) / "leads.csv"
        path.write_text("".join(f"{line}\n" for line in lines))
        await lead_import.import_file(SYSTEM, campaign_id, path)


async def dialed_campaign(db: Database, group: int) -> dict[str, Any]:
    """A São Paulo campaign that dialed once (simulator): 12 busy leads, one person
    (transferred) and one answering machine; STOPPED again afterwards."""
    campaign = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Renewals",
            "group_id": group,
            "start_date": "2030-01-07",
            "end_date": "2030-01-08",
            "start_time": "09:00",
            "end_time": "17:00",
            "timezone": "America/Sao_Paulo",
            "weekdays": ["mon", "tue"],
            "pilot_number": "4000",
            "default_region": "BR",
            "routing_target": "static",
            "amd_enabled": True,
        },
    )
    lines = [f"Busy {i},+{p}" for i, p in enumerate(BUSY)]
    await import_leads(campaign["id"], [*lines, f"Ana Souza,+{HUMAN}", f"Bia Lima,+{MACHINE}"])
    await campaign_states.start_campaign(SYSTEM, campaign["id"])
    script = {p: ["busy"] for p in BUSY} | {HUMAN: ["human"], MACHINE: ["machine"]}
    engine = make_engine(db, FakeClock(DIALED_AT), script=script, slots=20)
    await engine.start(run_loop=False)
    try:
        await run_round(engine)
    finally:
        await engine.stop()
    await campaign_states.stop_campaign(SYSTEM, campaign["id"])
    assert await CallRecord.count().where(CallRecord.campaign == campaign["id"]).run() == 14
    return campaign


def rows(page: str, table: str) -> list[str]:
    body = page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr data-[\w-]+=.*?</tr>", body, re.S)


# -- the call log -----------------------------------------------------------------


async def test_call_log_page_in_english(app_client: ApiClient, db: Database) -> None:
    group = await people(app_client)
    campaign = await dialed_campaign(db, group)
    base = f"/campaigns/{campaign['id']}/calls"
    ana = await browser_session(app_client, "ana")
    summary = (await ana.get(f"/campaigns/{campaign['id']}/summary")).text
    assert f'href="{base}"' in summary  # the campaign menu leads there
    page = (await ana.get(base)).text
    assert "Call log of Renewals" in page and "America/Sao_Paulo" in page
    shown = rows(page, "calls-table")
    assert len(shown) == 14
    person = next(r for r in shown if "Ana Souza" in r)
    assert f"+{HUMAN}" in person and "Success" in person and "Transferred" in person
    assert "Person" in person
    assert "Jan 7, 2030, 10:00" in person  # São Paulo time, English format; not 13:00 UTC
    assert 'datetime="2030-01-07T10:00' in person
    machine = next(r for r in shown if "Bia Lima" in r)
    assert "Answering machine" in machine and "Machine" in machine
    busy = next(r for r in shown if "Busy 0" in r)
    assert "486" in busy and '<td class="num">1</td>' in busy  # SIP code, attempt 1
    # what the SIP response means, in the viewer's words; the far end's own apart
    assert "The line is busy." in busy
    assert re.search(r'<code lang="en" translate="no">486 Busy Here</code>', busy), busy
    # Newest first: the ids go down.
    ids = [int(m) for m in re.findall(r'<tr data-call="(\d+)"', page)]
    assert ids == sorted(ids, reverse=True)
    # Filter by status: page links keep the filter.
    page = (await ana.get(base, params={"status": "BUSY", "per_page": 10})).text
    assert len(rows(page, "calls-table")) == 10 and "1 - 10 / 12" in page
    assert f'href="{base}?page=2&amp;per_page=10&amp;status=BUSY"' in page
    page2 = (await ana.get(base, params={"status": "BUSY", "per_page": 10, "page": 2})).text
    assert len(rows(page2, "calls-table")) == 2
    # By number (its digits, however typed).
    page = (await ana.get(base, params={"phone": "+55 11 98888-0002"})).text
    assert [("Bia Lima" in r) for r in rows(page, "calls-table")] == [True]
    page = (await ana.get(base, params={"status": "SUCCESS", "phone": "0002"})).text
    assert "No calls match these filters." in page


async def test_call_log_in_portuguese_for_a_supervisor_and_empty(
    app_client: ApiClient, db: Database
) -> None:
    group = await people(app_client)
    campaign = await dialed_campaign(db, group)
    sam = await browser_session(app_client, "sam")
    page = (await sam.get(f"/campaigns/{campaign['id']}/calls")).text
    assert "Registro de chamadas de Renewals" in page
    person = next(r for r in rows(page, "calls-table") if "Ana Souza" in r)
    assert "Sucesso" in person and "Transferida" in person and "Pessoa" in person
    assert "7 de jan. de 2030" in person and "10:00" in person
    busy = next(r for r in rows(page, "calls-table") if "Busy 0" in r)
    assert "A linha está ocupada." in busy and "Detalhe técnico, em inglês" in busy
    # Read-only: no change of any kind is offered to a Supervisor.
    assert "hx-post" not in page and "/delete" not in page
    empty = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Fresh",
            "group_id": group,
            "start_date": "2030-01-07",
            "end_date": "2030-01-07",
            "start_time": "09:00",
            "end_time": "17:00",
            "pilot_number": "4000",
        },
    )
    page = (await sam.get(f"/campaigns/{empty['id']}/calls")).text
    assert "Nenhuma chamada ainda" in page
    ana = await browser_session(app_client, "ana")
    assert "No calls yet" in (await ana.get(f"/campaigns/{empty['id']}/calls")).text
    foreign = await app_client.group("Other")
    other = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Elsewhere",
            "group_id": foreign,
            "start_date": "2030-01-07",
            "end_date": "2030-01-07",
            "start_time": "09:00",
            "end_time": "17:00",
            "pilot_number": "4000",
        },
    )
    assert (await sam.get(f"/campaigns/{other['id']}/calls")).status_code == 404


# -- one schedule day -------------------------------------------------------------


async def campaign_around_today(group: int) -> tuple[dict[str, Any], date]:
    """A UTC campaign over today−1 … today+3, every day."""
    today = datetime.now(UTC).date()
    campaign = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Spring",
            "group_id": group,
            "start_date": (today - timedelta(days=1)).isoformat(),
            "end_date": (today + timedelta(days=3)).isoformat(),
            "start_time": "09:00",
            "end_time": "17:00",
            "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "pilot_number": "4000",
        },
    )
    return campaign, schedules.today_in(campaign)


async def day_id(campaign_id: int, day: date) -> int:
    row = (
        await Schedule.select(Schedule.id)
        .where((Schedule.campaign == campaign_id) & (Schedule.date == day))
        .first()
        .run()
    )
    return int(row["id"])


async def test_edit_and_delete_one_day(app_client: ApiClient) -> None:
    group = await people(app_client)
    campaign, today = await campaign_around_today(group)
    base = f"/campaigns/{campaign['id']}/schedules"
    tomorrow, after = today + timedelta(days=1), today + timedelta(days=2)
    ana = await browser_session(app_client, "ana")
    page = (await ana.get(base)).text
    yesterday_row = rows(page, "schedules-table")[0]
    assert "edit-day" not in yesterday_row and "Past days are history." in yesterday_row
    sid = await day_id(campaign["id"], tomorrow)
    assert f'hx-get="{base}/{sid}/edit"' in page and f'hx-get="{base}/{sid}/delete"' in page
    modal = (await ana.get(f"{base}/{sid}/edit", headers=htmx(ana))).text
    assert f'value="{tomorrow}"' in modal and 'value="09:00"' in modal
    # A taken date and an hour mix-up: both said at their fields; nothing changes.
    form = {"date": after.isoformat(), "start_time": "12:00", "end_time": "11:00"}
    r = await ana.post(f"{base}/{sid}/edit", data=form, headers=htmx(ana))
    assert "HX-Redirect" not in r.headers
    assert 'id="err-end_time"' in r.text
    form = {"date": after.isoformat(), "start_time": "10:00", "end_time": "11:00"}
    r = await ana.post(f"{base}/{sid}/edit", data=form, headers=htmx(ana))
    assert re.search(rf'id="err-date"[^>]*>[^<]*{after}[^<]*already has a schedule', r.text)
    outside = today + timedelta(days=4)
    form["date"] = outside.isoformat()
    r = await ana.post(f"{base}/{sid}/edit", data=form, headers=htmx(ana))
    assert re.search(rf'id="err-date"[^>]*>[^<]*{outside} is outside', r.text), r.text
    form["date"] = tomorrow.isoformat()
    r = await ana.post(
        f"{base}/{sid}/edit", data={**form, "back": f"{base}?page=1&per_page=10"}, headers=htmx(ana)
    )
    assert r.headers["HX-Redirect"] == f"{base}?page=1&per_page=10"
    page = (await ana.get(base)).text
    assert "Schedule updated." in page
    assert "<td>10:00</td><td>11:00</td>" in next(
        r for r in rows(page, "schedules-table") if f'data-date="{tomorrow}"' in r
    )
    # Delete, after a confirmation that names the day.
    confirm = (await ana.get(f"{base}/{sid}/delete", headers=htmx(ana))).text
    day_en = f"{tomorrow:%b} {tomorrow.day}, {tomorrow.year}"  # as the table writes it
    assert f"Delete the schedule of {day_en} (10:00 – 11:00) from campaign Spring?" in confirm
    # In Spanish the day is written as the Spanish table writes it, not 2030-01-08.
    await users.set_language(await users.authenticate("ana", PASSWORD), "es")
    confirm = (await ana.get(f"{base}/{sid}/delete", headers=htmx(ana))).text
    assert f"programa del {tomorrow:%d/%m/%Y} (10:00 – 11:00)" in confirm
    await users.set_language(await users.authenticate("ana", PASSWORD), "en")
    r = await ana.post(
        f"{base}/{sid}/delete", data={"back": f"//evil.example{base}"}, headers=htmx(ana)
    )
    assert r.headers["HX-Redirect"] == base  # never another site
    page = (await ana.get(base)).text
    assert "Schedule deleted." in page and f'data-date="{tomorrow}"' not in page


async def test_day_errors_in_portuguese_and_no_changes_for_a_supervisor(
    app_client: ApiClient,
) -> None:
    group = await people(app_client)
    await app_client.user("campaign_admin", [group], username="rui")
    await users.set_language(await users.authenticate("rui", PASSWORD), "pt_BR")
    campaign, today = await campaign_around_today(group)
    base = f"/campaigns/{campaign['id']}/schedules"
    sid = await day_id(campaign["id"], today + timedelta(days=1))
    rui = await browser_session(app_client, "rui")
    form = {"date": (today + timedelta(days=9)).isoformat(), "start_time": "10:00", "end_time": "9"}
    r = await rui.post(f"{base}/{sid}/edit", data=form, headers=htmx(rui))
    assert "está fora das datas da campanha" in r.text
    assert "Informe um horário como HH:MM." in r.text
    past = await day_id(campaign["id"], today - timedelta(days=1))
    r = await rui.post(f"{base}/{past}/delete", data={}, headers=htmx(rui))
    assert "está no passado" in r.text and "HX-Redirect" not in r.headers
    sam = await browser_session(app_client, "sam")
    page = (await sam.get(base)).text
    assert "edit-day" not in page and "delete-day" not in page
    assert (await sam.get(f"{base}/{sid}/edit")).status_code == 403
    r = await sam.post(f"{base}/{sid}/delete", data={}, headers=htmx(sam))
    assert (
        "HX-Redirect" not in r.headers and await Schedule.exists().where(Schedule.id == sid).run()
    )


async def test_summary_shows_the_real_hours(app_client: ApiClient) -> None:
    group = await people(app_client)
    campaign, today = await campaign_around_today(group)
    await schedules.update_schedule(
        SYSTEM, campaign["id"], today.isoformat(), {"start_time": "07:15", "end_time": "11:45"}
    )
    ana = await browser_session(app_client, "ana")
    page = (await ana.get(f"/campaigns/{campaign['id']}/summary")).text
    assert re.search(r'id="summary-schedule">Today, 07:15 – 11:45<', page), page
    await schedules.delete_schedule(SYSTEM, campaign["id"], today.isoformat())
    sam = await browser_session(app_client, "sam")
    page = (await sam.get(f"/campaigns/{campaign['id']}/summary")).text
    tomorrow = today + timedelta(days=1)
    assert f'id="summary-schedule">Próximo: {tomorrow:%d/%m/%Y}, 09:00 – 17:00<' in page


# -- deleting a campaign and a lead -----------------------------------------------


async def test_delete_a_campaign_after_saying_what_goes(
    app_client: ApiClient, db: Database
) -> None:
    group = await people(app_client)
    campaign = await dialed_campaign(db, group)
    cid = campaign["id"]
    ana = await browser_session(app_client, "ana")
    listing = (await ana.get("/campaigns")).text
    assert f'hx-get="/campaigns/{cid}/delete"' in listing
    sam = await browser_session(app_client, "sam")
    assert f"/campaigns/{cid}/delete" not in (await sam.get("/campaigns")).text
    assert (await sam.get(f"/campaigns/{cid}/delete")).status_code == 403
    await campaign_states.start_campaign(SYSTEM, cid)
    r = await ana.get(f"/campaigns/{cid}/delete", headers=htmx(ana))
    assert "The campaign Renewals is running: stop it before deleting it." in r.text
    r = await ana.post(f"/campaigns/{cid}/delete", headers=htmx(ana))
    assert "HX-Redirect" not in r.headers and "STARTED" not in r.text
    await campaign_states.stop_campaign(SYSTEM, cid)
    confirm = (await ana.get(f"/campaigns/{cid}/delete", headers=htmx(ana))).text
    assert (
        "Delete campaign Renewals? Its leads (14), schedules (2) and call records (14) "
        "are deleted with it."
    ) in confirm
    assert (await sam.post(f"/campaigns/{cid}/delete", headers=htmx(sam))).status_code == 200
    assert await campaigns.get_campaign(SYSTEM, cid)  # the Supervisor's POST changed nothing
    r = await ana.post(f"/campaigns/{cid}/delete", headers=htmx(ana))
    assert r.headers["HX-Redirect"] == "/campaigns"
    listing = (await ana.get("/campaigns")).text
    assert "Campaign deleted." in listing and "Renewals" not in listing
    assert await CallRecord.count().where(CallRecord.campaign == cid).run() == 0


async def test_delete_a_lead_after_saying_what_goes(app_client: ApiClient, db: Database) -> None:
    group = await people(app_client)
    campaign = await dialed_campaign(db, group)
    cid = campaign["id"]
    lead = await Lead.select(Lead.id).where(Lead.phone == HUMAN).first().run()
    url = f"/campaigns/{cid}/leads/{lead['id']}/delete"
    ana = await browser_session(app_client, "ana")
    leads_page = (await ana.get(f"/campaigns/{cid}/leads", params={"q": "Ana"})).text
    assert f'hx-get="{url}"' in leads_page
    confirm = (
        await ana.get(
            url, headers={**htmx(ana), "HX-Current-URL": f"http://t/campaigns/{cid}/leads?q=Ana"}
        )
    ).text
    assert (
        f"Delete lead Ana Souza (+{HUMAN}) from campaign Renewals? Its call records (1) "
        "are deleted with it."
    ) in confirm
    r = await ana.post(url, data={"back": f"/campaigns/{cid}/leads?q=Ana"}, headers=htmx(ana))
    assert r.headers["HX-Redirect"] == f"/campaigns/{cid}/leads?q=Ana"
    page = (await ana.get(f"/campaigns/{cid}/leads")).text
    assert "Lead deleted." in page and "Ana Souza" not in page
    calls_page = (await ana.get(f"/campaigns/{cid}/calls")).text
    assert "Ana Souza" not in calls_page and len(rows(calls_page, "calls-table")) == 13
    sam = await browser_session(app_client, "sam")
    other = await Lead.select(Lead.id).where(Lead.phone == MACHINE).first().run()
    assert "delete-lead" not in (await sam.get(f"/campaigns/{cid}/leads")).text
    r = await sam.post(f"/campaigns/{cid}/leads/{other['id']}/delete", headers=htmx(sam))
    assert "HX-Redirect" not in r.headers
    assert await Lead.exists().where(Lead.id == other["id"]).run()
