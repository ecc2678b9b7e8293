"""The HTML admin in a real browser: Debian's Chromium driven by Playwright.

Each journey of issue 8 runs on SQLite and on PostgreSQL (the ``db`` fixture):
roles and their tabs; a Master creating a group and a user; a Campaign
Administrator creating a campaign, uploading leads (a bad file first), editing
the schedule, starting and stopping it and opening the summary; a Supervisor who
can look but not change; the language switch.
"""

# ruff: noqa: F811  (the fixtures imported from ui_browser are test parameters here)
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from api_client import PASSWORD
from playwright.async_api import Page, expect
from ui_browser import browser, chromium_executable, live_server, tab  # noqa: F401

from opendialer.core.services import groups, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import Lead

pytestmark = pytest.mark.browser

ROLE_TABS = {
    "master": ["Dialer Users", "Dialer Groups", "Do-Not-Call", "System"],
    "manager": ["Dialer Users", "Dialer Groups"],
    "campaign_admin": ["Campaign Management", "Do-Not-Call"],
    "campaign_supervisor": ["Campaign Management"],
}


async def make_group(name: str, *, enabled: bool = True) -> int:
    return int((await groups.create_group(SYSTEM, {"name": name, "enabled": enabled}))["id"])


async def make_user(username: str, role: str, group_ids: list[int] | None = None) -> None:
    await users.create_user(
        SYSTEM,
        {"username": username, "password": PASSWORD, "role": role, "group_ids": group_ids or []},
    )


async def log_in(tab: Page, username: str, password: str = PASSWORD) -> None:
    base: str = tab.base_url  # type: ignore[attr-defined]
    await tab.goto(f"{base}/login")
    await tab.fill("#username", username)
    await tab.fill("#password", password)
    await tab.click("#submit")


async def tab_texts(tab: Page) -> list[str]:
    return [t.strip() for t in await tab.locator("nav.tabs a").all_inner_texts()]


async def test_each_role_sees_exactly_its_tabs(tab: Page, db: Database) -> None:
    group = await make_group("Sales")
    for role in ROLE_TABS:
        await make_user(f"user-{role}", role, [] if role == "master" else [group])
    for role, expected in ROLE_TABS.items():
        await tab.context.clear_cookies()
        await log_in(tab, f"user-{role}")
        await expect(tab.locator("header .who .user")).to_have_text(f"user-{role}")
        await expect(tab.locator("header .brand")).to_contain_text("Dialer Service Configuration")
        assert await tab_texts(tab) == expected, role
        await tab.click("#logout")
        await expect(tab.locator("#login-form")).to_be_visible()


async def test_login_refusals_are_clear(tab: Page, db: Database) -> None:
    closed = await make_group("Closed", enabled=False)
    await make_user("lonely", "campaign_supervisor", [closed])
    await log_in(tab, "lonely")
    await expect(tab.locator("#login-error")).to_contain_text("dialer groups are all disabled")
    await log_in(tab, "lonely", "not-the-password")
    await expect(tab.locator("#login-error")).to_have_text("Wrong user name or password.")
    # A tab asked for without a session leads to the login tab, then back to it.
    base: str = tab.base_url  # type: ignore[attr-defined]
    await make_user("boss", "master")
    await tab.goto(f"{base}/groups")
    await expect(tab.locator("#login-form")).to_be_visible()
    await tab.fill("#username", "boss")
    await tab.fill("#password", PASSWORD)
    await tab.click("#submit")
    await expect(tab.locator("h1")).to_have_text("Dialer Groups")


async def test_master_creates_a_group_and_a_user(tab: Page, db: Database) -> None:
    await make_user("boss", "master")
    await make_group("Closed", enabled=False)
    await log_in(tab, "boss")
    await tab.click("a[data-tab=groups]")
    await tab.click("#add-group")
    await tab.fill("#f-name", "Collections")
    await tab.fill("#f-description", "Overdue invoices")
    await tab.click("#save-group")
    await expect(tab.locator(".flash")).to_have_text("Group created.")
    await expect(tab.locator("tr[data-group=Collections]")).to_contain_text("Enabled")
    # Groups are never deleted: the table has no delete action.
    assert await tab.locator("#groups-table button.danger").count() == 0

    await tab.click("a[data-tab=users]")
    await tab.click("#add-user")
    await tab.fill("#f-username", "carla")
    await tab.fill("#f-password", "a-long-enough-secret")
    await tab.fill("#f-password_confirm", "a-different-secret")
    await tab.fill("#f-first_name", "Carla")
    await tab.fill("#f-last_name", "Souza")
    await tab.check("input[name=role][value=campaign_admin]")
    # The disabled group is greyed out and cannot be picked.
    closed = tab.locator("#f-group_ids option", has_text="Closed")
    assert await closed.is_disabled()
    await tab.select_option("#f-group_ids", label="Collections")
    await tab.click("#save-user")
    # The error stands next to the field that caused it, in the modal kept open.
    await expect(tab.locator("#err-password_confirm")).to_have_text("The passwords do not match.")
    await expect(tab.locator("#f-first_name")).to_have_value("Carla")
    await tab.fill("#f-password", "a-long-enough-secret")
    await tab.fill("#f-password_confirm", "a-long-enough-secret")
    await tab.click("#save-user")
    await expect(tab.locator(".flash")).to_have_text("User created.")
    row = tab.locator("tr[data-user=carla]")
    await expect(row).to_contain_text("Campaign Administrator")
    await expect(row).to_contain_text("Collections")
    await expect(tab.locator(".pagination .range")).to_have_text("1 - 2 / 2")

    # Edit, then delete with the confirmation dialog.
    await row.locator("button[hx-get$=edit]").click()
    await tab.fill("#f-last_name", "Souza Lima")
    await tab.click("#save-user")
    await expect(tab.locator("tr[data-user=carla]")).to_contain_text("Souza Lima")
    await tab.locator("tr[data-user=carla] button.danger").click()
    await expect(tab.locator("#delete-modal")).to_contain_text("carla")
    await tab.click("#confirm-delete")
    await expect(tab.locator(".flash")).to_have_text("User deleted.")
    assert await tab.locator("tr[data-user=carla]").count() == 0


BAD_LEADS = "name,phone\nAna,+5541981021119\n,+5541981021120\nBruno,not-a-number\n"
GOOD_LEADS = "name,phone\nAna,+5541981021119\nBruno,+5541981021120\nCarla,+5541981021121\n"


async def write(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return str(path)


async def test_campaign_administrator_runs_a_campaign(
    tab: Page, db: Database, tmp_path: Path
) -> None:
    group = await make_group("Sales")
    await make_user("cadmin", "campaign_admin", [group])
    await log_in(tab, "cadmin")
    await expect(tab.locator("h1")).to_have_text("Campaign Management")

    await tab.click("#add-campaign")
    form: dict[str, Any] = {
        "#f-name": "Black Friday",
        "#f-description": "Card offers",
        "#f-start_date": "2030-01-01",
        "#f-end_date": "2029-12-01",
        "#f-start_time": "09:00",
        "#f-end_time": "18:00",
        "#f-pilot_number": "4000",
        "#f-queue": "sales-queue",
    }
    for selector, value in form.items():
        await tab.fill(selector, value)
    await tab.select_option("#f-timezone", "America/Sao_Paulo")
    await tab.check("input[name=weekdays][value=sat]")
    await tab.click("#save-campaign")
    await expect(tab.locator("#err-end_date")).to_have_text("The end must come after the start.")
    await tab.fill("#f-end_date", "2030-01-31")
    await tab.click("#save-campaign")
    await expect(tab.locator(".flash")).to_have_text("Campaign created.")
    row = tab.locator("tr[data-campaign='Black Friday']")
    await expect(row).to_contain_text("Stopped")
    await expect(row).to_contain_text("sales-queue")

    # Leads: a bad file first — nothing imported, every bad line listed.
    await row.locator("details.menu summary").click()
    await row.locator("a", has_text="Upload leads").click()
    await tab.set_input_files("#f-file", await write(tmp_path, "bad.csv", BAD_LEADS))
    await tab.click("#upload-button")
    await expect(tab.locator("#upload-error")).to_contain_text("nothing was imported")
    await expect(tab.locator("#upload-errors tr[data-line='3']")).to_contain_text("name")
    await expect(tab.locator("#upload-errors tr[data-line='4']")).to_contain_text("not-a-number")
    await tab.set_input_files("#f-file", await write(tmp_path, "good.csv", GOOD_LEADS))
    await tab.click("#upload-button")
    await expect(tab.locator("#upload-ok")).to_have_text("3 leads imported.")

    # The lead table: search, status filter, edit.
    await tab.click("#upload-report a")
    await expect(tab.locator("#leads-table tbody tr")).to_have_count(3)
    await tab.fill("#f-q", "Bruno")
    await tab.click("#lead-search")
    await expect(tab.locator("#leads-table tbody tr")).to_have_count(1)
    await tab.locator("#leads-table tr[data-phone='5541981021120'] button.edit-lead").click()
    await tab.fill("#f-phone", "12")
    await tab.click("#save-lead")
    await expect(tab.locator("#err-phone")).to_contain_text("Invalid phone number")
    await tab.fill("#f-phone", "+55 41 98102-1122")
    await tab.fill("#f-description", "call after lunch")
    await tab.click("#save-lead")
    await expect(tab.locator(".flash")).to_have_text("Lead updated.")
    assert "q=Bruno" in tab.url  # back to the filtered table
    await expect(tab.locator("#leads-table tr[data-phone='5541981021122']")).to_contain_text(
        "call after lunch"
    )
    await tab.select_option("#f-status", "SUCCESS")
    await expect(tab.locator("#leads-table .empty")).to_be_visible()

    # Schedule: Edit all schedules.
    await tab.click(".subtabs a:has-text('Schedule')")
    assert await tab.locator("#schedules-table tbody tr").count() > 0
    await tab.click("#edit-all-schedules")
    await tab.fill("#f-start_time", "10:00")
    await tab.fill("#f-end_time", "09:00")
    await tab.click("#save-schedule")
    await expect(tab.locator("#err-end_time")).to_be_visible()
    await tab.fill("#f-end_time", "16:30")
    await tab.click("#save-schedule")
    await expect(tab.locator(".flash")).to_have_text("Schedules updated.")
    await expect(tab.locator("#schedules-table tbody tr").first).to_contain_text("10:00")
    await expect(tab.locator("#schedules-table tbody tr").first).to_contain_text("16:30")

    # Start; editing is refused while STARTED, saying so; stop.
    await tab.click("a[data-tab=campaigns]")
    await row.locator("button.run-stop").click()
    await expect(tab.locator(".flash")).to_have_text("Campaign started.")
    await expect(row).to_contain_text("Started")
    await row.locator("details.menu summary").click()
    await row.locator("button", has_text="Edit campaign").click()
    await expect(tab.locator("#error-modal")).to_contain_text("stop it before changing")
    await tab.click("#error-modal [data-close]")

    await row.locator("details.menu summary").click()
    await row.locator("a", has_text="View summary").click()
    await expect(tab.locator(".live")).to_be_visible()  # refreshed live while running
    async with tab.expect_response(lambda r: r.url.endswith("/summary/panel")) as polled:
        pass  # htmx polls the panel by itself (CSP-clean: no eval, no inline script)
    assert (await polled.value).status == 200
    await expect(tab.locator("[data-status=total] .value")).to_have_text("3")
    await expect(tab.locator("[data-status=NOT_CALLED] .value")).to_have_text("3")
    await expect(tab.locator("svg.chart g.bar").first).to_have_attribute("data-value", "3")
    await expect(tab.locator("#summary-panel")).to_contain_text("America/Sao_Paulo")

    await tab.click("a[data-tab=campaigns]")
    await row.locator("button.run-stop").click()
    await expect(tab.locator(".flash")).to_have_text("Campaign stopped.")
    await expect(row).to_contain_text("Stopped")


async def test_run_button_of_a_disabled_group_is_disabled_with_the_reason(
    tab: Page, db: Database
) -> None:
    from opendialer.core.services import campaigns

    sales = await make_group("Sales")
    closed = await make_group("Closed")
    await make_user("cadmin", "campaign_admin", [sales, closed])
    await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Dormant",
            "group_id": closed,
            "start_date": "2030-01-01",
            "end_date": "2030-01-10",
            "start_time": "09:00",
            "end_time": "17:00",
            "pilot_number": "4000",
        },
    )
    running = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Finishing",
            "group_id": closed,
            "start_date": "2030-01-01",
            "end_date": "2030-01-10",
            "start_time": "09:00",
            "end_time": "17:00",
            "pilot_number": "4000",
        },
    )
    await Lead(campaign=running["id"], name="Ann", phone="+12025550143").save().run()
    await campaigns.start_campaign(SYSTEM, running["id"])
    await groups.update_group(SYSTEM, closed, {"enabled": False})
    await log_in(tab, "cadmin")
    button = tab.locator("tr[data-campaign=Dormant] button.run-stop")
    await expect(button).to_be_disabled()
    reason = tab.locator("tr[data-campaign=Dormant] .tooltip-wrap")
    await expect(reason).to_have_attribute(
        "title", "The dialer group Closed is disabled: its stopped campaigns cannot start."
    )
    # Its STARTED campaign runs to its end, says so, and can still be stopped.
    note = tab.locator("tr[data-campaign=Finishing] .group-note")
    await expect(note).to_have_text(
        "Group disabled: this campaign runs to its end; it cannot be restarted."
    )
    await expect(tab.locator("tr[data-campaign=Finishing] button.btn-stop")).to_be_enabled()
    # Re-enabled: the note goes, Stop stays.
    await groups.update_group(SYSTEM, closed, {"enabled": True})
    await tab.reload()
    await expect(tab.locator("tr[data-campaign=Finishing] .campaign-state")).to_be_visible()
    await expect(tab.locator("tr[data-campaign=Finishing] .group-note")).to_have_count(0)
    await expect(tab.locator("tr[data-campaign=Finishing] button.btn-stop")).to_be_enabled()


async def test_supervisor_views_but_cannot_change(tab: Page, db: Database) -> None:
    from opendialer.core.services import campaigns

    group = await make_group("Sales")
    await make_user("watcher", "campaign_supervisor", [group])
    campaign = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Renewals",
            "group_id": group,
            "start_date": "2030-01-01",
            "end_date": "2030-01-10",
            "start_time": "09:00",
            "end_time": "17:00",
            "pilot_number": "4000",
        },
    )
    await log_in(tab, "watcher")
    row = tab.locator("tr[data-campaign=Renewals]")
    await expect(row).to_contain_text("Stopped")
    assert await tab.locator("#add-campaign").count() == 0
    assert await row.locator("button.run-stop").count() == 0
    await row.locator("details.menu summary").click()
    assert await row.locator("text=Edit campaign").count() == 0
    assert await row.locator("text=Upload leads").count() == 0
    await row.locator("a", has_text="View schedule").click()
    assert await tab.locator("#schedules-table tbody tr").count() > 0
    assert await tab.locator("#edit-all-schedules").count() == 0
    await tab.click(".subtabs a:has-text('Summary')")
    await expect(tab.locator("[data-status=total] .value")).to_have_text("0")
    # Asking for a change anyway is refused by the server, not only hidden.
    base: str = tab.base_url  # type: ignore[attr-defined]
    response = await tab.goto(f"{base}/campaigns/{campaign['id']}/leads/upload")
    assert response is not None and response.status == 403
    await expect(tab.locator(".error-page")).to_contain_text("Campaign Administrator")


async def test_language_switch(tab: Page, db: Database) -> None:
    await make_user("boss", "master")
    base: str = tab.base_url  # type: ignore[attr-defined]
    await tab.goto(f"{base}/login")
    await tab.click("a[data-lang=pt_BR]")
    await expect(tab.locator("#submit")).to_have_text("ENTRAR")
    await tab.fill("#username", "boss")
    await tab.fill("#password", PASSWORD)
    await tab.click("#submit")
    assert await tab_texts(tab) == [
        "Usuários do discador",
        "Grupos do discador",
        "Não ligar",
        "Sistema",
    ]
    # The choice is remembered for the user: a new session starts in Portuguese.
    await tab.context.clear_cookies()
    await log_in(tab, "boss")
    await expect(tab.locator("h1")).to_have_text("Usuários do discador")
    await tab.click("button[name=language][value=es]")
    await expect(tab.locator("h1")).to_have_text("Usuarios del marcador")
    await tab.click("#add-user")
    await tab.fill("#f-username", "x")
    await tab.click("#save-user")
    await expect(tab.locator("#err-username")).to_contain_text("2 a 64")
    assert await tab.locator("html").get_attribute("lang") == "es"
