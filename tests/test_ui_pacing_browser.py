"""The campaign form's pacing settings in Chromium: app.js shows only what the chosen mode
uses (nothing of the abandon settings for progressive; those and the safe-harbour
recording for a mode that over-dials; the lines per agent for power), a recording chosen
in the form is uploaded with it, and the browser plays the message the server serves
back (its length read by the <audio> element; the page's CSP allows it).

The server runs with a third party's over-dialing mode installed as a distribution
(an ``opendialer`` entry point on its path), as ``pip install`` would leave it."""

# ruff: noqa: F811  (the fixtures imported from ui_browser are test parameters here)
from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from api_client import PASSWORD
from playwright.async_api import Page, expect
from safe_harbour_audio import tone_wav
from ui_browser import browser, chromium_executable, start_server, stop_server  # noqa: F401

from opendialer.core.services import campaigns, groups, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CampaignMessage

pytestmark = pytest.mark.browser

SURGE_PLUGIN = '''
from opendialer.sdk import hookimpl


class Surge:
    """Launches two calls per free agent: it may abandon people."""

    over_dials = True

    def __init__(self, context=None):
        self.context = context

    def calls_to_launch(self, snapshot):
        return 2 * snapshot.free_slots


@hookimpl
def register_pacing_modes():
    return {"surge": Surge}
'''


@pytest.fixture(scope="module")
def surge_server(db_url: str, database: object) -> Iterator[str]:
    """A web server whose plugins include the ``surge`` pacing mode."""
    folder = Path(tempfile.mkdtemp(prefix="opendialer-surge-"))
    site = folder / "site"
    info = site / "opendialer_surge_mode-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "surge_mode.py").write_text(SURGE_PLUGIN)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: opendialer-surge-mode\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text("[opendialer]\nsurge_mode = surge_mode\n")
    data = folder / "data"
    data.mkdir()
    process, base = start_server(db_url, data, env_extra={"PYTHONPATH": str(site)})
    try:
        yield base
    finally:
        stop_server(process)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def surge_tab(browser: object, surge_server: str) -> AsyncIterator[Page]:
    context = browser
    await context.clear_cookies()  # type: ignore[attr-defined]
    tab: Page = await context.new_page()  # type: ignore[attr-defined]
    tab.set_default_timeout(15_000)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on(
        "console",
        lambda m: (
            errors.append(m.text) if m.type == "error" and "Content Security" in m.text else None
        ),
    )
    tab.base_url = surge_server  # type: ignore[attr-defined]
    try:
        yield tab
    finally:
        await tab.close()
    assert not errors, f"the page raised script errors or CSP violations: {errors}"


async def visible(tab: Page, *selectors: str) -> list[bool]:
    return [await tab.locator(s).is_visible() for s in selectors]


ABANDON_FIELDS = ("#f-abandon_target_pct", "#f-abandon_timeout_ms", "#f-max_lines_per_agent")


async def test_the_form_follows_the_mode_and_uploads_the_recording(
    surge_tab: Page, db: Database, tmp_path: Path
) -> None:
    tab = surge_tab
    group = (await groups.create_group(SYSTEM, {"name": "Vendas", "enabled": True}))["id"]
    await users.create_user(
        SYSTEM,
        {"username": "rita", "password": PASSWORD, "role": "campaign_admin", "group_ids": [group]},
    )
    base: str = tab.base_url  # type: ignore[attr-defined]
    await tab.goto(f"{base}/login")
    await tab.fill("#username", "rita")
    await tab.fill("#password", PASSWORD)
    await tab.click("#submit")
    await tab.click("#add-campaign")

    mode = tab.locator("#f-pacing_mode")
    await expect(mode).to_have_value("progressive")
    assert (
        await visible(tab, *ABANDON_FIELDS, "#f-lines_per_agent", "#f-safe_harbour_file")
        == [False] * 5
    )
    assert not await tab.locator("#safe-harbour-warning").is_visible()

    await mode.select_option("surge")
    assert await visible(tab, *ABANDON_FIELDS, "#f-safe_harbour_file") == [True] * 4
    assert not await tab.locator("#f-lines_per_agent").is_visible()  # power's own
    await expect(tab.locator("#safe-harbour-warning")).to_be_visible()
    if await mode.locator("option[value=power]").count():  # the power plugin is installed
        await mode.select_option("power")
        assert await visible(tab, "#f-lines_per_agent", *ABANDON_FIELDS) == [True] * 4
        await mode.select_option("surge")

    recording = tmp_path / "aviso.wav"
    recording.write_bytes(tone_wav(2.0, 22050, channels=2))
    fields = {
        "#f-name": "Recompra",
        "#f-start_date": "2030-01-07",
        "#f-end_date": "2030-01-31",
        "#f-pilot_number": "4000",
        "#f-abandon_target_pct": "2,5",
    }
    for selector, value in fields.items():
        await tab.fill(selector, value)
    await tab.set_input_files("#f-safe_harbour_file", str(recording))
    await tab.click("#save-campaign")
    await expect(tab.locator(".flash")).to_have_text("Campaign created.")
    (saved,) = (await campaigns.list_campaigns(SYSTEM))["items"]
    assert (saved["pacing_mode"], saved["abandon_target_pct"]) == ("surge", 2.5)
    message = saved["safe_harbour_message"]
    assert message["filename"] == "aviso.wav" and message["duration_ms"] == 2000
    assert await CampaignMessage.count().where(CampaignMessage.campaign == saved["id"]).run() == 1

    # Edit: the recording is shown and the browser plays what the server serves back.
    await tab.goto(f"{base}/campaigns/{saved['id']}/summary")
    seconds = await tab.evaluate(
        """() => new Promise((resolve, reject) => {
            const audio = document.querySelector('#summary-safe-harbour audio');
            audio.addEventListener('loadedmetadata', () => resolve(audio.duration));
            audio.addEventListener('error', () => reject(new Error('cannot play')));
            audio.preload = 'metadata';
            audio.load();
        })"""
    )
    assert abs(seconds - 2.0) < 0.01
    assert not await tab.locator("#pacing-no-message").count()
