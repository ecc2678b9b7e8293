"""A new admin's second walk in Spanish and Portuguese, in a real browser (Debian's
Chromium, Playwright): the campaign form swaps without a CSP violation, and the call
log in pt_BR breaks names and status badges only between words."""

# ruff: noqa: F811  (the fixtures imported from ui_browser are test parameters here)
from __future__ import annotations

import pytest
from api_client import PASSWORD
from playwright.async_api import ConsoleMessage, Page, expect
from test_ui_browser import log_in, make_group, make_user
from test_ui_campaign_log import dialed_campaign
from ui_browser import browser, chromium_executable, live_server, tab  # noqa: F401

from opendialer.core.services import users
from opendialer.core.storage import Database

pytestmark = pytest.mark.browser


async def test_the_campaign_form_swaps_without_a_csp_violation(tab: Page, db: Database) -> None:
    """htmx settled the ``style`` attribute: an input's inline style (here set through
    the CSSOM, as a browser extension or Playwright's screenshot caret-hiding leaves
    ``style=""``) was copied onto the swapped-in input, which ``style-src 'self'``
    refuses with a console error on every field."""
    group = await make_group("Ventas")
    await make_user("ana", "campaign_admin", [group])
    violations: list[str] = []

    def collect(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            violations.append(message.text)

    tab.on("console", collect)
    await log_in(tab, "ana")
    await tab.click("#add-campaign")
    await expect(tab.locator("#campaign-form #f-name")).to_be_visible()
    await tab.evaluate(
        """() => document.querySelectorAll('#campaign-form input').forEach(input => {
            input.style.caretColor = 'transparent';
            input.style.removeProperty('caret-color');
        })"""
    )
    await tab.locator("#campaign-form button[type=submit]").first.click()  # empty: refused
    await expect(tab.locator("#campaign-form .has-error").first).to_be_visible()
    await tab.fill("#f-name", "Primavera")  # the swapped-in form is live
    await tab.wait_for_timeout(300)  # console messages arrive after the settle
    assert violations == []


#: The words of each element that the browser broke over two lines ("Client" / "e").
BROKEN_WORDS = """els => els.flatMap(el => {
    const broken = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const word of node.data.matchAll(/\\S+/g)) {
            const range = document.createRange();
            range.setStart(node, word.index);
            range.setEnd(node, word.index + word[0].length);
            if (range.getClientRects().length > 1) broken.push(word[0]);
        }
    }
    return broken;
})"""


@pytest.mark.parametrize("width", [1280, 1024])
async def test_call_log_names_and_badges_break_only_between_words(
    tab: Page, db: Database, width: int
) -> None:
    """In pt_BR the call log showed "Client / e 30" and "Mensage / m deixada": every
    cell wrapped anywhere, so the table squeezed the lead column below its words."""
    group = await make_group("Vendas")
    await make_user("sam", "campaign_supervisor", [group])
    await users.set_language(await users.authenticate("sam", PASSWORD), "pt_BR")
    campaign = await dialed_campaign(db, group)
    await tab.set_viewport_size({"width": width, "height": 800})
    await log_in(tab, "sam")
    base: str = tab.base_url  # type: ignore[attr-defined]
    await tab.goto(f"{base}/campaigns/{campaign['id']}/calls")
    await expect(tab.locator("#calls-table tbody tr")).to_have_count(14)
    await tab.screenshot(path=f"/tmp/journey2/calls_pt_{width}.png", full_page=True)
    names = tab.locator("#calls-table tbody td:nth-child(2)")
    badges = tab.locator("#calls-table tbody .badge")
    assert await names.evaluate_all(BROKEN_WORDS) == []
    assert await badges.evaluate_all(BROKEN_WORDS) == []
    width_used = await tab.evaluate("document.documentElement.scrollWidth")
    assert width_used <= width  # and the table still fits the screen
