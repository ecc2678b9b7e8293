"""What ``opendialer demo`` puts in a new database so a newcomer can look around."""

from __future__ import annotations

from dataclasses import dataclass

from opendialer.core.domain import DEFAULT_GROUP_NAME, Role
from opendialer.core.services import users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage.tables import DialerGroup, DialerUser

DEMO_PASSWORD = "opendialer-demo"


@dataclass(frozen=True, slots=True)
class DemoLogin:
    username: str
    password: str
    role: str


async def prepare_demo() -> list[DemoLogin]:
    """Create the demo logins on a new database; leave an existing one alone."""
    logins = [
        DemoLogin("master", DEMO_PASSWORD, Role.MASTER.value),
        DemoLogin("demo", DEMO_PASSWORD, Role.CAMPAIGN_ADMIN.value),
    ]
    if await DialerUser.count().run():
        existing = {r["username"] for r in await DialerUser.select(DialerUser.username).run()}
        return [login for login in logins if login.username in existing]
    group = (
        await DialerGroup.select(DialerGroup.id)
        .where(DialerGroup.name == DEFAULT_GROUP_NAME)
        .first()
        .run()
    )
    await users.create_master("master", DEMO_PASSWORD)
    await users.create_user(
        SYSTEM,
        {
            "username": "demo",
            "password": DEMO_PASSWORD,
            "role": Role.CAMPAIGN_ADMIN.value,
            "group_ids": [group["id"]] if group else [],
            "first_name": "Demo",
            "last_name": "Administrator",
        },
    )
    return logins
