"""A call's outcome detail as a code: the simulator's records carry the code and its
values (API and database), the call log shows the code's sentence in the viewer's
language, and a record without a code (written before codes) keeps its English detail."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from api_client import ApiClient
from test_api_calls import record
from test_ui_campaign_log import HUMAN, MACHINE, dialed_campaign, import_leads, people, rows
from test_ui_pages import browser_session
from test_ui_qa_campaign_pages import speaks

from opendialer.core.plugins import get_plugin_manager
from opendialer.core.services import campaigns
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import Lead
from opendialer.sdk import CallDisposition, CallOutcome

DETAIL_CELL = re.compile(r'<div class="muted small call-detail"([^>]*)>([^<]*)</div>')
T0 = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)


def detail_of(row: str) -> tuple[str, str]:
    """(attributes, shown text) of a call log row's detail."""
    found = DETAIL_CELL.search(row)
    assert found is not None, row
    return found.group(1), html.unescape(found.group(2))


def test_a_coded_outcome_renders_its_english_detail_from_the_code() -> None:
    get_plugin_manager()  # the platforms register their codes as they load
    outcome = CallOutcome(
        CallDisposition.NO_ANSWER,
        "sip-1",
        T0,
        T0,
        detail_code="platform_sip.no_answer",
        detail_params={"s": "30"},
    )
    assert outcome.detail == "no answer after 30 s"
    given = CallOutcome(CallDisposition.NO_ANSWER, "p", T0, T0, detail="said", detail_code="x.y")
    assert given.detail == "said"  # a platform's own English is kept
    with pytest.raises(KeyError):
        CallOutcome(CallDisposition.NO_ANSWER, "p", T0, T0, detail_code="nobody.registered")


async def test_a_simulator_calls_record_has_its_code_and_the_log_translates_it(
    app_client: ApiClient, db: Database
) -> None:
    group = await people(app_client)
    campaign = await dialed_campaign(db, group)
    admin = await app_client.bearer("ana")
    calls = (await admin.get(f"/api/v1/campaigns/{campaign['id']}/calls")).json()["items"]
    by_phone = {c["phone"]: c for c in calls}
    person, machine = by_phone[HUMAN], by_phone[MACHINE]
    assert person["detail_code"] == "platform_sim.transferred"
    assert person["detail_params"] == {"to": "4000", "truth": "human"}
    assert person["detail"] == "transferred to 4000; far end was a human (sim)"
    assert machine["detail_code"] == "platform_sim.amd_hangup"
    assert machine["detail_params"] == {"verdict": "MACHINE", "truth": "machine"}
    busy = next(c for c in calls if c["sip_code"] == 486)
    assert busy["detail_code"] is None and busy["detail_params"] is None
    expected = {
        "pt_BR": (
            "Transferida para 4000; do outro lado estava uma pessoa (simulador).",
            "O AMD indicou Máquina; do outro lado estava uma máquina (simulador).",
        ),
        "es": (
            "Transferida a 4000; al otro lado había una persona (simulador).",
            "El AMD indicó Contestador; al otro lado había una máquina (simulador).",
        ),
    }
    for language, (transferred, answering) in expected.items():
        await speaks("sam", language)
        sam = await browser_session(app_client, "sam")
        table = rows((await sam.get(f"/campaigns/{campaign['id']}/calls")).text, "calls-table")
        attributes, shown = detail_of(next(r for r in table if "Ana Souza" in r))
        assert shown == transferred, (language, shown)
        assert 'title="transferred to 4000; far end was a human (sim)"' in attributes
        assert detail_of(next(r for r in table if "Bia Lima" in r))[1] == answering, language


async def test_an_old_record_without_a_code_shows_its_english_detail(
    app_client: ApiClient,
) -> None:
    group = await people(app_client)
    campaign = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Older",
            "group_id": group,
            "start_date": "2030-01-07",
            "end_date": "2030-01-08",
            "start_time": "09:00",
            "end_time": "17:00",
            "timezone": "America/Sao_Paulo",
            "weekdays": ["mon", "tue"],
            "pilot_number": "4000",
            "default_region": "BR",
        },
    )
    await import_leads(campaign["id"], [f"Ana Souza,+{HUMAN}", f"Bia Lima,+{MACHINE}"])
    ana, bia = [r["id"] for r in await Lead.select(Lead.id).order_by(Lead.id).run()]
    # Written before detail codes: only the English sentence (that the call log of
    # that time recognised); and one whose code no installed plugin registers.
    await record(campaign["id"], ana, 1, "FAILURE", phone=HUMAN, detail="REFER refused")
    await record(
        campaign["id"],
        bia,
        1,
        "FAILURE",
        phone=MACHINE,
        detail="the gateway said no",
        detail_code="gone_plugin.refused",
        detail_params='{"why": "no"}',
    )
    sam = await browser_session(app_client, "sam")  # Portuguese
    table = rows((await sam.get(f"/campaigns/{campaign['id']}/calls")).text, "calls-table")
    attributes, shown = detail_of(next(r for r in table if "Ana Souza" in r))
    assert shown == "REFER refused" and 'lang="en"' in attributes
    attributes, shown = detail_of(next(r for r in table if "Bia Lima" in r))
    assert shown == "the gateway said no" and 'lang="en"' in attributes
    admin = await app_client.bearer("ana")
    calls = (await admin.get(f"/api/v1/campaigns/{campaign['id']}/calls")).json()["items"]
    old = next(c for c in calls if c["lead_id"] == ana)
    assert old["detail"] == "REFER refused" and old["detail_code"] is None
