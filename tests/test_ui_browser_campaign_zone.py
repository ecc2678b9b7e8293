"""The Add Campaign form's time zone in Chromium: a new admin's first campaign gets the
browser's zone (not UTC), and the next one the zone of the last campaign of their groups,
whatever the browser says."""

# ruff: noqa: F811  (the fixtures imported from ui_browser are test parameters here)
from __future__ import annotations

import pytest
from api_client import PASSWORD
from playwright.async_api import Page, expect
from ui_browser import browser, chromium_executable, live_server, tab  # noqa: F401

from opendialer.core.services import groups, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database

pytestmark = pytest.mark.browser


async def browser_zone(tab: Page, zone: str) -> None:
    """The tab's time zone, as Intl.DateTimeFormat() reports it (one CDP session a tab:
    the override belongs to the session that set it)."""
    cdp = getattr(tab, "_zone_cdp", None)
    if cdp is None:
        cdp = await tab.context.new_cdp_session(tab)
        tab._zone_cdp = cdp  # type: ignore[attr-defined]
    else:
        await cdp.send("Emulation.setTimezoneOverride", {"timezoneId": ""})
    await cdp.send("Emulation.setTimezoneOverride", {"timezoneId": zone})
    assert await tab.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == zone


async def test_a_new_campaign_takes_the_browsers_zone_then_the_last_campaigns(
    tab: Page, db: Database
) -> None:
    group = (await groups.create_group(SYSTEM, {"name": "Group1", "enabled": True}))["id"]
    await users.create_user(
        SYSTEM,
        {"username": "fuso", "password": PASSWORD, "role": "campaign_admin", "group_ids": [group]},
    )
    await browser_zone(tab, "America/Sao_Paulo")
    base: str = tab.base_url  # type: ignore[attr-defined]
    await tab.goto(f"{base}/login")
    await tab.fill("#username", "fuso")
    await tab.fill("#password", PASSWORD)
    await tab.click("#submit")

    await tab.click("#add-campaign")
    zone = tab.locator("#f-timezone")
    await expect(zone).to_have_value("America/Sao_Paulo")
    assert await zone.locator("option", has_text="Factory").count() == 0
    assert await zone.locator("option", has_text="localtime").count() == 0
    fields = {
        "#f-name": "Curitiba",
        "#f-start_date": "2030-01-07",
        "#f-end_date": "2030-01-31",
        "#f-pilot_number": "554183022950",
    }
    for selector, value in fields.items():
        await tab.fill(selector, value)
    await tab.click("#save-campaign")
    await expect(tab.locator(".flash")).to_have_text("Campaign created.")

    # The browser moved; the group's last campaign says more about the next one.
    await browser_zone(tab, "Europe/Lisbon")
    await tab.reload()
    await tab.click("#add-campaign")
    await expect(tab.locator("#f-timezone")).to_have_value("America/Sao_Paulo")
    await tab.click("#campaign-modal [data-close]")
