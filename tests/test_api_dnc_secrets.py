"""DNC service credentials are write-only: a password in the url and the values of
sensitive headers never come back to a reader (API, /dnc page, its edit form), a
round trip keeps them, they can be replaced and cleared, and the provider the engine
builds still gets the real values."""

from __future__ import annotations

import re

import pytest
from api_client import ApiClient
from test_ui_pages import browser_session, htmx

from opendialer.core import dnc
from opendialer.plugins.dnc_http.provider import HttpDncProvider
from opendialer.sdk.contracts import DncServiceConfig, DncUnavailable
from opendialer.testing import FakeDncServer

SECRETS = ("s3cret-pw", "k-123456", "Bearer tok-789", "sess=abc")
SERVICE = {
    "name": "Registry",
    "kind": "http",
    "url": "https://robot:s3cret-pw@dnc.example:8443/check?x=1",
    "options": {
        "retries": 1,
        "headers": {
            "X-Api-Key": "k-123456",
            "Authorization": "Bearer tok-789",
            "Cookie": "sess=abc",
            "X-Tenant": "acme",
        },
    },
}


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked"


async def real_config(service_id: int) -> HttpDncProvider:
    provider = await dnc.provider_for(service_id)
    assert isinstance(provider, HttpDncProvider)
    return provider


async def test_readers_never_get_the_credentials(app_client: ApiClient) -> None:
    g = await app_client.group()
    master = await app_client.login_as("master")
    r = await master.post("/api/v1/dnc-services", json=SERVICE)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert_no_secret(r.text)
    for role, groups in (
        ("master", []),
        ("campaign_admin", [g]),
        ("campaign_supervisor", [g]),
    ):
        reader = await app_client.login_as(role, groups)
        one = await reader.get(f"/api/v1/dnc-services/{sid}")
        listing = await reader.get("/api/v1/dnc-services")
        for answer in (one, listing):
            assert answer.status_code == 200, answer.text
            assert_no_secret(answer.text)
        body = one.json()
        assert body["url"] == "https://robot:***@dnc.example:8443/check?x=1"
        assert body["has_url_password"] is True
        assert body["options"]["headers"] == {
            "X-Api-Key": "",
            "Authorization": "",
            "Cookie": "",
            "X-Tenant": "acme",
        }
        assert body["secret_headers"] == ["Authorization", "Cookie", "X-Api-Key"]
        assert body["options"]["retries"] == 1
    try:
        provider = await real_config(sid)
        assert provider.config.url == SERVICE["url"]
        assert provider.headers["X-Api-Key"] == "k-123456"
        assert provider.headers["Authorization"] == "Bearer tok-789"
    finally:
        await dnc.close_all()


async def test_a_round_trip_keeps_them_and_they_can_be_replaced_or_cleared(
    app_client: ApiClient,
) -> None:
    admin = await app_client.login_as("campaign_admin", [await app_client.group()])
    sid = (await admin.post("/api/v1/dnc-services", json=SERVICE)).json()["id"]
    read = (await admin.get(f"/api/v1/dnc-services/{sid}")).json()
    # What a client read, sent back with another name, keeps every credential.
    r = await admin.patch(
        f"/api/v1/dnc-services/{sid}",
        json={"name": "Renamed", "url": read["url"], "options": read["options"]},
    )
    assert r.status_code == 200, r.text
    assert_no_secret(r.text)
    try:
        provider = await real_config(sid)
        assert provider.config.url == SERVICE["url"]
        assert provider.headers == SERVICE["options"]["headers"]  # type: ignore[index]
        # A new password and a new key replace; a header left out and a url without
        # a password clear.
        r = await admin.patch(
            f"/api/v1/dnc-services/{sid}",
            json={
                "url": "https://robot:n3w-pw@dnc.example:8443/check?x=1",
                "options": {"headers": {"x-api-key": "k-new", "Authorization": ""}},
            },
        )
        assert r.status_code == 200, r.text
        assert "n3w-pw" not in r.text and "k-new" not in r.text
        assert r.json()["secret_headers"] == ["Authorization", "x-api-key"]
        provider = await real_config(sid)
        assert provider.config.url == "https://robot:n3w-pw@dnc.example:8443/check?x=1"
        assert provider.headers == {"x-api-key": "k-new", "Authorization": "Bearer tok-789"}
        r = await admin.patch(
            f"/api/v1/dnc-services/{sid}",
            json={"url": "https://dnc.example/check", "options": {"headers": {}}},
        )
        assert (r.json()["has_url_password"], r.json()["secret_headers"]) == (False, [])
        provider = await real_config(sid)
        assert (provider.config.url, provider.headers) == ("https://dnc.example/check", {})
    finally:
        await dnc.close_all()
    # The mask with nothing stored behind it is refused, naming the url.
    r = await admin.patch(
        f"/api/v1/dnc-services/{sid}", json={"url": "https://robot:***@dnc.example/check"}
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "url" and "no password is stored" in r.json()["detail"]


@pytest.mark.parametrize("role", ["master", "campaign_admin"])  # the /dnc tab's roles
async def test_the_dnc_page_and_its_form_mask_them(app_client: ApiClient, role: str) -> None:
    g = await app_client.group()
    master = await app_client.login_as("master")
    sid = (await master.post("/api/v1/dnc-services", json=SERVICE)).json()["id"]
    user = await app_client.user(role, [] if role == "master" else [g])
    browser = await browser_session(app_client, user["username"])
    page = await browser.get("/dnc")
    assert page.status_code == 200, page.text
    assert_no_secret(page.text)
    assert "https://robot:***@dnc.example:8443/check?x=1" in page.text
    form = await browser.get(f"/dnc/services/{sid}/edit", headers=htmx(browser))
    assert_no_secret(form.text)
    assert 'id="url-password-hint"' in form.text
    value = re.search(r'name="url"[^>]*value="([^"]*)"', form.text)
    assert value and value.group(1) == "https://robot:***@dnc.example:8443/check?x=1"
    # A form sent back with an error keeps a password typed into the url in this very
    # post (the user's own input: blanking it made the next Save clear the stored
    # one); the stored password is not in it.
    typed = "https://robot:n3w-typed-pw@dnc.example/c"
    r = await browser.post(
        f"/dnc/services/{sid}",
        data={"name": "R", "url": typed, "timeout_ms": "1"},
        headers=htmx(browser),
    )
    assert 'id="err-timeout_ms"' in r.text
    assert_no_secret(r.text)
    assert f'value="{typed}"' in r.text
    # Saving the form as shown keeps the stored password.
    r = await browser.post(
        f"/dnc/services/{sid}",
        data={"name": "Registry 2", "url": value.group(1), "timeout_ms": "1500"},
        headers=htmx(browser),
    )
    assert r.headers.get("HX-Redirect") == "/dnc", r.text
    try:
        assert (await real_config(sid)).config.url == SERVICE["url"]
    finally:
        await dnc.close_all()


async def test_provider_messages_and_diagnostics_never_show_them(app_client: ApiClient) -> None:
    """Health details, failure reasons (they reach the schedule, Diagnostics and the
    logs) and the Diagnostics page show the url's password as *** too."""
    with FakeDncServer(blocked={"554181021119"}) as server:
        url = server.url.replace("https://", "https://robot:s3cret-pw@")
        config = DncServiceConfig(
            id=7,
            name="Registry",
            kind="http",
            url=url,
            ca_bundle=server.ca_pem,
            timeout_ms=300,
            options={"retries": 0, "headers": {"X-Api-Key": "k-123456"}},
        )
        assert config.shown_url == url.replace("s3cret-pw", "***")
        provider = HttpDncProvider(config)
        await provider.start()
        try:
            assert (await provider.check("554181021119")).do_not_call is True
            assert "robot:***@" in provider.health().detail
            server.mode = "error"
            with pytest.raises(DncUnavailable) as failed:
                await provider.check("554181021119")
            assert_no_secret(str(failed.value) + provider.health().detail)
        finally:
            await provider.close()
    with pytest.raises(ValueError) as refused:
        HttpDncProvider(DncServiceConfig(id=8, name="X", kind="http", url="ftp://a:s3cret-pw@h/"))
    assert_no_secret(str(refused.value))
    # Diagnostics checks every service, this one unreachable.
    master = await app_client.login_as("master", username="boss-diag")
    unreachable = {**SERVICE, "url": "https://robot:s3cret-pw@127.0.0.1:1/check"}
    assert (await master.post("/api/v1/dnc-services", json=unreachable)).status_code == 201
    browser = await browser_session(app_client, "boss-diag")
    page = await browser.get("/system/health", headers=htmx(browser))
    assert page.status_code == 200 and "Registry" in page.text, page.text
    assert_no_secret(page.text)


async def test_stored_credentials_never_follow_the_url_elsewhere(app_client: ApiClient) -> None:
    """A Campaign Administrator manages services but must not get their secrets by
    pointing the service at a host of their own: ``***`` and blank headers keep stored
    values only at the address they were given for."""
    admin = await app_client.login_as("campaign_admin", [await app_client.group()])
    sid = (await admin.post("/api/v1/dnc-services", json=SERVICE)).json()["id"]
    read = (await admin.get(f"/api/v1/dnc-services/{sid}")).json()
    elsewhere = "https://robot:***@evil.example:8443/check?x=1"
    attempts = [
        {"url": elsewhere},  # the url password would follow
        {"url": "https://robot:***@dnc.example:9999/check"},  # another port
        {"url": "https://other:***@dnc.example:8443/check?x=1"},  # another user
        {"url": "https://evil.example/check"},  # the stored headers would follow
        {"url": "https://evil.example/check", "options": read["options"]},
    ]
    for body in attempts:
        r = await admin.patch(f"/api/v1/dnc-services/{sid}", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["field"] in ("url", "options"), r.text
    try:
        provider = await real_config(sid)
        assert provider.config.url == SERVICE["url"]  # nothing was written
        assert provider.headers == SERVICE["options"]["headers"]  # type: ignore[index]
    finally:
        await dnc.close_all()
    # Moving with the values typed again is fine.
    moved = {
        "url": "https://robot:n3w-pw@new.example/check",
        "options": {"headers": {"X-Api-Key": "k-new"}},
    }
    r = await admin.patch(f"/api/v1/dnc-services/{sid}", json=moved)
    assert r.status_code == 200, r.text
    assert r.json()["secret_headers"] == ["X-Api-Key"]


async def test_a_password_typed_in_the_url_survives_a_refused_save(
    app_client: ApiClient,
) -> None:
    """Add external service with a password in the address and a bad timeout: the
    refused form keeps the address as typed, so Save after fixing the timeout stores
    the password (it used to be blanked, and the service was saved without it)."""
    master = await app_client.user("master")
    browser = await browser_session(app_client, master["username"])
    typed = "https://robot:n3w-typed-pw@dnc.example/c"
    r = await browser.post(
        "/dnc/services",
        data={"name": "Typed", "url": typed, "timeout_ms": "1"},
        headers=htmx(browser),
    )
    assert 'id="err-timeout_ms"' in r.text
    shown = re.search(r'name="url"[^>]*value="([^"]*)"', r.text)
    assert shown and shown.group(1) == typed
    r = await browser.post(
        "/dnc/services",
        data={"name": "Typed", "url": shown.group(1), "timeout_ms": "1500"},
        headers=htmx(browser),
    )
    assert r.headers.get("HX-Redirect") == "/dnc", r.text
    api = await app_client.login_as("master")
    sid = next(s["id"] for s in (await api.get("/api/v1/dnc-services")).json()["items"]
               if s["name"] == "Typed")  # fmt: skip
    try:
        assert (await real_config(sid)).config.url == typed
    finally:
        await dnc.close_all()
