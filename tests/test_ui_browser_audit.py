"""The audit trail in a real browser (Debian's Chromium, Playwright): a Supervisor opens
it from the campaign's menu, picks the day the simulator dialed and downloads the CSV;
the file holds the rows of that day's calls."""

# ruff: noqa: F811  (the fixtures imported from ui_browser are test parameters here)
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from test_ui_audit import check_dialed_rows, parse
from test_ui_browser import log_in, make_group, make_user
from test_ui_campaign_log import dialed_campaign
from ui_browser import browser, chromium_executable, live_server, tab  # noqa: F401

from opendialer.core.storage import Database

pytestmark = pytest.mark.browser


async def test_supervisor_downloads_the_audit_trail(
    tab: Page, db: Database, tmp_path: Path
) -> None:
    group = await make_group("Sales")
    await make_user("sam", "campaign_supervisor", [group])
    campaign = await dialed_campaign(db, group)
    await log_in(tab, "sam")
    row = tab.locator("tr[data-campaign=Renewals]")
    await row.locator("details.menu summary").click()
    await row.locator("a:has-text('Export audit trail')").click()
    await expect(tab.locator("h1")).to_have_text("Audit trail of Renewals")
    await tab.fill("#f-from", "2030-01-07")
    await tab.fill("#f-to", "2030-01-08")
    async with tab.expect_download() as waiting:
        await tab.click("#audit-download")
    download = await waiting.value
    assert download.suggested_filename == "audit-Renewals-20300107T0300-20300108T0300.csv"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    check_dialed_rows(parse(saved.read_text()), campaign["id"])

    # A range the export refuses comes back as the form, the error at its field.
    await tab.fill("#f-to", "2030-01-07")
    await tab.click("#audit-download")
    await expect(tab.locator("#err-to")).to_contain_text("The end must come after the start")
