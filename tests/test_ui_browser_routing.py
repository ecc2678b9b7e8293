"""System → IVR and the campaign form in a real browser (Debian's Chromium,
Playwright), on SQLite and PostgreSQL: a Master opens System → IVR from the menu,
finds it "not configured yet", makes a mistake that is marked at its field, saves
30 channels and sees what the dialer will do; a Campaign Administrator's campaign
form shows the IVR note only while the IVR type is chosen, and no more once the
IVR is configured."""

# ruff: noqa: F811  (the fixtures imported from ui_browser are test parameters here)
from __future__ import annotations

import pytest
from api_client import PASSWORD
from playwright.async_api import Dialog, Page, expect
from ui_browser import browser, chromium_executable, live_server, tab  # noqa: F401

from opendialer.core.services import groups, routing_config, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database

pytestmark = pytest.mark.browser


async def log_in(tab: Page, username: str) -> None:
    base: str = tab.base_url  # type: ignore[attr-defined]
    await tab.goto(f"{base}/login")
    await tab.fill("#username", username)
    await tab.fill("#password", PASSWORD)
    await tab.click("#submit")


async def test_master_configures_the_ivr_and_the_campaign_form_follows(
    tab: Page, db: Database
) -> None:
    await users.create_user(
        SYSTEM, {"username": "boss", "password": PASSWORD, "role": "master", "group_ids": []}
    )
    group = await groups.create_group(SYSTEM, {"name": "Vendas", "enabled": True})
    await users.create_user(
        SYSTEM,
        {"username": "ann", "password": PASSWORD, "role": "campaign_admin",
         "group_ids": [group["id"]]},
    )  # fmt: skip

    # A Campaign Administrator sees the note only for the type that needs it.
    await log_in(tab, "ann")
    base: str = tab.base_url  # type: ignore[attr-defined]
    await tab.goto(f"{base}/campaigns")
    await tab.click("#add-campaign")
    await expect(tab.locator("#campaign-form")).to_be_visible()
    await expect(tab.locator("#routing-note-oscc")).to_be_visible()
    await expect(tab.locator("#routing-note-ivr")).to_be_hidden()
    await expect(tab.locator("#f-queue")).to_be_visible()
    await tab.check("input[name=type][value=IVR]")
    await expect(tab.locator("#routing-note-ivr")).to_be_visible()
    await expect(tab.locator("#routing-note-ivr")).to_contain_text("until a Master sets it up")
    await expect(tab.locator("#routing-note-oscc")).to_be_hidden()
    await expect(tab.locator("#f-queue")).to_be_hidden()  # an IVR campaign has no queue
    await tab.context.clear_cookies()

    # The Master configures the IVR.
    await log_in(tab, "boss")
    await tab.click("a[data-tab=system]")
    await tab.click("#subtab-ivr")
    await expect(tab.locator("h1")).to_have_text("System › IVR")
    await expect(tab.locator("#routing-not-configured")).to_be_visible()
    await tab.fill("#f-channels", "thirty")
    await tab.click("#save-routing")
    await expect(tab.locator("#err-channels")).to_have_text(
        "Enter the number of IVR channels (a whole number, 0 or more)."
    )
    await expect(tab.locator("#f-channels")).to_have_value("thirty")  # kept for correction
    assert await routing_config.load_options("ivr") is None
    await tab.fill("#f-channels", "30")
    await tab.fill("#f-hold_timeout_ms", "300000")
    await tab.click("#save-routing")
    await expect(tab.locator("#routing-saved")).to_be_visible()
    await expect(tab.locator(".field-error")).to_have_count(0)
    await expect(tab.locator("#routing-effect")).to_contain_text(
        "The dialer keeps at most 30 calls on the IVR at a time"
    )
    await expect(tab.locator("#routing-effect")).to_contain_text("for 300 s at most")
    await expect(tab.locator("#routing-not-configured")).to_have_count(0)
    assert await routing_config.load_options("ivr") == {"channels": 30, "hold_timeout_ms": 300000}
    # and it is still there when the page is opened again
    await tab.reload()
    await expect(tab.locator("#f-channels")).to_have_value("30")
    await tab.context.clear_cookies()

    # The campaign form no longer warns about the IVR.
    await log_in(tab, "ann")
    await tab.goto(f"{base}/campaigns")
    await tab.click("#add-campaign")
    await tab.check("input[name=type][value=IVR]")
    await expect(tab.locator("#routing-note-ivr")).to_have_count(0)


async def test_enter_in_a_field_saves_and_only_the_confirmed_remove_removes(
    tab: Page, db: Database
) -> None:
    """Enter in a text field submits with the form's first submit button: on System →
    IVR and System → Contact center that is Save, never Remove settings. Remove
    asks first; dismissing the question removes nothing."""
    await users.create_user(
        SYSTEM, {"username": "boss", "password": PASSWORD, "role": "master", "group_ids": []}
    )
    await routing_config.put(SYSTEM, "ivr", {"channels": 30})
    await routing_config.put(SYSTEM, "oscc", {"base_url": "https://oscc.example/rest"})
    await log_in(tab, "boss")
    base: str = tab.base_url  # type: ignore[attr-defined]

    await tab.goto(f"{base}/system/ivr")
    await expect(tab.locator("#delete-routing")).to_be_visible()
    await tab.fill("#f-channels", "40")
    await tab.press("#f-channels", "Enter")
    await expect(tab.locator("#routing-saved")).to_be_visible()
    await expect(tab.locator("#routing-removed")).to_have_count(0)
    assert await routing_config.load_options("ivr") == {"channels": 40}

    await tab.goto(f"{base}/system/contact-center")
    await tab.fill("#f-username", "dialer")
    await tab.press("#f-username", "Enter")
    await expect(tab.locator("#routing-saved")).to_be_visible()
    assert await routing_config.load_options("oscc") == {
        "base_url": "https://oscc.example/rest",
        "username": "dialer",
    }

    # Remove settings: dismissing the question keeps them, accepting removes them.
    answers = ["dismiss", "accept"]

    async def answer(dialog: Dialog) -> None:
        await (dialog.dismiss() if answers.pop(0) == "dismiss" else dialog.accept())

    tab.on("dialog", answer)
    await tab.click("#delete-routing")
    await expect(tab.locator("#routing-removed")).to_have_count(0)
    assert await routing_config.load_options("oscc") is not None
    await tab.click("#delete-routing")
    await expect(tab.locator("#routing-removed")).to_be_visible()
    assert await routing_config.load_options("oscc") is None


async def test_a_typed_password_is_kept_by_test_connection(tab: Page, db: Database) -> None:
    """Test connection does not lose the password just typed: Save afterwards
    stores it."""
    await users.create_user(
        SYSTEM, {"username": "boss", "password": PASSWORD, "role": "master", "group_ids": []}
    )
    await log_in(tab, "boss")
    base: str = tab.base_url  # type: ignore[attr-defined]
    await tab.goto(f"{base}/system/contact-center")
    await tab.fill("#f-base_url", "http://127.0.0.1:9/rest")
    await tab.fill("#f-username", "dialer")
    await tab.fill("#f-password", "typed-pw")
    await tab.fill("#f-connect_timeout_ms", "200")
    await tab.fill("#f-request_timeout_ms", "300")
    await tab.click("#test-routing")
    await expect(tab.locator("#routing-test")).to_contain_text("Connection failed")
    await expect(tab.locator("#f-password")).to_have_value("typed-pw")
    await tab.click("#save-routing")
    await expect(tab.locator("#routing-saved")).to_be_visible()
    assert (await routing_config.load_options("oscc") or {}).get("password") == "typed-pw"
    await expect(tab.locator("#f-password")).to_have_value("")  # stored: never shown again
