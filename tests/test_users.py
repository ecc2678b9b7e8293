"""Users and groups service: hashing, policy, roles, the log-in rule, the CLI."""

from __future__ import annotations

import pytest
from helpers import run_cli

from opendialer.core.domain import Role
from opendialer.core.services import groups, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.services.errors import (
    Conflict,
    MethodNotAllowed,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from opendialer.core.storage import Database
from opendialer.core.storage.tables import DialerUser

PW = "correct-horse-battery"


async def _group(name: str, enabled: bool = True) -> int:
    return (await groups.create_group(SYSTEM, {"name": name, "enabled": enabled}))["id"]


async def test_passwords_are_argon2_hashed_and_verified(db: Database) -> None:
    await users.create_master("root1", PW)
    row = await DialerUser.select(DialerUser.password_hash).first().run()
    assert row["password_hash"].startswith("$argon2id$")
    assert PW not in row["password_hash"]
    actor = await users.authenticate("root1", PW)
    assert actor.role is Role.MASTER
    with pytest.raises(NotAuthenticated):
        await users.authenticate("root1", PW + "x")
    with pytest.raises(NotAuthenticated):
        await users.authenticate("nobody", PW)


@pytest.mark.parametrize(
    "password, reason",
    [
        ("short-pw", "at least 10"),
        ("root1root1", "not be the user name"),
        ("aaaaaaaaaaaa", "repeat"),
    ],
)
async def test_password_policy(db: Database, password: str, reason: str) -> None:
    with pytest.raises(ValidationFailed, match=reason) as info:
        await users.create_user(
            SYSTEM, {"username": "root1root1", "password": password, "role": "master"}
        )
    assert info.value.field == "password"


async def test_password_policy_length_is_configurable(db: Database, monkeypatch) -> None:
    monkeypatch.setenv("OPENDIALER_PASSWORD_MIN_LENGTH", "16")
    with pytest.raises(ValidationFailed, match="at least 16"):
        await users.create_master("root2", "fifteen-chars!!")


async def test_campaign_roles_with_no_enabled_group_cannot_log_in(db: Database) -> None:
    g = await _group("sales", enabled=True)
    for role in ("campaign_admin", "campaign_supervisor", "manager"):
        await users.create_user(
            SYSTEM, {"username": f"u_{role}", "password": PW, "role": role, "group_ids": [g]}
        )
    await groups.update_group(SYSTEM, g, {"enabled": False})
    for role in ("campaign_admin", "campaign_supervisor"):
        with pytest.raises(users.NoEnabledGroup):
            await users.authenticate(f"u_{role}", PW)
    manager = await users.authenticate("u_manager", PW)  # managers may
    assert manager.role is Role.MANAGER and manager.enabled_group_ids == frozenset()


async def test_manager_scope(db: Database) -> None:
    mine = await _group("mine")
    theirs = await _group("theirs")
    await users.create_user(
        SYSTEM, {"username": "mgr", "password": PW, "role": "manager", "group_ids": [mine]}
    )
    other = await users.create_user(
        SYSTEM,
        {"username": "other", "password": PW, "role": "campaign_admin", "group_ids": [theirs]},
    )
    mgr = await users.actor_for((await users.authenticate("mgr", PW)).user_id)
    created = await users.create_user(
        mgr,
        {"username": "agent1", "password": PW, "role": "campaign_supervisor", "group_ids": [mine]},
    )
    assert created["group_ids"] == [mine]
    with pytest.raises(PermissionDenied):
        await users.create_user(
            mgr,
            {"username": "agent2", "password": PW, "role": "campaign_admin", "group_ids": [theirs]},
        )
    with pytest.raises(PermissionDenied):
        await users.create_user(
            mgr, {"username": "boss2", "password": PW, "role": "master", "group_ids": []}
        )
    with pytest.raises(NotFound):
        await users.get_user(mgr, other["id"])
    listed = await users.list_users(mgr)
    assert [u["username"] for u in listed["items"]] == ["agent1"]
    with pytest.raises(PermissionDenied):
        await users.reset_password(mgr, created["id"], PW + "!")
    # managers enable/disable their groups, nothing else
    assert (await groups.update_group(mgr, mine, {"enabled": False}))["enabled"] is False
    with pytest.raises(PermissionDenied):
        await groups.update_group(mgr, mine, {"name": "renamed"})
    with pytest.raises(NotFound):
        await groups.update_group(mgr, theirs, {"enabled": False})


async def test_groups_are_never_deleted_and_names_unique(db: Database) -> None:
    g = await _group("north")
    with pytest.raises(MethodNotAllowed, match="disable"):
        groups.delete_group(SYSTEM, g)
    with pytest.raises(Conflict):
        await _group("north")


async def test_last_master_cannot_be_deleted(db: Database) -> None:
    a = await users.create_master("root_a", PW)
    b = await users.create_master("root_b", PW)
    actor_a = await users.actor_for(a["id"])
    await users.delete_user(actor_a, b["id"])
    with pytest.raises(Conflict, match="yourself"):
        await users.delete_user(actor_a, a["id"])


def test_cli_create_master_reads_stdin_or_env(cli_env: dict[str, str]) -> None:
    piped = run_cli("users", "create-master", "--username", "piped", env=cli_env, input=PW + "\n")
    assert piped.returncode == 0, piped.stderr
    env = {**cli_env, "OPENDIALER_MASTER_PASSWORD": PW}
    from_env = run_cli("users", "create-master", "--username", "fromenv", env=env)
    assert from_env.returncode == 0, from_env.stderr
    weak = run_cli("users", "create-master", "--username", "weak", env=cli_env, input="abc\n")
    assert weak.returncode == 1 and "at least 10 characters" in weak.stderr
    dup = run_cli("users", "create-master", "--username", "piped", env=env)
    assert dup.returncode == 1 and "taken" in dup.stderr
    # the password is never an argument
    argv = run_cli("users", "create-master", "--username", "x", "--password", PW, env=cli_env)
    assert argv.returncode != 0


async def test_the_first_master_reads_the_pages_in_the_operators_language(
    db: Database, cli_env: dict[str, str]
) -> None:
    """A Brazilian operator's shell makes a Master whose pages are in Portuguese from the
    first login; --language chooses; an unknown one is refused naming the choices."""
    env = {**cli_env, "OPENDIALER_MASTER_PASSWORD": PW}
    made = {
        "brasil": run_cli(
            "users", "create-master", "--username", "brasil", env={**env, "LANG": "pt_BR.UTF-8"}
        ),
        "chosen": run_cli(
            "users", "create-master", "--username", "chosen", "--language", "es", env=env
        ),
        "plain": run_cli("users", "create-master", "--username", "plain", env=env),  # C.UTF-8
    }
    for result in made.values():
        assert result.returncode == 0, result.stderr
    assert "pages in pt_BR" in made["brasil"].stdout
    # a C locale names no language: the browser's is adopted at the first login
    # (tests/test_ui_journey2.py), English until then
    assert "browser's language from the first login" in made["plain"].stdout
    for username, language in (("brasil", "pt_BR"), ("chosen", "es"), ("plain", "en")):
        actor = await users.authenticate(username, PW)
        assert (await users.me(actor))["language"] == language
    wrong = run_cli("users", "create-master", "--username", "x", "--language", "fr", env=env)
    assert wrong.returncode != 0 and "one of en, pt_BR, es" in wrong.stderr
