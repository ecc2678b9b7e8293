"""A new admin's first hour, end to end, from the web UI alone (issue 15).

``opendialer serve`` (web + engine, no platform fixed by the environment) on an
empty database whose only user is the first Master, made with the CLI as the
install guide says. Then, in Debian's Chromium and only through the pages:

* the Master creates a group, a Manager, a Campaign Administrator and a
  Supervisor, chooses the simulator as the communication platform and configures
  the IVR (System → IVR);
* the Campaign Administrator creates an IVR campaign and an OSCC campaign with the
  product guide's fields (pilot ``554183022950``, 5 attempts, 60 minutes), uploads the
  guide's own lead CSV to both, deletes a schedule day and adds it back, and starts
  both;
* calls are placed on the IVR campaign (call-log rows, summary counts moving), and on
  the OSCC campaign too: the contact center is not configured, so on the simulator it
  dials the simulator's agents meanwhile, as its form said when it was made;
* the Supervisor reads the call log and finds no action that changes anything.

It runs in English on both databases and once in Portuguese.
"""

# ruff: noqa: F811  (the fixtures imported from ui_browser are test parameters here)
from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from api_client import PASSWORD
from helpers import run_cli
from playwright.async_api import Page, expect
from ui_browser import browser, chromium_executable, start_server, stop_server  # noqa: F401

from opendialer.admin_ui.i18n import translator
from opendialer.core.storage import Database

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ZONE = "America/Sao_Paulo"
#: The product guide's lead example, exactly as written (a space after the comma).
GUIDE_LEADS = "María Rodríguez, 554183015031\nJuan Pérez, 554183015023\n"
GUIDE_PILOT = "554183022950"


@pytest.fixture
def engine_server(db: Database, db_url: str, cli_env: dict[str, str]) -> Iterator[str]:
    """``serve --role all`` on the test's (emptied) database with its first Master."""
    created = run_cli(
        "users", "create-master", "--username", "admin", env=cli_env, input=f"{PASSWORD}\n"
    )
    assert created.returncode == 0, created.stderr
    data_dir = Path(tempfile.mkdtemp(prefix="opendialer-journey-"))
    process, base = start_server(
        db_url,
        data_dir,
        role="all",
        env_extra={"OPENDIALER_NODE_ID": "journey", "OPENDIALER_NODE_DEAD_AFTER_S": "5"},
    )
    try:
        yield base
    finally:
        stop_server(process)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
async def page(browser: Any, engine_server: str) -> AsyncIterator[Page]:
    await browser.clear_cookies()
    tab: Page = await browser.new_page()
    tab.set_default_timeout(20_000)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield tab
    finally:
        await tab.close()
    assert not errors, f"the pages raised script errors: {errors}"


class Journey:
    """The person at the keyboard: their language and what they click."""

    def __init__(self, page: Page, base: str, language: str, tmp_path: Path) -> None:
        self.page, self.base, self.language, self.tmp = page, base, language, tmp_path
        self.t = translator(language).gettext

    async def log_in(self, username: str) -> None:
        await self.page.context.clear_cookies()
        await self.page.goto(f"{self.base}/login?lang={self.language}")
        await self.page.fill("#username", username)
        await self.page.fill("#password", PASSWORD)
        await self.page.click("#submit")
        await expect(self.page.locator("#logout")).to_be_visible()

    async def flash(self, message: str) -> None:
        await expect(self.page.locator(".flash")).to_have_text(self.t(message))

    async def add_user(self, username: str, role: str, group: str) -> None:
        p = self.page
        await p.click("a[data-tab=users]")
        await p.click("#add-user")
        await p.fill("#f-username", username)
        await p.fill("#f-password", PASSWORD)
        await p.fill("#f-password_confirm", PASSWORD)
        await p.fill("#f-first_name", username.capitalize())
        await p.check(f"input[name=role][value={role}]")
        await p.select_option("#f-group_ids", label=group)
        await p.click("#save-user")
        await self.flash("User created.")

    async def add_campaign(self, fields: dict[str, str], kind: str) -> None:
        p = self.page
        await p.click("a[data-tab=campaigns]")
        await p.click("#add-campaign")
        await p.select_option("#f-timezone", ZONE)
        for selector, value in fields.items():
            await p.fill(selector, value)
        for box in await p.locator("input[name=weekdays]").all():
            await box.check()  # every day: the journey dials whatever day it runs on
        await p.select_option("#f-group_id", label="Vendas Curitiba")
        await p.check(f"input[name=type][value={kind}]")
        if kind == "OSCC":
            # The contact center is not configured yet: the form says so, who sets it up,
            # and that meanwhile (on the simulator) the campaign dials simulated agents.
            note = p.locator("#routing-note-oscc")
            await expect(note).to_have_attribute("data-simulated", "1")
            await expect(note).to_contain_text(
                self.t(
                    "The contact center is not configured yet: with the simulator, OSCC "
                    "campaigns dial its simulated agents until a Master sets it up under "
                    "System → Contact center."
                )
            )
        await p.check("#f-amd_enabled")
        await p.select_option("#f-dnc_service_id", label=self.t("Embedded Service"))
        await p.click("#save-campaign")
        await self.flash("Campaign created.")

    async def reload_until(self, read: Any, wanted: Any, what: str, seconds: int = 60) -> None:
        """Reload the page, as a person would, until ``read()`` gives ``wanted`` (a value
        or a predicate), for at most ``seconds``."""
        for _ in range(seconds):
            value = await read()
            if wanted(value) if callable(wanted) else value == wanted:
                return
            await self.page.wait_for_timeout(1000)
            await self.page.reload()
        raise AssertionError(f"{what}: still {value!r} after {seconds} s")

    def row(self, name: str) -> Any:
        return self.page.locator(f"tr[data-campaign='{name}']")

    async def open_menu(self, name: str, entry: str) -> None:
        await self.page.click("a[data-tab=campaigns]")
        await self.row(name).locator("details.menu summary").click()
        await self.row(name).locator("a, button", has_text=self.t(entry)).first.click()

    async def upload_guide_leads(self, name: str) -> None:
        await self.open_menu(name, "Upload leads")
        path = self.tmp / "leads.csv"
        path.write_text(GUIDE_LEADS, encoding="utf-8")
        await self.page.set_input_files("#f-file", str(path))
        await self.page.click("#upload-button")
        await expect(self.page.locator("#upload-ok")).to_be_visible()
        assert await self.page.locator("#upload-error").count() == 0


async def first_hour(page: Page, base: str, language: str, tmp_path: Path) -> None:
    me = Journey(page, base, language, tmp_path)
    t = me.t
    today = datetime.now(ZoneInfo(ZONE)).date()

    # -- the Master sets up the installation --------------------------------------
    await me.log_in("admin")
    await page.click("a[data-tab=groups]")
    await page.click("#add-group")
    await page.fill("#f-name", "Vendas Curitiba")
    await page.fill("#f-description", "Renovações de seguro")
    await page.click("#save-group")
    await me.flash("Group created.")
    await me.add_user("gerente", "manager", "Vendas Curitiba")
    await me.add_user("ana", "campaign_admin", "Vendas Curitiba")
    await me.add_user("sergio", "campaign_supervisor", "Vendas Curitiba")

    await page.click("a[data-tab=system]")
    await page.click("#subtab-platform")
    await expect(page.locator("#platform-none")).to_be_visible()
    await page.check("#platform-sim")
    await page.click("#platform-choice-save")
    await expect(page.locator("#platform-choice-saved")).to_be_visible()

    await page.click("#subtab-ivr")
    await expect(page.locator("#routing-not-configured")).to_be_visible()
    await page.fill("#f-channels", "4")
    await page.click("#save-routing")
    await expect(page.locator("#routing-saved")).to_be_visible()

    # -- the Campaign Administrator builds two campaigns from the guide -------------
    await me.log_in("ana")
    common = {
        "#f-start_date": today.isoformat(),
        "#f-end_date": (today + timedelta(days=30)).isoformat(),
        "#f-start_time": "00:00",
        "#f-end_time": "23:59",
        "#f-pilot_number": GUIDE_PILOT,
        "#f-max_attempts": "5",
        "#f-retry_after_minutes": "60",
    }
    await me.add_campaign(
        {**common, "#f-name": "Renovação IVR", "#f-description": "Seguro auto"}, "IVR"
    )
    await me.add_campaign(
        {
            **common,
            "#f-name": "OSCC V12R0",
            "#f-description": "Test",
            "#f-queue": "Default Voice Queue",
        },
        "OSCC",
    )
    for name in ("Renovação IVR", "OSCC V12R0"):
        await me.upload_guide_leads(name)

    # A schedule day deleted, then added back (the guide: create/delete/update).
    tomorrow = (today + timedelta(days=1)).isoformat()
    await me.open_menu("Renovação IVR", "View/edit schedule")
    day = page.locator(f"#schedules-table tr[data-date='{tomorrow}']")
    await day.locator("button.delete-day").click()
    await page.click("#confirm-delete")
    await me.flash("Schedule deleted.")
    await expect(day).to_have_count(0)
    await page.click("#add-schedule")
    await page.fill("#f-date", tomorrow)
    await page.fill("#f-start_time", "08:00")
    await page.fill("#f-end_time", "18:00")
    await page.click("#save-schedule")
    await expect(day).to_contain_text("08:00")
    await expect(day).to_contain_text("18:00")

    for name in ("Renovação IVR", "OSCC V12R0"):
        await page.click("a[data-tab=campaigns]")
        await me.row(name).locator("button.run-stop").click()
        await me.flash("Campaign started.")

    # The OSCC campaign dials the simulator's agents (its contact center is not set up).
    await me.open_menu("OSCC V12R0", "View call log")
    oscc_calls = page.locator("#calls-table tbody tr[data-call]")
    await me.reload_until(lambda: oscc_calls.count(), lambda n: n >= 1, "an OSCC call", 120)

    # The IVR campaign dials: its call log fills and its summary counts move.
    await me.open_menu("Renovação IVR", "View call log")
    rows = page.locator("#calls-table tbody tr[data-call]")
    await me.reload_until(lambda: rows.count(), lambda n: n >= 1, "a call in the call log")
    await page.click(f".subtabs a:has-text('{t('Summary')}')")
    await expect(page.locator("[data-status=total] .value")).to_have_text("2")
    await expect(page.locator("[data-status=NOT_CALLED] .value")).not_to_have_text(
        "2", timeout=60_000
    )

    # -- the Supervisor looks, and can change nothing -------------------------------
    await me.log_in("sergio")
    await me.open_menu("Renovação IVR", "View call log")
    await expect(page.locator("#calls-table tbody tr[data-call]").first).to_be_visible()
    for action in (".edit-day", ".delete-day", ".delete-lead", "#edit-all-schedules"):
        assert await page.locator(action).count() == 0, action
    await page.click("a[data-tab=campaigns]")
    assert await me.row("Renovação IVR").locator("button.run-stop").count() == 0


@pytest.mark.pg  # the whole product once on PostgreSQL too
async def test_first_hour_in_english(
    page: Page, engine_server: str, db_url: str, tmp_path: Path
) -> None:
    await first_hour(page, engine_server, "en", tmp_path)


async def test_first_hour_in_portuguese(
    page: Page, engine_server: str, db_url: str, tmp_path: Path
) -> None:
    if db_url.startswith("postgresql"):
        pytest.skip("the Portuguese journey runs once, on SQLite (English runs on both)")
    await first_hour(page, engine_server, "pt_BR", tmp_path)
