"""The audit trail's page (no browser): reached from the campaign's menu, a range of
days in the campaign's zone, the CSV download of a campaign the simulator dialed, a
range it refuses shown at its field; English and Portuguese. The CLI export of the same
rows, and of a campaign deleted since."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from api_client import ApiClient
from engine_support import make_engine, run_round
from helpers import run_cli
from test_ui_campaign_log import (
    HUMAN,
    MACHINE,
    campaign_around_today,
    dialed_campaign,
    import_leads,
    people,
)
from test_ui_pages import browser_session, htmx

from opendialer.core.engine.audit import AuditEntry, AuditKind, deferred, write_audit
from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.transactions import write_transaction
from opendialer.core.services import campaign_states, campaigns
from opendialer.core.services.audit_export import CSV_COLUMNS
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, Campaign, Lead


def parse(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return list(reader)


def check_dialed_rows(rows: list[dict[str, str]], campaign_id: int) -> None:
    """The rows of :func:`dialed_campaign`'s one round: 14 numbers checked against the
    embedded DNC list, 14 calls started and ended, two answered (a person, a machine), in
    time order."""
    kinds = [r["kind"] for r in rows]
    assert len(rows) == 44 and kinds.count("dnc_check") == 14
    check = json.loads(next(r["detail"] for r in rows if r["kind"] == "dnc_check"))
    assert (check["service"], check["result"]) == ("Embedded Service", "callable")
    assert isinstance(check["list_version"], int) and check["list_loaded_at"]
    assert kinds.count("attempt_started") == 14 and kinds.count("attempt_ended") == 14
    assert kinds.count("attempt_answered") == 2
    assert all(r["campaign"] == str(campaign_id) and r["campaign_name"] == "Renewals" for r in rows)
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
    ended = {r["number"]: json.loads(r["detail"]) for r in rows if r["kind"] == "attempt_ended"}
    assert (ended[HUMAN]["disposition"], ended[HUMAN]["amd_verdict"]) == ("transferred", "HUMAN")
    assert ended[MACHINE]["amd_verdict"] == "MACHINE"
    assert rows[0]["at"].startswith("2030-01-07T13:00")  # 10:00 in São Paulo, in UTC


async def test_audit_page_downloads_the_days_chosen(app_client: ApiClient, db: Database) -> None:
    group = await people(app_client)
    campaign = await dialed_campaign(db, group)
    base = f"/campaigns/{campaign['id']}/audit"
    ana = await browser_session(app_client, "ana")
    listing = (await ana.get("/campaigns")).text
    assert f'href="{base}"' in listing  # the campaign's menu
    page = (await ana.get(base)).text
    assert "Audit trail of Renewals" in page and "America/Sao_Paulo" in page
    assert 'action="/campaigns/{}/audit/download"'.format(campaign["id"]) in page

    r = await ana.get(f"{base}/download", params={"from": "2030-01-07", "to": "2030-01-08"})
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    check_dialed_rows(parse(r.text), campaign["id"])
    r = await ana.get(f"{base}/download", params={"from": "2030-01-08", "to": "2030-01-09"})
    assert parse(r.text) == []

    r = await ana.get(f"{base}/download", params={"from": "2030-01-08", "to": "2030-01-08"})
    assert r.status_code == 422
    assert "The end must come after the start" in r.text and 'id="err-to"' in r.text


async def test_audit_page_in_portuguese_for_a_supervisor(
    app_client: ApiClient, db: Database
) -> None:
    group = await people(app_client)
    campaign = await dialed_campaign(db, group)
    sam = await browser_session(app_client, "sam")
    page = (await sam.get(f"/campaigns/{campaign['id']}/audit")).text
    assert "Trilha de auditoria de Renewals" in page and "Baixar CSV" in page
    r = await sam.get(
        f"/campaigns/{campaign['id']}/audit/download", params={"from": "ontem", "to": ""}
    )
    assert r.status_code == 422 and "Informe uma data" in r.text
    r = await sam.get(
        f"/campaigns/{campaign['id']}/audit/download",
        params={"from": "2030-01-07", "to": "2030-01-08"},
    )
    check_dialed_rows(parse(r.text), campaign["id"])


async def test_cli_exports_to_a_file_and_after_the_campaign_is_deleted(
    app_client: ApiClient, db: Database, cli_env: dict[str, str], tmp_path: Path
) -> None:
    group = await people(app_client)
    campaign = await dialed_campaign(db, group)
    out = tmp_path / "audit.csv"
    args = (
        "audit",
        "export",
        "--campaign",
        "Renewals",
        "--from",
        "2030-01-07",
        "--to",
        "2030-01-08",
    )
    result = run_cli(*args, "--output", str(out), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "exported 44 audit row(s) of 'Renewals'" in result.stderr
    check_dialed_rows(parse(out.read_text()), campaign["id"])

    await campaigns.delete_campaign(SYSTEM, campaign["id"])  # its rows stay
    result = run_cli(*args, env=cli_env)
    assert result.returncode == 0, result.stderr
    check_dialed_rows(parse(result.stdout), campaign["id"])

    result = run_cli(
        "audit", "export", "--campaign", "Nope", "--from", "2030-01-07", "--to", "x", env=cli_env
    )
    assert result.returncode == 1 and "Nope" in result.stderr
    result = run_cli(*args[:-1], "soon", env=cli_env)
    assert result.returncode == 1
    assert "to: 'soon' is neither a date (2026-12-01) nor an ISO 8601 time" in result.stderr


@pytest.mark.pg  # the per-rule count reads JSON: each backend its own way
async def test_summary_shows_compliance_day_by_day(app_client: ApiClient, db: Database) -> None:
    """Yesterday (09:00-17:00 UTC): a call inside the hours, one outside, an abandoned
    call, a lead deferred by a contact limit; the day before had no schedule, so its one
    call was outside the hours."""
    group = await people(app_client)
    campaign, today = await campaign_around_today(group)
    cid = campaign["id"]
    yesterday, before = today - timedelta(days=1), today - timedelta(days=2)
    ana = await browser_session(app_client, "ana")
    # made today: only today is listed (no days of zeros before it existed)
    page = (await ana.get(f"/campaigns/{cid}/summary")).text
    assert re.findall(r'<tr data-day="([\d-]+)">', page) == [today.isoformat()]
    made = datetime.combine(today - timedelta(days=10), time(8), tzinfo=UTC)
    await Campaign.update({Campaign.created_at: made}).where(Campaign.id == cid).run()

    def at(day: date, hour: int) -> datetime:
        return datetime.combine(day, time(hour), tzinfo=UTC)

    def started(when: datetime, call_id: str) -> AuditEntry:
        return AuditEntry(
            AuditKind.ATTEMPT_STARTED, when, cid, "12025550143", lead=1, call_id=call_id
        )

    async with write_transaction(db):
        await write_audit(
            [
                started(at(before, 10), "a"),
                started(at(yesterday, 10), "b"),
                started(at(yesterday, 20), "c"),
                deferred(
                    campaign_id=cid,
                    lead_id=1,
                    number="12025550143",
                    rule="contact_limit",
                    until=at(today, 9),
                    at=at(yesterday, 11),
                ),
            ]
        )
    await import_leads(cid, ["Ann,+1 202 555 0143"])
    lead = await Lead.select(Lead.id).where(Lead.campaign == cid).first().run()
    await (
        CallRecord(
            campaign=cid,
            lead=lead["id"],
            attempt=1,
            call_id="b",
            phone="12025550143",
            created_at=at(yesterday, 10),
            answered_at=at(yesterday, 10),
            ended_at=at(yesterday, 10) + timedelta(seconds=5),
            disposition="abandoned",
            status="ABANDONED",
        )
        .save()
        .run()
    )

    page = (await ana.get(f"/campaigns/{cid}/summary")).text
    assert "Compliance, day by day" in page and f'href="/campaigns/{cid}/audit"' in page
    days = dict(re.findall(r'<tr data-day="([\d-]+)">(.*?)</tr>', page, re.S))
    assert list(days) == [(today - timedelta(days=n)).isoformat() for n in range(7)]

    def cells(day: date) -> list[str]:
        return [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", days[day.isoformat()], re.S)
        ]

    assert cells(yesterday)[1:] == ["2", "1", "1", "1", "100.00%", "0", "contact_limit 1"]
    assert 'class="num outside-hours bad"' in days[yesterday.isoformat()]
    assert cells(before)[1:3] == ["1", "1"]
    assert cells(today)[1:] == ["0", "0", "0", "0", "0.00%", "0", "—"]

    sam = await browser_session(app_client, "sam")
    page = (await sam.get(f"/campaigns/{cid}/summary")).text
    assert "Conformidade, dia a dia" in page and "Fora do horário" in page
    # The abandon rate with the decimal comma Portuguese writes, as the pacing card does.
    days = dict(re.findall(r'<tr data-day="([\d-]+)">(.*?)</tr>', page, re.S))
    assert cells(yesterday)[5] == "100,00%"


@pytest.mark.parametrize("dnc", [True, False], ids=["dnc-checked", "no-dnc"])
async def test_calls_are_judged_by_the_hours_they_were_placed_in(
    app_client: ApiClient, db: Database, dnc: bool
) -> None:
    """The admin stopped a campaign that dialed at noon under 09:00-17:00 and moved
    today's hours to 13:00-17:00: the summary said every call of the morning was
    started outside the hours (the demo's 109 of 109). Each start now keeps the hours
    it was placed in (the audit row's opens/closes), with a DNC check or without."""
    group = await people(app_client)
    campaign, today = await campaign_around_today(group)
    cid = campaign["id"]
    change: dict[str, object] = {"routing_target": "static"}  # slots, no contact center
    if not dnc:
        change["dnc_service_id"] = None
    await campaigns.update_campaign(SYSTEM, cid, change)
    numbers = [f"55119999900{i:02d}" for i in range(3)]
    await import_leads(cid, [f"Busy {i},+{n}" for i, n in enumerate(numbers)])
    await campaign_states.start_campaign(SYSTEM, cid)
    engine = make_engine(
        db,
        FakeClock(datetime.combine(today, time(12), tzinfo=UTC)),
        script={n: ["busy"] for n in numbers},
    )
    await engine.start(run_loop=False)
    try:
        await run_round(engine)
    finally:
        await engine.stop()
    await campaign_states.stop_campaign(SYSTEM, cid)

    ana = await browser_session(app_client, "ana")
    r = await ana.post(
        f"/campaigns/{cid}/schedules/edit-all",
        data={"start_time": "13:00", "end_time": "17:00"},
        headers=htmx(ana),
    )
    assert r.headers.get("HX-Redirect"), r.text
    page = (await ana.get(f"/campaigns/{cid}/summary")).text
    row = dict(re.findall(r'<tr data-day="([\d-]+)">(.*?)</tr>', page, re.S))[today.isoformat()]
    cells = [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]
    assert cells[1:3] == ["3", "0"]  # started, outside the hours
    assert "outside-hours bad" not in row
