"""Routing-target settings (``setting`` rows ``routing.<target>``): Master-only,
validated by the target's own option checks, secrets write-only. Both backends."""

from __future__ import annotations

import pytest

from opendialer.core.domain import Role
from opendialer.core.services import routing_config
from opendialer.core.services.common import SYSTEM, Actor
from opendialer.core.services.errors import NotFound, PermissionDenied, ValidationFailed
from opendialer.core.storage import Database
from opendialer.core.storage.tables import Setting

OSCC = {
    "base_url": "https://oscc.example:9443/rest",
    "username": "dialer",
    "password": "s3cret-pw",
    "keepalive_interval_ms": 5000,
}
ADMIN = Actor(user_id=7, username="ann", role=Role.CAMPAIGN_ADMIN, group_ids=frozenset({1}),
              enabled_group_ids=frozenset({1}))  # fmt: skip


async def test_master_stores_options_and_secrets_never_leave(db: Database) -> None:
    view = await routing_config.put(SYSTEM, "oscc", OSCC)
    assert view["target"] == "oscc" and view["configured"] is True
    assert "password" not in view["options"] and view["options"]["has_password"] is True
    assert view["options"]["base_url"] == OSCC["base_url"]
    got = await routing_config.get(SYSTEM, "oscc")
    assert "password" not in got["options"] and got["options"]["has_password"] is True
    assert await routing_config.load_options("oscc") == OSCC  # the engine gets the real one
    # Saving the view back (has_password, no password) keeps the stored password.
    await routing_config.put(SYSTEM, "oscc", {**view["options"], "keepalive_interval_ms": 8000})
    stored = await routing_config.load_options("oscc")
    assert stored is not None
    assert stored["password"] == "s3cret-pw" and stored["keepalive_interval_ms"] == 8000
    assert await Setting.count().where(Setting.key == "routing.oscc").run() == 1
    # Old callers wrote the mask back: it still keeps the value.
    await routing_config.put(SYSTEM, "oscc", {**OSCC, "password": routing_config.MASK})
    assert (await routing_config.load_options("oscc") or {})["password"] == "s3cret-pw"
    # None clears it.
    cleared = await routing_config.put(SYSTEM, "oscc", {**OSCC, "password": None})
    assert cleared["options"]["has_password"] is False
    assert (await routing_config.load_options("oscc") or {})["password"] == ""


async def test_only_a_master_reads_or_writes(db: Database) -> None:
    await routing_config.put(SYSTEM, "ivr", {"channels": 30})
    with pytest.raises(PermissionDenied, match="Master"):
        await routing_config.put(ADMIN, "ivr", {"channels": 40})
    with pytest.raises(PermissionDenied):
        await routing_config.get(ADMIN, "ivr")
    with pytest.raises(PermissionDenied):
        await routing_config.list_all(ADMIN)
    with pytest.raises(PermissionDenied):
        await routing_config.delete(ADMIN, "ivr")
    assert await routing_config.load_options("ivr") == {"channels": 30}


@pytest.mark.parametrize(
    "target, options, field, words",
    [
        (
            "oscc",
            {**OSCC, "keepalive_interval_ms": "5s"},
            "options.keepalive_interval_ms",
            "milliseconds",
        ),
        ("oscc", {**OSCC, "paths": {"logon": "LOGIN /x"}}, "options.paths.logon", "POST /path"),
        ("oscc", {"username": "x"}, "options.base_url", "is required"),
        ("ivr", {"channels": -2}, "options.channels", ">= 0"),
        ("ivr", [1, 2], "options", "JSON object"),
        ("static", {"slots": "many"}, "options.slots", "slots"),
    ],
)
async def test_bad_options_are_refused_naming_the_option(
    db: Database, target: str, options: object, field: str, words: str
) -> None:
    with pytest.raises(ValidationFailed, match=words) as info:
        await routing_config.put(SYSTEM, target, options)
    assert info.value.field == field
    assert await routing_config.load_options(target) is None  # nothing stored


async def test_mask_without_a_stored_secret_is_refused(db: Database) -> None:
    with pytest.raises(ValidationFailed) as info:
        await routing_config.put(SYSTEM, "oscc", {**OSCC, "password": routing_config.MASK})
    assert info.value.field == "options.password"


async def test_unknown_target_list_and_delete(db: Database) -> None:
    with pytest.raises(NotFound, match=r"installed: .*oscc"):
        await routing_config.put(SYSTEM, "carrier-pigeon", {})
    blank = await routing_config.get(SYSTEM, "oscc")
    assert blank == {"target": "oscc", "configured": False, "options": {}, "updated_at": None}
    assert [v["configured"] for v in await routing_config.list_all(SYSTEM)] == [False] * len(
        routing_config.installed()
    )
    await routing_config.put(SYSTEM, "oscc", OSCC)
    await routing_config.put(SYSTEM, "ivr", {"channels": 12, "hold_timeout_ms": 600000})
    listed = {v["target"]: v for v in await routing_config.list_all(SYSTEM)}
    assert {"ivr", "oscc", "static"} <= set(listed)
    assert listed["static"]["configured"] is False
    assert listed["oscc"]["options"]["has_password"] is True
    assert "password" not in listed["oscc"]["options"]
    assert listed["ivr"]["updated_at"]
    assert await routing_config.configured_targets() == {"ivr", "oscc"}
    assert await routing_config.load_all_options() == {
        "ivr": {"channels": 12, "hold_timeout_ms": 600000},
        "oscc": OSCC,
    }
    await routing_config.delete(SYSTEM, "ivr")
    assert await routing_config.load_options("ivr") is None
    with pytest.raises(NotFound):
        await routing_config.delete(SYSTEM, "ivr")


async def test_every_refused_option_is_reported_at_once(db: Database) -> None:
    with pytest.raises(ValidationFailed) as info:
        await routing_config.put(
            SYSTEM,
            "oscc",
            {"poll_interval_ms": "1s", "paths": {"logon": "LOGIN", "events": "POST /ev"},
             "events": "yes"},
        )  # fmt: skip
    assert info.value.field == "options.base_url"  # the first, as before
    listed = [e["field"] for e in info.value.as_dict()["errors"]]  # type: ignore[union-attr]
    assert listed == [
        "options.base_url",  # required and missing: a stand-in checks the others
        "options.poll_interval_ms",
        "options.events",
        "options.paths.logon",
    ]
    assert await routing_config.load_options("oscc") is None
