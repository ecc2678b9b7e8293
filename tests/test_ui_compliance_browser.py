"""The Compliance page in Chromium, in Portuguese: choosing a preset fills its values in
through htmx (nothing saved), Save applies it and names the campaign settings it
tightened, and the lead list shows each lead's time zone."""

# ruff: noqa: F811  (the fixtures imported from ui_browser are test parameters here)
from __future__ import annotations

import pytest
from api_client import PASSWORD
from playwright.async_api import Page, expect
from ui_browser import browser, chromium_executable, live_server, tab  # noqa: F401

from opendialer.core.services import campaign_compliance, campaigns, groups, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database

pytestmark = pytest.mark.browser


async def test_an_admin_applies_the_us_preset_in_portuguese(tab: Page, db: Database) -> None:
    group = (await groups.create_group(SYSTEM, {"name": "Cobrança", "enabled": True}))["id"]
    await users.create_user(
        SYSTEM,
        {
            "username": "lia",
            "password": PASSWORD,
            "role": "campaign_admin",
            "group_ids": [group],
            "language": "pt_BR",
        },
    )
    campaign = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Recuperação",
            "group_id": group,
            "start_date": "2030-01-07",
            "end_date": "2030-01-11",
            "start_time": "09:00",
            "end_time": "18:00",
            "pilot_number": "4000",
            "timezone": "America/Sao_Paulo",
            "no_answer_timeout_s": 12,
        },
    )
    cid = campaign["id"]
    base: str = tab.base_url  # type: ignore[attr-defined]
    await tab.goto(f"{base}/login")
    await tab.fill("#username", "lia")
    await tab.fill("#password", PASSWORD)
    await tab.click("#submit")
    await tab.goto(f"{base}/campaigns/{cid}/summary")
    await tab.click("#menu-compliance")
    await expect(tab.locator("h1")).to_have_text("Política de conformidade de Recuperação")
    await expect(tab.locator("#f-hours_mon")).to_have_value("")

    # Choosing the preset fills the form in (htmx), nothing is saved yet.
    await tab.locator("#f-preset").select_option("us_tsr")
    await expect(tab.locator("#compliance-unsaved")).to_be_visible()
    await expect(tab.locator("#f-hours_sun")).to_have_value("08:00-21:00")
    await expect(tab.locator("#f-min_ring_seconds")).to_have_value("15")
    await expect(tab.locator("#f-caller_id_required")).to_be_checked()
    assert (await campaign_compliance.get_policy(SYSTEM, cid))["preset"] == "none"

    # The admin narrows Sunday, which keeps the preset, and saves.
    await tab.fill("#f-hours_sun", "10:00-18:00")
    await tab.click("#save-compliance")
    await expect(tab.locator("#compliance-saved")).to_contain_text(
        "Salva: Estados Unidos: Telemarketing Sales Rule"
    )
    await expect(tab.locator('.adjusted[data-field="no_answer_timeout_s"]')).to_contain_text("→ 15")
    stored = await campaign_compliance.get_policy(SYSTEM, cid)
    assert stored["preset"] == "us_tsr"
    assert stored["local_hours"]["sun"] == ["10:00-18:00"]
    assert (await campaigns.get_campaign(SYSTEM, cid))["no_answer_timeout_s"] == 15
