"""``opendialer doctor`` and System → Diagnostics: a routing target that a STARTED
campaign needs but that is not configured (or cannot start) is a FAIL naming the
campaigns and where to fix it — never "OK, no routing target configured"."""

from __future__ import annotations

import html

import pytest
from api_client import ApiClient
from engine_support import make_campaign
from test_doctor import doctor, lines_of
from test_ui_diagnostics import master, rows

from opendialer.core.services import platform_choice, routing_config
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database

pytestmark = pytest.mark.timeout(120)


async def test_doctor_fails_an_unconfigured_ivr_a_started_campaign_needs(
    db: Database, cli_env: dict[str, str]
) -> None:
    code, checks, _ = await doctor(cli_env, "--check", "contact_center")
    assert code == 0 and lines_of(checks, "contact_center")[0]["status"] == "ok"
    assert "no started campaign needs one" in lines_of(checks, "contact_center")[0]["message"]

    await make_campaign(name="Surveys", type="IVR", routing_target=None, queue="")
    await make_campaign(name="Renewals", type="IVR", routing_target=None, queue="")
    await make_campaign(name="Idle", type="IVR", routing_target=None, state="STOPPED")
    code, checks, err = await doctor(cli_env, "--check", "contact_center")
    [line] = lines_of(checks, "contact_center")
    assert code != 0 and line["status"] == "fail", (checks, err)
    assert line["name"] == "contact_center: ivr"
    message = line["message"]
    assert "not configured" in message and "channels" in message
    assert "Renewals, Surveys" in message and "Idle" not in message
    assert "System → IVR (/system/ivr)" in message

    # with the simulator chosen they dial its simulated agents meanwhile: a warning
    await platform_choice.store("sim", {})
    code, checks, err = await doctor(cli_env, "--check", "contact_center")
    [line] = lines_of(checks, "contact_center")
    assert code == 0 and line["status"] == "warn", (checks, err)
    assert "Renewals, Surveys dial the simulator's agents ('sim') until it is" in line["message"]
    assert "System → IVR (/system/ivr)" in line["message"]

    await routing_config.put(SYSTEM, "ivr", {"channels": 4})
    code, checks, err = await doctor(cli_env, "--check", "contact_center")
    assert code == 0, (checks, err)
    assert [c["status"] for c in lines_of(checks, "contact_center")] == ["ok"]


async def test_diagnostics_names_the_started_campaigns_an_unconfigured_ivr_holds(
    app_client: ApiClient,
) -> None:
    await make_campaign(name="Night survey", type="IVR", routing_target=None, queue="")
    boss = await master(app_client)
    page = (await boss.get("/system")).text
    status, message = rows(page)["IVR"]
    assert status == "fail", message
    assert "Night survey" in html.unescape(message) and "/system/ivr" in message
