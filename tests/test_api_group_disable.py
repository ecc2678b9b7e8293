"""Disabling a group ends, for good, the sessions and API tokens of the Campaign
Administrators and Supervisors whose access came through it: enabling the group again
revives none of them (they log in again). Users with another enabled group, Managers
and Masters keep theirs."""

from __future__ import annotations

import pytest
from api_client import ApiClient


async def _status(client: object, path: str = "/api/v1/auth/me") -> int:
    return int((await client.get(path)).status_code)  # type: ignore[attr-defined]


@pytest.mark.parametrize("who", ["master", "manager"])
async def test_re_enabling_a_group_does_not_revive_its_tokens_and_sessions(
    app_client: ApiClient, who: str
) -> None:
    a, b = await app_client.group(), await app_client.group()
    admin = await app_client.user("campaign_admin", [a])
    supervisor = await app_client.user("campaign_supervisor", [a])
    both = await app_client.user("campaign_admin", [a, b])
    token = await app_client.bearer(admin["username"])
    cookie = await app_client.login(admin["username"])  # a real browser session
    supervisor_cookie = await app_client.login(supervisor["username"])
    other = await app_client.bearer(both["username"])
    boss = await app_client.login_as(who, [] if who == "master" else [a], cookie=True)
    for client in (token, cookie, supervisor_cookie, other, boss):
        assert await _status(client) == 200

    r = await boss.patch(f"/api/v1/groups/{a}", json={"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False, r.text
    for client in (token, cookie, supervisor_cookie):
        r = await client.get("/api/v1/auth/me")  # the reason, while it holds
        assert r.status_code == 403, r.text
        assert r.json()["error"] == "no_enabled_group"
    assert await _status(other) == 200  # group b still lets this one work
    assert await _status(boss) == 200  # the one who disabled it stays logged in

    r = await boss.patch(f"/api/v1/groups/{a}", json={"enabled": True})
    assert r.status_code == 200 and r.json()["enabled"] is True, r.text
    for client in (token, cookie, supervisor_cookie):
        r = await client.get("/api/v1/auth/me")
        assert r.status_code == 401, r.text
        assert "revoked" in r.json()["detail"]
    # Their own token lists are empty; logging in again works.
    again = await app_client.login(admin["username"])
    assert await _status(again) == 200
    items = (await again.get("/api/v1/auth/tokens")).json()["items"]
    assert len(items) == 1  # only the new session: the old ones are gone for good


async def test_a_still_disabled_login_is_refused_and_other_groups_keep_tokens(
    app_client: ApiClient,
) -> None:
    a, b = await app_client.group(), await app_client.group(enabled=False)
    member = await app_client.user("campaign_supervisor", [a, b])
    token = await app_client.bearer(member["username"])
    master = await app_client.login_as("master")
    # Disabling b, already disabled, changes nothing; disabling a ends the token.
    assert (await master.patch(f"/api/v1/groups/{b}", json={"enabled": False})).status_code == 200
    assert await _status(token) == 200
    assert (await master.patch(f"/api/v1/groups/{a}", json={"enabled": False})).status_code == 200
    assert await _status(token) == 403  # no_enabled_group: the reason, while it holds
    # Enabling the other group lets the user log in again, not this token back in.
    assert (await master.patch(f"/api/v1/groups/{b}", json={"enabled": True})).status_code == 200
    assert await _status(token) == 401
    assert await _status(await app_client.bearer(member["username"])) == 200
