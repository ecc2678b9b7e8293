"""Do-Not-Call in a real browser (Debian's Chromium, Playwright): a Campaign
Administrator deletes an external service after a confirmation (Cancel keeps it);
a service that a campaign uses is refused in the dialog, naming the campaign."""

# ruff: noqa: F811  (the fixtures imported from ui_browser are test parameters here)
from __future__ import annotations

import pytest
from playwright.async_api import Page, expect
from test_ui_browser import log_in, make_group, make_user
from ui_browser import browser, chromium_executable, live_server, tab  # noqa: F401

from opendialer.core.services import campaigns, dnc_services
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database

pytestmark = pytest.mark.browser


async def test_campaign_admin_deletes_an_external_service_after_a_confirmation(
    tab: Page, db: Database
) -> None:
    group = await make_group("Sales")
    await make_user("ana", "campaign_admin", [group])
    used = await dnc_services.create_service(
        SYSTEM, {"name": "National", "kind": "http", "url": "https://dnc.example/a"}
    )
    await dnc_services.create_service(
        SYSTEM, {"name": "Spare", "kind": "http", "url": "https://dnc.example/b"}
    )
    await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Spring",
            "group_id": group,
            "start_date": "2030-01-01",
            "end_date": "2030-01-05",
            "start_time": "09:00",
            "end_time": "17:00",
            "pilot_number": "4000",
            "dnc_service_id": used["id"],
        },
    )
    await log_in(tab, "ana")
    base: str = tab.base_url  # type: ignore[attr-defined]
    await tab.goto(f"{base}/dnc")
    table = tab.locator("#dnc-table")
    await expect(table.locator("tr[data-service='Embedded Service'] button")).to_have_count(0)

    national = table.locator("tr[data-service='National']")
    await national.locator("button.delete-service").click()
    await expect(tab.locator("#delete-what")).to_contain_text(
        "The Do-Not-Call service National is used by 1 campaign"
    )
    await expect(tab.locator("#delete-campaigns")).to_have_text("Spring")
    await expect(tab.locator("#confirm-delete")).to_have_count(0)
    await tab.click("#delete-modal button[data-close]:has-text('Close')")
    await expect(tab.locator("#delete-modal")).to_have_count(0)

    spare = table.locator("tr[data-service='Spare']")
    await spare.locator("button.delete-service").click()
    await expect(tab.locator("#delete-what")).to_have_text(
        "Delete Do-Not-Call service Spare? No campaign uses it."
    )
    await tab.click("#delete-modal button[data-close]:has-text('Cancel')")
    await expect(spare).to_have_count(1)  # cancelled: still there
    await spare.locator("button.delete-service").click()
    await tab.click("#confirm-delete")
    await expect(tab.locator(".flash")).to_have_text("Do-Not-Call service deleted.")
    await expect(spare).to_have_count(0)
    await expect(national).to_have_count(1)
