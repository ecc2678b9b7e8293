"""A new admin's first hour with the product guide, in Chromium (issue 15): a campaign
made with the guide's fields on the form (its phone region left to the time zone), the
guide's own lead list uploaded as written — imported, with the warning about numbers
that look unassigned — then a lead renamed through the edit form."""

# ruff: noqa: F811  (the fixtures imported from ui_browser are test parameters here)
from __future__ import annotations

from pathlib import Path

import pytest
from api_client import PASSWORD
from playwright.async_api import Page, expect
from ui_browser import browser, chromium_executable, live_server, tab  # noqa: F401

from opendialer.core.services import groups, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database

pytestmark = pytest.mark.browser

GUIDE_CSV = "María Rodríguez, 554183015031\n\nJuan Pérez, 554183015023\n"


async def test_the_guide_campaign_and_lead_list_from_the_web_ui(
    tab: Page, db: Database, tmp_path: Path
) -> None:
    group = (await groups.create_group(SYSTEM, {"name": "Group1", "enabled": True}))["id"]
    await users.create_user(
        SYSTEM,
        {"username": "guia", "password": PASSWORD, "role": "campaign_admin", "group_ids": [group]},
    )
    base: str = tab.base_url  # type: ignore[attr-defined]
    await tab.goto(f"{base}/login")
    await tab.fill("#username", "guia")
    await tab.fill("#password", PASSWORD)
    await tab.click("#submit")

    await tab.click("#add-campaign")
    region = tab.locator("#f-default_region")
    await expect(region).to_have_value("")  # the time zone's country
    await expect(region.locator("option[value='BR']")).to_have_text("Brazil (BR)")
    fields = {
        "#f-name": "OSCC V12R0",
        "#f-description": "Test",
        "#f-start_date": "2030-01-07",
        "#f-end_date": "2030-01-31",
        "#f-start_time": "08:00",
        "#f-end_time": "18:00",
        "#f-pilot_number": "554183022950",
    }
    for selector, value in fields.items():
        await tab.fill(selector, value)
    await tab.select_option("#f-timezone", "America/Sao_Paulo")
    await tab.click("#save-campaign")
    await expect(tab.locator(".flash")).to_have_text("Campaign created.")

    row = tab.locator("tr[data-campaign='OSCC V12R0']")
    await row.locator("details.menu summary").click()
    await row.locator("button", has_text="Edit campaign").click()
    await expect(tab.locator("#f-default_region")).to_have_value("BR")
    await tab.click("#campaign-modal [data-close]")

    await row.locator("details.menu summary").click()
    await row.locator("a", has_text="Upload leads").click()
    path = tmp_path / "guia.csv"
    path.write_text(GUIDE_CSV, encoding="utf-8")
    await tab.set_input_files("#f-file", str(path))
    await tab.click("#upload-button")
    await expect(tab.locator("#upload-ok")).to_have_text("2 leads imported.")
    await expect(tab.locator("#upload-unassigned")).to_contain_text(
        "2 numbers look unassigned in Brazil: lines 1, 3."
    )

    await tab.click("#upload-report a")
    await expect(tab.locator("#leads-table tbody tr")).to_have_count(2)
    await tab.locator("#leads-table tr[data-phone='554183015031'] button.edit-lead").click()
    await expect(tab.locator("#f-phone")).to_have_value("+554183015031")
    await tab.fill("#f-name", "María R. Rodríguez")
    await tab.click("#save-lead")
    await expect(tab.locator(".flash")).to_have_text("Lead updated.")
    await expect(tab.locator("#leads-table tr[data-phone='554183015031']")).to_contain_text(
        "María R. Rodríguez"
    )
