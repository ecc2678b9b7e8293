"""The campaign list in a real browser (Debian's Chromium, Playwright): a campaign
whose description is 1999 characters without a space keeps Run and its ⋮ menu on
the screen."""

# ruff: noqa: F811  (the fixtures imported from ui_browser are test parameters here)
from __future__ import annotations

import pytest
from playwright.async_api import Page, expect
from test_ui_browser import log_in, make_group, make_user
from ui_browser import browser, chromium_executable, live_server, tab  # noqa: F401

from opendialer.core.services import campaigns
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database

pytestmark = pytest.mark.browser


async def test_a_long_description_does_not_push_run_off_the_screen(tab: Page, db: Database) -> None:
    group = await make_group("Sales")
    await make_user("ana", "campaign_admin", [group])
    await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Wide",
            "group_id": group,
            "description": "y" * 1999,
            "start_date": "2030-01-07",
            "end_date": "2030-01-08",
            "start_time": "09:00",
            "end_time": "17:00",
            "pilot_number": "4000",
        },
    )
    await log_in(tab, "ana")
    row = tab.locator("tr[data-campaign=Wide]")
    await expect(row).to_have_count(1)
    width = await tab.evaluate("document.documentElement.scrollWidth")
    viewport = await tab.evaluate("window.innerWidth")
    assert width <= viewport, (width, viewport)
    for selector in (".run-stop", "details.menu summary"):
        box = await row.locator(selector).bounding_box()
        assert box is not None and box["x"] + box["width"] <= viewport, (selector, box)
