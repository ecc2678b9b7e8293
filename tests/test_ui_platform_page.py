"""System → Communication platform over HTTP (no browser), on SQLite and PostgreSQL.

The page is a form over ``core/services/platform_config.py``: what it saves is
what the running SIP platform reads, every invalid field gets its own message,
passwords never come back, and only a Master gets in.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from api_client import PASSWORD, ApiClient
from sip_helpers import eventually, running_platform
from sip_scripted_far_end import Behaviour, ScriptedUas

from opendialer.core.services import platform_config
from opendialer.core.services.common import SYSTEM

SECRET = "s3cret-port-pass"
OTHER_SECRET = "an0ther-port-pass"


async def browser(app: ApiClient, role: str, *, language: str = "en") -> httpx.AsyncClient:
    group = await app.group() if role != "master" else None
    user = await app.user(role, [group] if group else [])
    client: httpx.AsyncClient = app.client()
    if language != "en":
        await client.get(f"/login?lang={language}")
    r = await client.post("/login", data={"username": user["username"], "password": PASSWORD})
    assert r.status_code == 303, r.text
    return client


def htmx(client: httpx.AsyncClient) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": client.cookies["od_csrf"]}


def form(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    """A valid form post: two registering ports, the first with a new password."""
    data: dict[str, Any] = {
        "csrf_token": client.cookies["od_csrf"],
        "server": "10.0.0.5:5060",
        "transport": "tcp",
        "domain": "pbx.example.com",
        "register": "1",
        "caller_id": "+4930123456",
        "no_answer_timeout_s": "25",
        "rtp_port_min": "30000",
        "rtp_port_max": "30999",
        "port_user": ["3001", "3002"],
        "port_auth_user": ["", "auth3002"],
        "port_password": [SECRET, OTHER_SECRET],
        "port_has_password": ["0", "0"],
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def field_errors(html: str) -> dict[str, str]:
    """``{error element id: text}`` of every message next to a field."""
    return dict(
        re.findall(r'<p class="field-error" id="err-([^"]+)" role="alert">([^<]*)</p>', html)
    )


async def test_master_sees_the_stored_configuration_without_passwords(
    app_client: ApiClient,
) -> None:
    await platform_config.update_platform_config(
        SYSTEM,
        {
            "server": "10.0.0.5:5061",
            "transport": "tls",
            "ports": [{"user": "3001", "password": SECRET}, {"user": "3002", "password": "x" * 12}],
        },
    )
    client = await browser(app_client, "master")
    r = await client.get("/system/platform")
    assert r.status_code == 200, r.text
    html = r.text
    assert 'value="10.0.0.5:5061"' in html
    assert '<option value="tls" selected>' in html
    assert 'id="f-port-0-user" value="3001"' in html and 'id="f-port-1-user" value="3002"' in html
    assert html.count("data-password-set") == 2  # shown as "set"
    assert SECRET not in html and "x" * 12 not in html
    # the menu entry under System, on this page and on Diagnostics
    assert 'id="subtab-platform" class="active"' in html
    diagnostics = await client.get("/system")
    assert 'href="/system/platform" id="subtab-platform"' in diagnostics.text
    # the CSP allows no inline script, style or handler
    assert "script-src 'self'" in r.headers["content-security-policy"]
    for inline in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\sstyle=|<style[\s>]", r"\son[a-z]+="):
        assert not re.search(inline, html, re.I), inline


async def test_saving_stores_what_the_platform_reads(app_client: ApiClient) -> None:
    client = await browser(app_client, "master")
    r = await client.post("/system/platform", data=form(client))
    assert r.status_code == 200, r.text
    assert 'id="platform-saved"' in r.text
    assert SECRET not in r.text and OTHER_SECRET not in r.text
    stored = await platform_config.load_platform_config()
    assert stored is not None
    assert {k: stored[k] for k in ("server", "transport", "domain", "register")} == {
        "server": "10.0.0.5:5060",
        "transport": "tcp",
        "domain": "pbx.example.com",
        "register": True,
    }
    assert stored["ports"] == [
        {"user": "3001", "auth_user": "3001", "password": SECRET},
        {"user": "3002", "auth_user": "auth3002", "password": OTHER_SECRET},
    ]
    assert (stored["caller_id"], stored["no_answer_timeout_s"]) == ("+4930123456", 25)
    assert (stored["rtp_port_min"], stored["rtp_port_max"]) == (30000, 30999)
    # a blank password keeps the stored one; a trunk needs none for a new port
    again = form(client, port_password=["", ""], port_has_password=["1", "1"])
    r = await client.post("/system/platform", data=again)
    assert r.status_code == 200, r.text
    stored = await platform_config.load_platform_config()
    assert stored is not None
    assert [p["password"] for p in stored["ports"]] == [SECRET, OTHER_SECRET]
    assert stored["revision"] == 2
    trunk = form(
        client,
        register=None,
        port_user=["3001", "3002", "trunk9"],
        port_auth_user=["", "", ""],
        port_password=["", "", ""],
    )
    r = await client.post("/system/platform", data=trunk)
    assert r.status_code == 200, r.text
    stored = await platform_config.load_platform_config()
    assert stored is not None and stored["register"] is False
    assert [p["user"] for p in stored["ports"]] == ["3001", "3002", "trunk9"]


INVALID = [
    ({"server": ""}, "server", "Enter the SIP server as host:port"),
    ({"server": "pbx.example.com"}, "server", "with a port from 1 to 65535"),
    ({"transport": "sctp"}, "transport", "Choose UDP, TCP or TLS."),
    ({"domain": "bad domain!"}, "domain", "Enter a host name or an IP address."),
    ({"caller_id": "12ab"}, "caller_id", "Digits only"),
    ({"no_answer_timeout_s": "0"}, "no_answer_timeout_s", "from 1 to 600"),
    ({"no_answer_timeout_s": "soon"}, "no_answer_timeout_s", "from 1 to 600"),
    ({"rtp_port_min": "80"}, "rtp_port_min", "from 1024 to 65534"),
    ({"rtp_port_max": "29000"}, "rtp_port_max", "Must be above the lowest RTP port."),
    ({"rtp_port_max": "30002"}, "rtp_port_max", "holds 2 RTP ports but there are 3"),
    ({"port_user": ["30 01", "3002"]}, "ports-0-user", "A SIP user name"),
    ({"port_user": ["3001", "3001"]}, "ports-1-user", "3001 is listed twice."),
    ({"port_auth_user": ["", "a" * 129]}, "ports-1-auth_user", "(at most 128)."),
    # what a SIP header or a digest username="…" cannot carry (issue 15)
    ({"port_auth_user": ["", 'x", realm="evil']}, "ports-1-auth_user", "A SIP user name"),
    ({"port_auth_user": ["dialer@evil.example", ""]}, "ports-0-auth_user", "A SIP user name"),
    ({"port_auth_user": ["", "a\r\nX-Evil: 1"]}, "ports-1-auth_user", "A SIP user name"),
    ({"port_user": ["3001;lr", "3002"]}, "ports-0-user", "A SIP user name"),
    ({"port_password": [SECRET, ""]}, "ports-1-password", "A password is required"),
]


@pytest.mark.parametrize(("changes", "field", "message"), INVALID)
async def test_an_invalid_field_is_refused_next_to_it(
    app_client: ApiClient, changes: dict[str, Any], field: str, message: str
) -> None:
    client = await browser(app_client, "master")
    data = form(client, **changes)
    if field == "rtp_port_max" and "30002" in str(changes):
        data["port_user"] = ["3001", "3002", "3003"]
        data["port_auth_user"] = ["", "", ""]
        data["port_password"] = [SECRET, SECRET, SECRET]
    r = await client.post("/system/platform", data=data)
    assert r.status_code == 422, r.text
    errors = field_errors(r.text)
    assert list(errors) == [field], errors
    assert message in errors[field]
    # a password typed in this post stays in its field (the user's own input)
    assert f'id="f-port-0-password" value="{SECRET}"' in r.text
    assert await platform_config.load_platform_config() is None  # nothing saved


async def test_all_errors_are_shown_at_once(app_client: ApiClient) -> None:
    client = await browser(app_client, "master")
    data = form(
        client,
        server="nope",
        transport="sctp",
        caller_id="x",
        no_answer_timeout_s="0",
        rtp_port_min="80",
        port_user=["3001", "bad user"],
        port_password=["", OTHER_SECRET],
    )
    r = await client.post("/system/platform", data=data, headers=htmx(client))
    assert r.status_code == 200  # htmx swaps the form with its errors
    assert set(field_errors(r.text)) == {
        "server",
        "transport",
        "caller_id",
        "no_answer_timeout_s",
        "rtp_port_min",
        "ports-0-password",
        "ports-1-user",
    }
    assert "7 fields need attention." in r.text
    # what was typed is kept for correction, the password typed in this post too
    assert f'id="f-port-1-password" value="{OTHER_SECRET}"' in r.text
    assert 'value="bad user"' in r.text
    assert r.text.lstrip().startswith("<form")  # the fragment, not a whole page
    # the API says the same, first error plus the full list
    api = await app_client.login((await app_client.user("master"))["username"])
    bad = {"server": "nope", "transport": "sctp", "ports": []}
    r = await api.put("/api/v1/platform", json=bad)
    assert r.status_code == 422
    assert r.json()["field"] == "server"
    assert [e["field"] for e in r.json()["errors"]] == ["server", "transport"]


async def test_errors_are_in_the_viewers_language(app_client: ApiClient) -> None:
    client = await browser(app_client, "master", language="pt_BR")
    r = await client.post("/system/platform", data=form(client, transport="sctp", caller_id="x"))
    errors = field_errors(r.text)
    assert errors["transport"] == "Escolha UDP, TCP ou TLS."
    assert errors["caller_id"] == "Apenas dígitos, com um + opcional no início."
    assert "Plataforma de comunicação" in r.text


async def test_rows_are_added_and_removed_without_saving(app_client: ApiClient) -> None:
    client = await browser(app_client, "master")
    added = await client.post(
        "/system/platform", data={**form(client), "action": "add_port"}, headers=htmx(client)
    )
    assert added.status_code == 200
    assert 'id="f-port-2-user" value=""' in added.text
    # the passwords typed but not saved yet stay in their rows
    assert f'id="f-port-0-password" value="{SECRET}"' in added.text
    assert f'id="f-port-1-password" value="{OTHER_SECRET}"' in added.text
    assert 'id="f-port-2-password" value=""' in added.text
    removed = await client.post(
        "/system/platform", data={**form(client), "action": "remove_port:0"}, headers=htmx(client)
    )
    assert 'id="f-port-0-user" value="3002"' in removed.text
    assert f'id="f-port-0-password" value="{OTHER_SECRET}"' in removed.text
    assert 'id="f-port-1-user"' not in removed.text
    assert await platform_config.load_platform_config() is None


async def test_a_typed_port_password_survives_a_refused_save(app_client: ApiClient) -> None:
    """Type the passwords, make a mistake elsewhere, fix it, Save: the passwords
    are stored (the refused form kept them); a stored one is never shown."""
    client = await browser(app_client, "master")
    r = await client.post("/system/platform", data=form(client, server="nope"))
    assert r.status_code == 422
    typed = re.findall(r'name="port_password" id="f-port-\d-password" value="([^"]*)"', r.text)
    assert typed == [SECRET, OTHER_SECRET]
    r = await client.post("/system/platform", data=form(client, port_password=typed))
    assert r.status_code == 200, r.text
    stored = await platform_config.load_platform_config() or {}
    assert [p["password"] for p in stored["ports"]] == [SECRET, OTHER_SECRET]
    assert SECRET not in r.text and OTHER_SECRET not in r.text
    assert SECRET not in (await client.get("/system/platform")).text


@pytest.mark.parametrize("role", ["manager", "campaign_admin", "campaign_supervisor"])
async def test_other_roles_are_denied(app_client: ApiClient, role: str) -> None:
    client = await browser(app_client, role)
    for r in (
        await client.get("/system/platform"),
        await client.get("/system/platform/registrations"),
        await client.post("/system/platform", data=form(client)),
    ):
        assert r.status_code == 403, (role, r.request.url, r.text[:300])
    assert await platform_config.load_platform_config() is None
    stranger = app_client.client()
    r = await stranger.get("/system/platform")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_post_without_csrf_token_is_refused(app_client: ApiClient) -> None:
    client = await browser(app_client, "master")
    r = await client.post("/system/platform", data=form(client, csrf_token=None))
    assert r.status_code == 403
    assert await platform_config.load_platform_config() is None


async def test_a_save_reaches_a_running_platform_and_its_registrations_show(
    app_client: ApiClient,
) -> None:
    """Saved on the page, applied by the running platform without a restart, and each
    port's registration state shown on the page."""
    uas = await ScriptedUas(Behaviour()).start()
    client = await browser(app_client, "master")
    try:
        first = form(
            client,
            server=uas.address,
            transport="udp",
            domain="dialer.test",
            port_user=["3001"],
            port_auth_user=[""],
            port_password=[SECRET],
            port_has_password=["0"],
        )
        assert (await client.post("/system/platform", data=first)).status_code == 200
        stored = await platform_config.load_platform_config()
        options = {"config_source": platform_config.config_source(), "config_poll_s": 0.05}
        async with running_platform(stored or {}, **options) as platform:
            platform_config.attach(platform)
            try:
                await eventually(lambda: platform.free_ports() == 1)
                second = {
                    **first,
                    "port_user": ["3001", "3002"],
                    "port_auth_user": ["", ""],
                    "port_password": ["", OTHER_SECRET],
                    "port_has_password": ["1", "0"],
                }
                r = await client.post("/system/platform", data=second)
                assert r.status_code == 200, r.text
                await eventually(lambda: platform.free_ports() == 2)
                registers = [
                    m
                    for m in uas.requests("REGISTER")
                    if "3002" in str(m.uri) or "3002" in (m.headers.get_first("to") or "")
                ]
                assert registers
                panel = await client.get("/system/platform/registrations")
                assert panel.status_code == 200
                states = dict(re.findall(r'data-port="([^"]+)" data-state="([^"]+)"', panel.text))
                assert states == {"3001": "registered", "3002": "registered"}
                assert "registered</span>" in panel.text
                page = await client.get("/system/platform")
                assert 'id="registrations-table"' in page.text
            finally:
                platform_config.attach(None)
        r = await client.get("/system/platform/registrations")
        assert 'id="registrations-unknown"' in r.text
    finally:
        uas.close()
        await asyncio.sleep(0)
