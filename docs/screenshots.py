"""Regenerate the PNG screenshots of the user guide (``docs/screenshots/``).

    .venv/bin/python docs/screenshots.py [--out docs/screenshots] [--wait 25]

It runs ``opendialer demo`` (SQLite, the call simulator, a campaign that dials by
itself) in a temporary data directory on a free port, adds a few more users,
groups and campaigns through ``core/services``, and photographs the main pages
with Debian's Chromium (``/usr/bin/chromium``; ``apt-get install chromium``)
driven by Playwright. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Page, sync_playwright

from opendialer.core.demo import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
BAD_LEADS = "name,phone\nAna Souza,+5541981021119\n,+5541981021120\nBruno Lima,not-a-number\n"
GOOD_LEADS = "".join(
    f"{name},+55419810212{n:02d},{note}\n"
    for n, (name, note) in enumerate(
        [
            ("Ana Souza", "Gold card"),
            ("Bruno Lima", "Call after 14:00"),
            ("Carla Dias", ""),
            ("Diego Alves", "Spanish speaker"),
            ("Eva Martins", ""),
        ]
    )
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def seed(database_url: str) -> dict[str, int]:
    """Users, groups and campaigns beside the demo's, as an admin would make them."""
    from opendialer.core.services import campaigns, groups, leads, platform_config, users
    from opendialer.core.services.common import SYSTEM, PageRequest
    from opendialer.core.storage import connect

    db = await connect(database_url)
    try:
        default = (await groups.list_groups(SYSTEM))["items"][0]["id"]
        sales = (
            await groups.create_group(SYSTEM, {"name": "Sales", "description": "Outbound sales"})
        )["id"]
        retention = (
            await groups.create_group(
                SYSTEM, {"name": "Retention", "description": "Win-back calls", "enabled": True}
            )
        )["id"]
        people = [
            ("carla.souza", "Carla", "Souza", "manager", [sales, retention]),
            ("diego.alves", "Diego", "Alves", "campaign_admin", [sales]),
            ("eva.martins", "Eva", "Martins", "campaign_supervisor", [sales, default]),
        ]
        for username, first, last, role, group_ids in people:
            await users.create_user(
                SYSTEM,
                {
                    "username": username,
                    "password": DEMO_PASSWORD,
                    "first_name": first,
                    "last_name": last,
                    "role": role,
                    "group_ids": group_ids,
                },
            )
        listing = await users.list_users(SYSTEM, PageRequest(per_page=100))
        demo = next(u for u in listing["items"] if u["username"] == "demo")
        await users.update_user(SYSTEM, demo["id"], {"group_ids": [default, sales, retention]})
        base = {
            "start_date": "2030-03-02",
            "end_date": "2030-03-31",
            "start_time": "09:00",
            "end_time": "18:00",
            "timezone": "America/Sao_Paulo",
            "pilot_number": "4000",
            "queue": "sales",
        }
        spring = await campaigns.create_campaign(
            SYSTEM,
            {**base, "name": "Spring offers", "description": "Card upgrade", "group_id": default},
        )
        await campaigns.create_campaign(
            SYSTEM,
            {
                **base,
                "name": "Win-back Q2",
                "description": "Cancelled plans",
                "group_id": retention,
                "type": "IVR",
                "queue": "",
            },
        )
        # Started today with the contact center not configured: the list says why it
        # does not dial (the demo campaign beside it dials on the simulator).
        today = datetime.now(ZoneInfo("America/Sao_Paulo")).date()
        renewals = await campaigns.create_campaign(
            SYSTEM,
            {
                **base,
                "name": "Insurance renewals",
                "description": "Car insurance, due this month",
                "group_id": default,
                "start_date": today.isoformat(),
                "end_date": (today + timedelta(days=20)).isoformat(),
                "start_time": "00:00",
                "end_time": "23:59",
                "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "pilot_number": "554183022950",
                "queue": "Default Voice Queue",
            },
        )
        guide_csv = Path(tempfile.mkdtemp(prefix="opendialer-shots-")) / "guide.csv"
        guide_csv.write_text("María Rodríguez, 554183015031\nJuan Pérez, 554183015023\n")
        await leads.import_file(SYSTEM, renewals["id"], guide_csv)
        await campaigns.start_campaign(SYSTEM, renewals["id"])
        await groups.update_group(SYSTEM, retention, {"enabled": False})
        await platform_config.update_platform_config(
            SYSTEM,
            {
                "server": "10.20.0.5:5060",
                "transport": "udp",
                "domain": "osv.example.com",
                "register": True,
                "ports": [
                    {"user": f"4930555{n:04d}", "password": "port-secret"} for n in range(1, 5)
                ],
                "caller_id": "+4930555000",
                "no_answer_timeout_s": 30,
                "rtp_port_min": 20000,
                "rtp_port_max": 29999,
            },
        )
        return {"spring": int(spring["id"])}
    finally:
        await db.close()


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"opendialer demo exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    sys.exit(f"opendialer demo did not answer on {url}")


def log_in(page: Page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login?lang=en")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#submit")
    page.wait_for_selector("nav.tabs")


def shoot(page: Page, out: Path, name: str, *, full: bool = False) -> None:
    page.wait_for_timeout(300)  # let the modal's opening settle
    page.screenshot(path=str(out / f"{name}.png"), full_page=full)
    print(f"wrote {out / name}.png")


def photograph(base: str, out: Path, ids: dict[str, int], wait_s: float, work: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
        page.goto(f"{base}/login?lang=en")
        shoot(page, out, "login")

        log_in(page, base, "master")
        shoot(page, out, "users")
        page.click("#add-user")
        page.fill("#f-username", "f")
        page.fill("#f-password", "short")
        page.fill("#f-password_confirm", "short")
        page.fill("#f-first_name", "Fabio")
        page.check("input[name=role][value=campaign_supervisor]")
        page.click("#save-user")
        page.wait_for_selector("#err-username")
        shoot(page, out, "user-add-errors")
        page.goto(f"{base}/groups")
        shoot(page, out, "groups")
        page.goto(f"{base}/dnc")
        shoot(page, out, "dnc", full=True)
        page.goto(f"{base}/system")
        shoot(page, out, "diagnostics", full=True)
        page.goto(f"{base}/system/platform")
        page.fill("#f-port-3-user", "4930 5550004")  # one bad field, to show its message
        page.click("#save-platform")
        page.wait_for_selector("#err-ports-3-user")
        shoot(page, out, "platform", full=True)
        page.goto(f"{base}/system/ivr")
        page.fill("#f-channels", "30")
        page.click("#save-routing")
        page.wait_for_selector("#routing-saved")
        shoot(page, out, "system-ivr", full=True)
        page.goto(f"{base}/system/contact-center")
        shoot(page, out, "system-contact-center")

        log_in(page, base, "demo")
        time.sleep(max(0.0, wait_s))  # the demo campaign dials meanwhile
        page.goto(f"{base}/campaigns")
        shoot(page, out, "campaigns")
        page.locator("tr[data-campaign='Spring offers'] details.menu summary").click()
        shoot(page, out, "campaign-menu")
        page.keyboard.press("Escape")
        page.goto(f"{base}/campaigns")
        page.click("#add-campaign")
        page.fill("#f-name", "Black Friday")
        page.fill("#f-description", "Card offers for loyal customers")
        shoot(page, out, "campaign-add")
        spring = ids["spring"]
        page.goto(f"{base}/campaigns/{spring}/schedules")
        shoot(page, out, "schedule")
        page.goto(f"{base}/campaigns/{spring}/leads/upload")
        bad = work / "leads-bad.csv"
        bad.write_text(BAD_LEADS, encoding="utf-8")
        page.set_input_files("#f-file", str(bad))
        page.click("#upload-button")
        page.wait_for_selector("#upload-errors")
        shoot(page, out, "leads-upload-errors")
        good = work / "leads.csv"
        good.write_text(GOOD_LEADS, encoding="utf-8")
        page.set_input_files("#f-file", str(good))
        page.click("#upload-button")
        page.wait_for_selector("#upload-ok")
        page.goto(f"{base}/campaigns/{spring}/leads")
        shoot(page, out, "leads")
        demo_row = page.goto(f"{base}/campaigns")
        assert demo_row is not None
        page.locator("tr[data-campaign='Demo campaign'] a").first.click()
        page.wait_for_selector("svg.chart")
        shoot(page, out, "summary", full=True)
        page.click(".subtabs a:has-text('Call log')")
        page.wait_for_selector("#calls-table tbody tr[data-call]")
        shoot(page, out, "call-log")

        page.click("button[name=language][value=pt_BR]")
        page.goto(f"{base}/campaigns")
        shoot(page, out, "campaigns-pt_BR")
        page.click("button[name=language][value=es]")
        page.goto(f"{base}/campaigns")
        shoot(page, out, "campaigns-es")
        page.click("button[name=language][value=en]")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "screenshots")
    parser.add_argument("--wait", type=float, default=25, help="seconds the demo dials first")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install chromium")
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="opendialer-shots-"))
    env = {**os.environ, "OPENDIALER_DATA_DIR": str(work)}
    env.pop("OPENDIALER_DATABASE_URL", None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = work / "demo.out"
    with log.open("wb") as sink:
        demo = subprocess.Popen(
            [sys.executable, "-m", "opendialer.cli", "demo", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(base, demo, log)
        os.environ["OPENDIALER_DATA_DIR"] = str(work)
        # the demo keeps its database in <data dir>/demo (opendialer.core.config.demo_dir)
        ids = asyncio.run(seed(f"sqlite:///{work / 'demo' / 'opendialer.sqlite'}"))
        photograph(base, args.out, ids, args.wait, work)
    finally:
        demo.terminate()
        demo.wait(timeout=20)


if __name__ == "__main__":
    main()
