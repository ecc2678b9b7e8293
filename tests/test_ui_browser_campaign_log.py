"""Issue 15 §3 in a real browser (Debian's Chromium, Playwright): a Campaign
Administrator edits one schedule day, is told at the date field when the new date is
taken, and deletes a day after a confirmation; a Supervisor opens the call log from
the campaign menu and is offered no edit or delete action anywhere."""

# ruff: noqa: F811  (the fixtures imported from ui_browser are test parameters here)
from __future__ import annotations

from datetime import timedelta

import pytest
from api_client import PASSWORD
from playwright.async_api import Page, expect
from test_ui_browser import log_in, make_group, make_user
from test_ui_campaign_log import HUMAN, campaign_around_today, day_id, dialed_campaign
from ui_browser import browser, chromium_executable, live_server, tab  # noqa: F401

from opendialer.core.services import users
from opendialer.core.storage import Database

pytestmark = pytest.mark.browser


async def test_campaign_admin_edits_and_deletes_a_schedule_day(tab: Page, db: Database) -> None:
    group = await make_group("Sales")
    await make_user("ana", "campaign_admin", [group])
    campaign, today = await campaign_around_today(group)
    tomorrow, after = today + timedelta(days=1), today + timedelta(days=2)
    sid = await day_id(campaign["id"], tomorrow)
    await log_in(tab, "ana")
    await tab.locator("tr[data-campaign=Spring] details.menu summary").click()
    await tab.click("tr[data-campaign=Spring] a:has-text('View/edit schedule')")
    table = tab.locator("#schedules-table")
    past = table.locator(f"tr[data-date='{today - timedelta(days=1)}']")
    await expect(past.locator("button")).to_have_count(0)  # past days are history

    day = table.locator(f"tr[data-date='{tomorrow}']")
    await day.locator("button.edit-day").click()
    await expect(tab.locator("#f-date")).to_have_value(tomorrow.isoformat())
    await tab.fill("#f-date", after.isoformat())
    await tab.click("#save-schedule")
    await expect(tab.locator("#err-date")).to_contain_text(f"{after} already has a schedule")
    await tab.fill("#f-date", tomorrow.isoformat())
    await tab.fill("#f-start_time", "10:15")
    await tab.fill("#f-end_time", "12:30")
    await tab.click("#save-schedule")
    await expect(tab.locator(".flash")).to_have_text("Schedule updated.")
    await expect(day).to_contain_text("10:15")
    await expect(day).to_contain_text("12:30")

    await day.locator("button.delete-day").click()
    await expect(tab.locator("#delete-what")).to_contain_text(
        f"Delete the schedule of {tomorrow:%b} {tomorrow.day}, {tomorrow.year} (10:15 – 12:30)"
        " from campaign Spring?"
    )
    await tab.click("#delete-modal button[data-close]:has-text('Cancel')")
    await expect(day).to_have_count(1)  # cancelled: still there
    await day.locator("button.delete-day").click()
    await tab.click("#confirm-delete")
    await expect(tab.locator(".flash")).to_have_text("Schedule deleted.")
    await expect(day).to_have_count(0)
    base: str = tab.base_url  # type: ignore[attr-defined]
    gone = await tab.goto(f"{base}/campaigns/{campaign['id']}/schedules/{sid}/edit")
    assert gone is not None and gone.status == 404


async def test_supervisor_reads_the_call_log_without_actions(tab: Page, db: Database) -> None:
    group = await make_group("Sales")
    await make_user("sam", "campaign_supervisor", [group])
    campaign = await dialed_campaign(db, group)
    await log_in(tab, "sam")
    row = tab.locator("tr[data-campaign=Renewals]")
    await row.locator("details.menu summary").click()
    await expect(row.locator("text=Delete campaign")).to_have_count(0)
    await row.locator("a:has-text('View call log')").click()
    await expect(tab.locator("h1")).to_have_text("Call log of Renewals")
    await expect(tab.locator("#calls-table tbody tr")).to_have_count(14)
    person = tab.locator("#calls-table tr", has_text="Ana Souza")
    await expect(person).to_contain_text(f"+{HUMAN}")
    await expect(person).to_contain_text("Transferred")
    await tab.select_option("#f-status", "AMD")
    await expect(tab.locator("#calls-table tbody tr")).to_have_count(1)
    await expect(tab.locator("#calls-table tbody tr")).to_contain_text("Bia Lima")
    assert "status=AMD" in tab.url
    # No edit or delete action anywhere on the campaign's pages.
    for sub in ("Schedule", "Leads", "Call log", "Summary"):
        await tab.click(f".subtabs a:has-text('{sub}')")
        await expect(tab.locator(".subtabs a.active")).to_have_text(sub)
        for action in (".edit-day", ".delete-day", ".delete-lead", "#edit-all-schedules"):
            assert await tab.locator(action).count() == 0, (sub, action)
    base: str = tab.base_url  # type: ignore[attr-defined]
    refused = await tab.goto(f"{base}/campaigns/{campaign['id']}/delete")
    assert refused is not None and refused.status == 403


async def test_a_calls_time_never_breaks_inside_the_clock(tab: Page, db: Database) -> None:
    """At a narrow width the time column breaks between day and clock: the clock
    (e.g. 19:03:17) stays on one line; it showed "19:03:1" over "7" in Spanish."""
    group = await make_group("Sales")
    await make_user("sam", "campaign_supervisor", [group])
    await users.set_language(await users.authenticate("sam", PASSWORD), "es")
    campaign = await dialed_campaign(db, group)
    await tab.set_viewport_size({"width": 900, "height": 800})
    await log_in(tab, "sam")
    base: str = tab.base_url  # type: ignore[attr-defined]
    await tab.goto(f"{base}/campaigns/{campaign['id']}/calls")
    clocks = tab.locator("#calls-table tbody time span.nowrap:last-child")
    await expect(clocks).to_have_count(14)
    lines = await clocks.evaluate_all("spans => spans.map(s => s.getClientRects().length)")
    assert lines == [1] * 14
