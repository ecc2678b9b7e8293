"""Authentication over HTTP: session cookies + CSRF, bearer tokens, log-out and revocation,
the log-in rule for disabled groups, failed-log-in throttling, security headers."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie

import httpx
import pytest
from api_client import PASSWORD, ApiClient, running

from opendialer.admin_ui.app import create_app
from opendialer.core.services import auth, users
from opendialer.core.services.login_throttle import LoginThrottle
from opendialer.core.storage import Database
from opendialer.core.storage.tables import ApiToken


def _set_cookies(response) -> dict[str, dict[str, str]]:
    """Each Set-Cookie header as {name: {attribute: value}} (flags map to "")."""
    out: dict[str, dict[str, str]] = {}
    for header in response.headers.get_list("set-cookie"):
        jar = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            attrs = {k: str(v) for k, v in morsel.items() if v}
            attrs["value"] = morsel.value
            out[name] = attrs
    return out


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_login_sets_httponly_lax_session_and_readable_csrf_cookie(
    app_client: ApiClient,
) -> None:
    g = await app_client.group()
    user = await app_client.user("campaign_admin", [g])
    browser = app_client.client()
    r = await browser.post(
        "/api/v1/auth/login", json={"username": user["username"], "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["username"] == user["username"]
    assert body["user"]["role"] == "campaign_admin"
    assert body["user"]["enabled_group_ids"] == [g]
    cookies = _set_cookies(r)
    session, csrf = cookies["od_session"], cookies["od_csrf"]
    assert session["httponly"] and session["samesite"].lower() == "lax" and session["path"] == "/"
    assert "secure" not in session  # plain HTTP: a Secure cookie would never come back
    assert "httponly" not in csrf and csrf["value"] == body["csrf_token"]
    assert session["value"] not in r.text  # the session secret is only in the cookie


async def test_session_cookie_is_secure_over_https(app_client: ApiClient) -> None:
    user = await app_client.user("master")
    r = await app_client.client(https=True).post(
        "/api/v1/auth/login", json={"username": user["username"], "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    cookies = _set_cookies(r)
    assert cookies["od_session"]["secure"] and cookies["od_csrf"]["secure"]
    assert r.headers["strict-transport-security"].startswith("max-age=")


async def test_cookie_session_needs_the_csrf_header_for_changes(app_client: ApiClient) -> None:
    master = await app_client.login_as("master", cookie=True)
    csrf = master.headers.pop("X-CSRF-Token")
    assert (await master.get("/api/v1/groups")).status_code == 200  # reads need no token
    r = await master.post("/api/v1/groups", json={"name": "sales"})
    assert r.status_code == 403 and r.json()["error"] == "csrf_failed", r.text
    assert "X-CSRF-Token" in r.json()["detail"]
    r = await master.post(
        "/api/v1/groups",
        json={"name": "sales"},
        headers={"X-CSRF-Token": csrf[:-1] + ("1" if csrf.endswith("0") else "0")},
    )
    assert r.status_code == 403 and r.json()["error"] == "csrf_failed"
    r = await master.post("/api/v1/groups", json={"name": "sales"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    me = (await master.get("/api/v1/auth/me")).json()
    assert me["csrf_token"] == csrf


async def test_bearer_token_needs_no_csrf_and_is_stored_hashed(app_client: ApiClient) -> None:
    user = await app_client.user("master")
    r = await app_client.post(
        "/api/v1/auth/token", json={"username": user["username"], "password": PASSWORD}
    )
    assert r.status_code == 201, r.text
    token, expires_at = r.json()["token"], r.json()["expires_at"]
    assert expires_at.startswith("20")
    script = app_client.client(headers={"Authorization": f"Bearer {token}"})
    r = await script.post("/api/v1/groups", json={"name": "from-a-script"})
    assert r.status_code == 201, r.text
    stored = await ApiToken.select(ApiToken.token_hash).run()
    assert stored and all(token not in row["token_hash"] for row in stored)
    r = await app_client.get("/api/v1/groups", headers={"Authorization": "Bearer odt_forged"})
    assert r.status_code == 401 and r.json()["error"] == "not_authenticated"


async def test_token_lifetime_is_chosen_within_limits(app_client: ApiClient) -> None:
    user = await app_client.user("master")
    creds = {"username": user["username"], "password": PASSWORD}
    r = await app_client.post("/api/v1/auth/token", json={**creds, "expires_in_days": 2})
    assert r.status_code == 201, r.text
    r = await app_client.post("/api/v1/auth/token", json={**creds, "expires_in_days": 400})
    assert r.status_code == 422 and r.json()["field"] == "expires_in_days", r.text


async def test_wrong_password_and_unknown_user_get_the_same_401(app_client: ApiClient) -> None:
    user = await app_client.user("master")
    wrong = await app_client.post(
        "/api/v1/auth/login", json={"username": user["username"], "password": PASSWORD + "x"}
    )
    unknown = await app_client.post(
        "/api/v1/auth/login", json={"username": "nobody-here", "password": PASSWORD}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_a_user_name_with_a_nul_byte_is_a_plain_401(app_client: ApiClient) -> None:
    """PostgreSQL text cannot hold NUL: the log-in throttle counted it and answered 500."""
    for route in ("/api/v1/auth/login", "/api/v1/auth/token"):
        r = await app_client.post(route, json={"username": "ad\u0000min", "password": PASSWORD})
        assert r.status_code == 401, r.text
        assert r.json()["error"] == "not_authenticated", r.text


async def test_login_body_is_validated(app_client: ApiClient) -> None:
    r = await app_client.post("/api/v1/auth/login", json={"username": "x"})
    assert r.status_code == 422 and r.json()["field"] == "password", r.text
    r = await app_client.post(
        "/api/v1/auth/login", json={"username": "x", "password": "y", "remember": True}
    )
    assert r.status_code == 422 and r.json()["error"] == "validation_failed", r.text


async def test_logout_revokes_the_session(app_client: ApiClient) -> None:
    user = await app_client.user("master")
    browser = await app_client.login(user["username"])
    session = browser.cookies["od_session"]
    r = await browser.post("/api/v1/auth/logout")
    assert r.status_code == 204, r.text
    assert _set_cookies(r)["od_session"]["max-age"] == "0"
    replay = app_client.client()
    replay.cookies.set("od_session", session)
    r = await replay.get("/api/v1/auth/me")
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


async def test_logout_with_a_bearer_token_revokes_that_token(app_client: ApiClient) -> None:
    script = await app_client.login_as("master")
    assert (await script.post("/api/v1/auth/logout")).status_code == 204
    assert (await script.get("/api/v1/auth/me")).status_code == 401


async def test_a_new_login_replaces_the_old_session(app_client: ApiClient) -> None:
    user = await app_client.user("master")
    browser = await app_client.login(user["username"])
    old = browser.cookies["od_session"]
    r = await browser.post(
        "/api/v1/auth/login", json={"username": user["username"], "password": PASSWORD}
    )
    assert r.status_code == 200
    replay = app_client.client()
    replay.cookies.set("od_session", old)
    assert (await replay.get("/api/v1/auth/me")).status_code == 401


async def test_tokens_are_listed_and_revoked_by_their_owner(app_client: ApiClient) -> None:
    alice = await app_client.login_as("master")
    listed = (await alice.get("/api/v1/auth/tokens")).json()
    assert listed["total"] == 1 and listed["items"][0]["kind"] == "bearer"
    assert "token" not in listed["items"][0] and "token_hash" not in listed["items"][0]
    g = await app_client.group()
    bob = await app_client.login_as("campaign_admin", [g])
    bobs_token = (await bob.get("/api/v1/auth/tokens")).json()["items"][0]["id"]
    # Bob cannot see or revoke Alice's token; it is out of his scope (404, not 403).
    alices_token = listed["items"][0]["id"]
    r = await bob.delete(f"/api/v1/auth/tokens/{alices_token}")
    assert r.status_code == 404, r.text
    assert (await alice.get("/api/v1/auth/me")).status_code == 200
    # A Master may revoke anyone's.
    assert (await alice.delete(f"/api/v1/auth/tokens/{bobs_token}")).status_code == 204
    assert (await bob.get("/api/v1/auth/me")).status_code == 401
    r = await alice.delete(f"/api/v1/auth/tokens/{alices_token}")
    assert r.status_code == 204
    assert (await alice.get("/api/v1/auth/me")).status_code == 401


async def test_expired_token_is_refused(app_client: ApiClient) -> None:
    created = await app_client.user("master")
    actor = await users.actor_for(created["id"])
    issued = await auth.issue(actor, auth.BEARER, timedelta(seconds=-1))
    r = await app_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {issued.token}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]


async def test_deleted_user_loses_access(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    g = await app_client.group()
    victim = await app_client.login_as("campaign_admin", [g])
    assert (await master.delete(f"/api/v1/users/{victim.user['id']}")).status_code == 204
    assert (await victim.get("/api/v1/auth/me")).status_code == 401


@pytest.mark.parametrize("role", ["campaign_admin", "campaign_supervisor"])
async def test_campaign_roles_without_an_enabled_group_cannot_log_in(
    app_client: ApiClient, role: str
) -> None:
    g = await app_client.group()
    user = await app_client.user(role, [g])
    session = await app_client.login(user["username"])  # logged in while the group is on
    master = await app_client.login_as("master")
    assert (await master.patch(f"/api/v1/groups/{g}", json={"enabled": False})).status_code == 200
    r = await app_client.post(
        "/api/v1/auth/login", json={"username": user["username"], "password": PASSWORD}
    )
    assert r.status_code == 403 and r.json()["error"] == "no_enabled_group", r.text
    assert "enable" in r.json()["detail"]
    r = await app_client.post(
        "/api/v1/auth/token", json={"username": user["username"], "password": PASSWORD}
    )
    assert r.status_code == 403 and r.json()["error"] == "no_enabled_group"
    # The session opened before the group was disabled ends too.
    r = await session.get("/api/v1/auth/me")
    assert r.status_code == 403 and r.json()["error"] == "no_enabled_group"


async def test_a_manager_with_no_enabled_group_can_log_in(app_client: ApiClient) -> None:
    g = await app_client.group(enabled=False)
    user = await app_client.user("manager", [g])
    r = await app_client.post(
        "/api/v1/auth/login", json={"username": user["username"], "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    assert r.json()["user"]["enabled_group_ids"] == []


async def test_failed_logins_lock_the_user_name_with_retry_after(app_client: ApiClient) -> None:
    clock = FakeClock()
    app_client.app.state.login_throttle = LoginThrottle(
        window_s=600, per_user=3, per_address=100, clock=clock
    )
    user = await app_client.user("master")
    wrong = {"username": user["username"], "password": "not-the-password"}
    right = {"username": user["username"], "password": PASSWORD}
    # Failures from different addresses all count against the user name.
    for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        r = await app_client.client(address=address).post("/api/v1/auth/login", json=wrong)
        assert r.status_code == 401
        clock.now += 10
    r = await app_client.post("/api/v1/auth/login", json=right)  # even the right password
    assert r.status_code == 429 and r.json()["error"] == "too_many_attempts", r.text
    assert int(r.headers["retry-after"]) == 600 - 30
    assert "570 s" in r.json()["detail"]
    r = await app_client.post("/api/v1/auth/token", json=right)
    assert r.status_code == 429
    clock.now += 600 - 30  # the first failure leaves the window
    r = await app_client.post("/api/v1/auth/login", json=right)
    assert r.status_code == 200, r.text


async def test_failed_logins_lock_the_client_address(app_client: ApiClient) -> None:
    app_client.app.state.login_throttle = LoginThrottle(
        window_s=600, per_user=100, per_address=4, clock=FakeClock()
    )
    user = await app_client.user("master")
    attacker = app_client.client(address="192.0.2.66")
    for n in range(4):  # a spray: a different user name each time
        r = await attacker.post(
            "/api/v1/auth/login", json={"username": f"guess{n}", "password": "letmein123"}
        )
        assert r.status_code == 401
    right = {"username": user["username"], "password": PASSWORD}
    r = await attacker.post("/api/v1/auth/login", json=right)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "address" in r.json()["detail"]
    r = await app_client.client(address="192.0.2.7").post("/api/v1/auth/login", json=right)
    assert r.status_code == 200  # other addresses are not punished


async def test_a_successful_login_forgets_the_user_names_failures(app_client: ApiClient) -> None:
    app_client.app.state.login_throttle = LoginThrottle(per_user=3, per_address=100)
    user = await app_client.user("master")
    wrong = {"username": user["username"], "password": "not-the-password"}
    right = {"username": user["username"], "password": PASSWORD}
    for _ in range(2):
        assert (await app_client.post("/api/v1/auth/login", json=wrong)).status_code == 401
    assert (await app_client.post("/api/v1/auth/login", json=right)).status_code == 200
    for _ in range(2):
        assert (await app_client.post("/api/v1/auth/login", json=wrong)).status_code == 401
    assert (await app_client.post("/api/v1/auth/login", json=right)).status_code == 200


async def test_failed_logins_count_across_web_nodes(app_client: ApiClient, db: Database) -> None:
    """Two web nodes on one database: failures on one lock the user name on the other
    (the failures are in the database, not in a process)."""
    clock = FakeClock()
    app_client.app.state.login_throttle = LoginThrottle(
        window_s=600, per_user=3, per_address=100, clock=clock
    )
    other_node = create_app(database=db)
    other_node.state.login_throttle = LoginThrottle(
        window_s=600, per_user=3, per_address=100, clock=clock
    )
    user = await app_client.user("master")
    wrong = {"username": user["username"], "password": "not-the-password"}
    right = {"username": user["username"], "password": PASSWORD}
    async with (
        running(other_node),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=other_node, client=("198.51.100.9", 40000)),
            base_url="http://testserver",
        ) as node_b,
    ):
        assert (await app_client.post("/api/v1/auth/login", json=wrong)).status_code == 401
        assert (await node_b.post("/api/v1/auth/login", json=wrong)).status_code == 401
        assert (await app_client.post("/api/v1/auth/login", json=wrong)).status_code == 401
        r = await node_b.post("/api/v1/auth/login", json=right)
        assert r.status_code == 429, r.text
        # A refused attempt extends nothing: after the window both nodes let it in.
        clock.now += 600
        r = await node_b.post("/api/v1/auth/login", json=right)
        assert r.status_code == 200, r.text
        # ...and a success on one node clears the user name's failures for both.
        for client in (app_client, node_b, app_client):
            assert (await client.post("/api/v1/auth/login", json=wrong)).status_code == 401
        clock.now += 600
        assert (await node_b.post("/api/v1/auth/login", json=right)).status_code == 200
        assert (await app_client.post("/api/v1/auth/login", json=wrong)).status_code == 401
        assert (await node_b.post("/api/v1/auth/login", json=right)).status_code == 200


def test_throttle_limits_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("OPENDIALER_LOGIN_WINDOW_S", "60")
    monkeypatch.setenv("OPENDIALER_LOGIN_MAX_FAILURES_PER_USER", "2")
    monkeypatch.setenv("OPENDIALER_LOGIN_MAX_FAILURES_PER_ADDRESS", "7")
    from opendialer.admin_ui.app import create_app

    throttle = create_app("sqlite:///:memory:").state.login_throttle
    assert (throttle.window_s, throttle.per_user, throttle.per_address) == (60, 2, 7)


async def test_every_answer_carries_the_security_headers(app_client: ApiClient) -> None:
    for r in (
        await app_client.get("/api/v1/groups"),  # 401 from the error handler
        await app_client.get("/no/such/page"),  # 404 outside every route
        await app_client.get("/schema/openapi.json"),
        await app_client.get("/schema/swagger"),  # the API page too: no inline code
    ):
        assert r.headers["x-frame-options"] == "DENY", r.url
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        csp = r.headers["content-security-policy"]
        assert "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    assert (await app_client.get("/api/v1/groups")).headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in (await app_client.get("/healthz")).headers


async def test_right_password_without_an_enabled_group_is_not_a_failed_login(
    app_client: ApiClient,
) -> None:
    app_client.app.state.login_throttle = LoginThrottle(per_user=2, per_address=100)
    g = await app_client.group(enabled=False)
    user = await app_client.user("campaign_admin", [g])
    for _ in range(4):
        r = await app_client.post(
            "/api/v1/auth/login", json={"username": user["username"], "password": PASSWORD}
        )
        assert r.status_code == 403 and r.json()["error"] == "no_enabled_group", r.text
