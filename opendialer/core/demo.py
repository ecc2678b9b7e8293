"""What ``opendialer demo`` puts in a new database so a newcomer can look around."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opendialer.core.domain import DEFAULT_GROUP_NAME, CampaignState, Role
from opendialer.core.engine.settings import EngineConfig
from opendialer.core.services import installation, platform_choice, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage.tables import Campaign, DialerGroup, DialerUser, Lead, Schedule

DEMO_PASSWORD = installation.DEMO_PASSWORD
DEMO_CAMPAIGN = "Demo campaign"
DEMO_LEADS = 200
DEMO_DAYS = 30

#: The simulator of ``opendialer demo``, with a small contact center, so calls, AMD
#: verdicts, retries and summary counts move within seconds. The demo stores it as the
#: platform choice (System → Communication platform shows it, and a change there
#: applies to the demo as to any installation).
DEMO_SIMULATOR = {
    "ports": 12,
    "agents": 6,
    "handle_s": [6, 15],
    "ring_s": [1, 5],
    "no_answer_s": 8,
}
#: The engine of ``opendialer demo``: it follows the stored platform choice.
DEMO_ENGINE = EngineConfig(platform="", node_id="demo", max_calls=12)


@dataclass(frozen=True, slots=True)
class DemoLogin:
    username: str
    password: str
    role: str


async def _choose_simulator() -> None:
    """The simulator as the platform, unless a choice was made (a demo database made
    before choices existed has none; one where the Master chose keeps theirs)."""
    if not (await platform_choice.load()).name:
        await platform_choice.store("sim", dict(DEMO_SIMULATOR))


async def prepare_demo() -> list[DemoLogin]:
    """Create the demo logins on a new database, and mark it as a demo one (``serve``
    refuses it); on a database the demo seeded before, start the campaign again.

    A database with users that the demo did not seed is a real installation's: refused
    with :class:`installation.DemoDatabase`, nothing written."""
    logins = [
        DemoLogin("master", DEMO_PASSWORD, Role.MASTER.value),
        DemoLogin("demo", DEMO_PASSWORD, Role.CAMPAIGN_ADMIN.value),
    ]
    if await DialerUser.count().run():
        if not await installation.is_demo():
            raise installation.DemoDatabase("install.not_demo_database")
        existing = {r["username"] for r in await DialerUser.select(DialerUser.username).run()}
        await _choose_simulator()
        await prepare_demo_campaign(create=False)
        return [login for login in logins if login.username in existing]
    group = (
        await DialerGroup.select(DialerGroup.id)
        .where(DialerGroup.name == DEFAULT_GROUP_NAME)
        .first()
        .run()
    )
    await installation.mark_demo()  # first: a half-seeded database is refused by `serve` too
    await _choose_simulator()
    # the demo's pages open in the operator's language (the shell's locale), as its
    # campaign runs in the machine's time zone
    language = users.language_of_the_shell()
    await users.create_master("master", DEMO_PASSWORD, language)
    await users.create_user(
        SYSTEM,
        {
            "username": "demo",
            "password": DEMO_PASSWORD,
            "role": Role.CAMPAIGN_ADMIN.value,
            "group_ids": [group["id"]] if group else [],
            "first_name": "Demo",
            "last_name": "Administrator",
            "language": language,
        },
    )
    await prepare_demo_campaign(language=language)
    return logins


def machine_timezone() -> str:
    """The machine's IANA zone name ($TZ, /etc/localtime, /etc/timezone), else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    timezone_file = Path("/etc/timezone")
    if timezone_file.exists():
        candidates.append(timezone_file.read_text().strip())
    for name in candidates:
        if not name:
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return "UTC"


#: The demo campaign's description, in the operator's language (data, not page text: it
#: is written once, in the language the demo's users read).
DEMO_DESCRIPTIONS = {
    "en": "Simulated calls: people, answering machines, busy lines, no answer.",
    "pt_BR": "Chamadas simuladas: pessoas, secretárias eletrônicas, linhas ocupadas, sem resposta.",
    "es": "Llamadas simuladas: personas, contestadores, líneas ocupadas, sin respuesta.",
}


async def prepare_demo_campaign(
    now: datetime | None = None, *, create: bool = True, language: str | None = None
) -> int | None:
    """The demo campaign: 200 leads, STARTED, a whole-day schedule from today on
    (its description in ``language``, the demo users'; English when none).

    Made once; on later runs today's schedule entry is added if it is missing and
    the campaign is started again, so ``opendialer demo`` dials on any day.
    """
    now = now or datetime.now(UTC)
    tz = machine_timezone()
    today = now.astimezone(ZoneInfo(tz)).date()
    row = await Campaign.select(Campaign.id).where(Campaign.name == DEMO_CAMPAIGN).first().run()
    if row is None and not create:
        return None
    if row is None:
        group = (
            await DialerGroup.select(DialerGroup.id)
            .where(DialerGroup.name == DEFAULT_GROUP_NAME)
            .first()
            .run()
        )
        campaign = Campaign(
            name=DEMO_CAMPAIGN,
            description=DEMO_DESCRIPTIONS.get(language or "en", DEMO_DESCRIPTIONS["en"]),
            group=group["id"] if group else None,
            start_date=today,
            end_date=today + timedelta(days=DEMO_DAYS),
            start_time=time(0, 0),
            end_time=time(23, 59, 59),
            timezone=tz,
            weekdays="mon,tue,wed,thu,fri,sat,sun",
            pilot_number="7000",
            max_attempts=3,
            retry_after_minutes=2,
            type="OSCC",
            queue="demo",
            amd_enabled=True,
            routing_target="sim",
            no_answer_timeout_s=20,
            state=CampaignState.STARTED.value,
            state_reason="demo",
        )
        await campaign.save().run()
        campaign_id = int(campaign.id)
        await Lead.insert(
            *[
                Lead(
                    campaign=campaign_id,
                    name=f"Demo lead {i:03d}",
                    phone=f"1555{i:07d}",
                    next_attempt_at=now,
                )
                for i in range(1, DEMO_LEADS + 1)
            ]
        ).run()
        days = [today + timedelta(days=d) for d in range(DEMO_DAYS + 1)]
    else:
        campaign_id = int(row["id"])
        days = [today]
    existing = {
        r["date"]
        for r in await Schedule.select(Schedule.date).where(Schedule.campaign == campaign_id).run()
    }
    new_days: list[date] = [d for d in days if d not in existing]
    if new_days:
        await Schedule.insert(
            *[
                Schedule(
                    campaign=campaign_id, date=d, start_time=time(0), end_time=time(23, 59, 59)
                )
                for d in new_days
            ]
        ).run()
    await (
        Campaign.update({Campaign.state: CampaignState.STARTED.value, Campaign.end_date: max(days)})
        .where((Campaign.id == campaign_id) & (Campaign.end_date < max(days)))
        .run()
    )
    await (
        Campaign.update({Campaign.state: CampaignState.STARTED.value})
        .where(Campaign.id == campaign_id)
        .run()
    )
    return campaign_id
