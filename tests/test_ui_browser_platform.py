"""System → Communication platform in a real browser (Debian's Chromium, Playwright),
on SQLite and PostgreSQL: a Master opens the page from the System menu, adds a port
row, sees every invalid field marked at once, corrects them, saves, and finds the
configuration stored with the password kept out of the page."""

# ruff: noqa: F811  (the fixtures imported from ui_browser are test parameters here)
from __future__ import annotations

import pytest
from api_client import PASSWORD
from playwright.async_api import Page, expect
from ui_browser import browser, chromium_executable, live_server, tab  # noqa: F401

from opendialer.core.services import platform_config, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database

pytestmark = pytest.mark.browser

SECRET = "port-secret-3001"


async def test_master_configures_the_communication_platform(tab: Page, db: Database) -> None:
    await users.create_user(
        SYSTEM, {"username": "boss", "password": PASSWORD, "role": "master", "group_ids": []}
    )
    await platform_config.update_platform_config(
        SYSTEM,
        {"server": "10.0.0.5:5060", "ports": [{"user": "3001", "password": SECRET}]},
    )
    base: str = tab.base_url  # type: ignore[attr-defined]
    await tab.goto(f"{base}/login")
    await tab.fill("#username", "boss")
    await tab.fill("#password", PASSWORD)
    await tab.click("#submit")
    await tab.click("a[data-tab=system]")
    await tab.click("#subtab-platform")
    await expect(tab.locator("h1")).to_have_text("System › Communication platform")
    await expect(tab.locator("#f-server")).to_have_value("10.0.0.5:5060")
    # the stored password is "set", never in the page
    await expect(tab.locator("tr[data-port-row='0'] [data-password-set]")).to_have_text("set")
    await expect(tab.locator("#f-port-0-password")).to_have_value("")
    assert SECRET not in await tab.content()

    # two new rows (htmx round trips, nothing saved), then four mistakes at once
    await tab.click("#add-port")
    await expect(tab.locator("#f-port-1-user")).to_be_visible()
    await tab.fill("#f-port-1-user", "30 02")
    await tab.click("#add-port")
    await expect(tab.locator("#f-port-2-user")).to_be_visible()
    await expect(tab.locator("#f-port-1-user")).to_have_value("30 02")  # kept by the round trip
    await tab.fill("#f-port-2-user", "3003")
    await tab.fill("#f-server", "10.0.0.5")
    await tab.fill("#f-caller_id", "call-me")
    await tab.click("#save-platform")
    await expect(tab.locator("#platform-errors")).to_have_text("4 fields need attention.")
    await expect(tab.locator("#err-server")).to_contain_text("host:port")
    await expect(tab.locator("#err-caller_id")).to_have_text(
        "Digits only, with an optional leading +."
    )
    await expect(tab.locator("#err-ports-1-user")).to_contain_text("A SIP user name")
    await expect(tab.locator("#err-ports-2-password")).to_contain_text("A password is required")
    await tab.click("#remove-port-2")
    await expect(tab.locator("#f-port-2-user")).to_have_count(0)
    await expect(tab.locator("#f-caller_id")).to_have_value("call-me")  # kept for correction
    stored = await platform_config.load_platform_config()
    assert stored is not None and stored["revision"] == 1  # nothing saved

    await tab.fill("#f-server", "10.0.0.6:5080")
    await tab.fill("#f-caller_id", "+4930123456")
    await tab.fill("#f-port-1-user", "3002")
    await tab.fill("#f-port-1-password", "port-secret-3002")
    await tab.select_option("#f-transport", "tcp")
    await tab.click("#save-platform")
    await expect(tab.locator("#platform-saved")).to_be_visible()
    await expect(tab.locator(".field-error")).to_have_count(0)
    assert "port-secret-3002" not in await tab.content()
    await expect(tab.locator("[data-password-set]")).to_have_count(2)
    stored = await platform_config.load_platform_config()
    assert stored is not None
    assert (stored["server"], stored["transport"], stored["caller_id"]) == (
        "10.0.0.6:5080",
        "tcp",
        "+4930123456",
    )
    assert [(p["user"], p["password"]) for p in stored["ports"]] == [
        ("3001", SECRET),
        ("3002", "port-secret-3002"),
    ]

    # remove the first row and save: the page and the store agree
    await tab.click("#remove-port-0")
    await expect(tab.locator("#f-port-0-user")).to_have_value("3002")
    await tab.click("#save-platform")
    await expect(tab.locator("#platform-saved")).to_be_visible()
    stored = await platform_config.load_platform_config()
    assert stored is not None and [p["user"] for p in stored["ports"]] == ["3002"]
    # the web server alone runs no engine: the registration card says where to look
    await expect(tab.locator("#registrations-unknown")).to_be_visible()
