"""The HTML admin without a browser: sessions, CSRF, security headers, rendering, errors.

Runs the app in-process (``app_client``), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import httpx
import pytest
from api_client import PASSWORD, ApiClient

from opendialer.core.services import campaign_states, campaigns, installation, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage.tables import Lead

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"\sstyle=|<style[\s>]", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+=", re.I)


async def browser_session(app: ApiClient, username: str) -> httpx.AsyncClient:
    client: httpx.AsyncClient = app.client()
    r = await client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return client


def htmx(client: httpx.AsyncClient) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": client.cookies["od_csrf"]}


async def test_favicon_is_served_and_linked(app_client: ApiClient) -> None:
    icon = await app_client.get("/favicon.ico")  # browsers ask for it whatever the page says
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO directory
    assert "max-age" in icon.headers["cache-control"]
    login = (await app_client.get("/login")).text
    assert '<link rel="icon" href="/favicon.ico" sizes="any">' in login
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in login
    svg = await app_client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.text.startswith("<svg")


async def test_pages_send_strangers_to_the_login_page(app_client: ApiClient) -> None:
    r = await app_client.get("/users")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fusers"
    r = await app_client.get("/users/new", headers={"HX-Request": "true"})
    assert r.headers["HX-Redirect"] == "/login?next=%2Fusers%2Fnew"
    r = await app_client.get("/")
    assert r.headers["location"] == "/login"
    r = await app_client.get("/login?next=https://evil.example/")
    assert 'name="next" value=""' in r.text  # no open redirect after log-in


async def test_login_makes_a_session_the_api_accepts_too(app_client: ApiClient) -> None:
    group = await app_client.group("Sales")
    await app_client.user("campaign_admin", [group], username="ana")
    client = await browser_session(app_client, "ana")
    session, csrf = client.cookies["od_session"], client.cookies["od_csrf"]
    assert session and csrf
    me = await client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["username"] == "ana"
    r = await client.get("/")
    assert r.headers["location"] == "/campaigns"
    # Log out: the session is revoked, for the API as well.
    r = await client.post("/logout", data={"csrf_token": csrf})
    assert r.headers["location"] == "/login"
    stale = app_client.client()
    stale.cookies.set("od_session", session)
    assert (await stale.get("/api/v1/auth/me")).status_code == 401


async def test_wrong_password_is_said_in_the_chosen_language(app_client: ApiClient) -> None:
    await app_client.user("master", username="boss")
    client = app_client.client()
    r = await client.get("/login?lang=es")
    assert "Iniciar sesión" in r.text and client.cookies["od_lang"] == "es"
    r = await client.post("/login", data={"username": "boss", "password": "nope"})
    assert r.status_code == 401
    assert "Usuario o contraseña incorrectos." in r.text
    # The language chosen before log-in is remembered for the user.
    r = await client.post("/login", data={"username": "boss", "password": PASSWORD})
    assert r.status_code == 303
    assert (await users.authenticate("boss", PASSWORD)).language == "es"
    page = await client.get("/users")
    assert "Usuarios del marcador" in page.text and 'lang="es"' in page.text


async def test_security_headers_and_no_inline_code(app_client: ApiClient) -> None:
    group = await app_client.group("Sales")
    await app_client.user("master", username="boss")
    await app_client.user("campaign_admin", [group], username="ana")
    campaign = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Spring",
            "group_id": group,
            "start_date": "2030-01-01",
            "end_date": "2030-01-05",
            "start_time": "09:00",
            "end_time": "17:00",
            "pilot_number": "4000",
        },
    )
    one = f"/campaigns/{campaign['id']}"
    boss = await browser_session(app_client, "boss")
    ana = await browser_session(app_client, "ana")
    pages = [
        (app_client, "/login"),
        (boss, "/users"),
        (boss, "/users/new"),
        (boss, "/groups"),
        (boss, "/groups/new"),
        (boss, "/dnc"),
        (boss, "/system"),
        (ana, "/campaigns"),
        (ana, "/campaigns/new"),
        (ana, f"{one}/schedules"),
        (ana, f"{one}/summary"),
        (ana, f"{one}/leads"),
        (ana, f"{one}/leads/upload"),
        (ana, f"{one}/calls"),
        (ana, f"{one}/delete"),
        (boss, "/dnc/services/new"),
    ]
    for client, path in pages:
        r = await client.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"]
        assert not INLINE_SCRIPT.search(r.text), path
        assert not INLINE_STYLE.search(r.text), path
        assert not INLINE_HANDLER.search(r.text), path
    for asset in ("/static/htmx.min.js", "/static/app.js", "/static/app.css"):
        r = await app_client.get(asset)
        assert r.status_code == 200 and len(r.content) > 500, asset


async def test_form_posts_need_the_csrf_token(app_client: ApiClient) -> None:
    await app_client.user("master", username="boss")
    boss = await browser_session(app_client, "boss")
    body = {"name": "Collections", "description": "", "enabled": "1"}
    r = await boss.post("/groups", data=body, headers={"HX-Request": "true"})
    assert "CSRF" not in r.text  # the message is translated, not the raw detail
    assert "reload it and try again" in r.text
    assert "HX-Redirect" not in r.headers
    r = await boss.post("/groups", data=body, headers={"HX-Request": "true", "X-CSRF-Token": "x"})
    assert "HX-Redirect" not in r.headers
    # The header (htmx) or a form field (plain forms) with the right token works.
    r = await boss.post("/groups", data=body, headers=htmx(boss))
    assert r.headers["HX-Redirect"] == "/groups"
    r = await boss.post(
        "/groups", data={**body, "name": "Retention", "csrf_token": boss.cookies["od_csrf"]}
    )
    assert r.status_code == 303 and r.headers["location"] == "/groups"
    listing = await boss.get("/groups")
    assert "Collections" in listing.text and "Retention" in listing.text
    # Logging out needs the token too: a foreign page cannot end the session.
    r = await boss.post("/logout", data={})
    assert (await boss.get("/api/v1/auth/me")).status_code == 200


async def test_validation_errors_stand_next_to_their_field(app_client: ApiClient) -> None:
    await app_client.user("master", username="boss")
    boss = await browser_session(app_client, "boss")
    form = {
        "username": "ok-name",
        "password": "short",
        "password_confirm": "short",
        "role": "master",
    }
    r = await boss.post("/users", data=form, headers=htmx(boss))
    assert re.search(
        r'id="err-password"[^>]*>The password must have at least \d+ characters', r.text
    )
    assert 'value="ok-name"' in r.text  # what was typed stays
    await users.set_language(await users.authenticate("boss", PASSWORD), "pt_BR")
    r = await boss.post("/users", data={**form, "username": "x"}, headers=htmx(boss))
    assert 'id="err-username"' in r.text and "de 2 a 64 letras" in r.text
    r = await boss.post("/users", data={**form, "role": "nobody"}, headers=htmx(boss))
    assert 'id="err-role"' in r.text


async def test_users_table_paginates(app_client: ApiClient) -> None:
    await app_client.user("master", username="boss")
    for n in range(11):
        await app_client.user("master", username=f"master-{n:02d}")
    boss = await browser_session(app_client, "boss")
    first = await boss.get("/users")
    assert '<span class="range">1 - 10 / 12</span>' in first.text
    assert first.text.count("<tr data-user=") == 10
    second = await boss.get("/users?page=2&per_page=10")
    assert '<span class="range">11 - 12 / 12</span>' in second.text
    assert second.text.count("<tr data-user=") == 2
    wide = await boss.get("/users?per_page=25")
    assert '<span class="range">1 - 12 / 12</span>' in wide.text


async def test_a_manager_sees_its_groups_only_and_only_toggles_them(
    app_client: ApiClient,
) -> None:
    mine = await app_client.group("Mine")
    await app_client.group("Theirs")
    await app_client.user("manager", [mine], username="mgr")
    mgr = await browser_session(app_client, "mgr")
    picker = await mgr.get("/users/new")
    assert ">Mine<" in picker.text and "Theirs" not in picker.text
    assert 'value="master"' not in picker.text  # roles it may not give are not offered
    edit = await mgr.get(f"/groups/{mine}/edit")
    assert 'name="enabled"' in edit.text and 'name="name"' not in edit.text
    r = await mgr.post(f"/groups/{mine}", data={}, headers=htmx(mgr))
    assert r.headers["HX-Redirect"] == "/groups"
    listing = await mgr.get("/groups")
    assert "row-disabled" in listing.text
    assert (await mgr.get("/system")).status_code == 403


async def test_diagnostics_and_the_logs_zip(
    app_client: ApiClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENDIALER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OPENDIALER_LOG_DIR", raising=False)
    ours = f"opendialer-{await installation.instance_id()}-all-n1.log"
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / ours).write_text("call_finished lead=1\n")
    (tmp_path / "logs" / f"{ours}.1").write_text("older\n")
    (tmp_path / "logs" / "opendialer-0123456789ab-all-n1.log").write_text("another install\n")
    (tmp_path / "opendialer.sqlite").write_text("not a log")
    await app_client.user("master", username="boss")
    boss = await browser_session(app_client, "boss")
    page = await boss.get("/system")
    assert "Database" in page.text and "Plugins loaded" in page.text
    assert '<span class="badge ok">OK</span>' in page.text
    r = await boss.get("/system/logs.zip")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert "attachment" in r.headers["content-disposition"]
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert sorted(names) == [f"logs/{ours}", f"logs/{ours}.1"]  # this installation's only
    group = await app_client.group("Sales")
    await app_client.user("campaign_admin", [group], username="ana")
    ana = await browser_session(app_client, "ana")
    assert (await ana.get("/system/logs.zip")).status_code == 403


async def test_summary_panel_is_polled_only_while_running(app_client: ApiClient) -> None:
    group = await app_client.group("Sales")
    await app_client.user("campaign_admin", [group], username="ana")
    campaign = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Spring",
            "group_id": group,
            "start_date": "2030-01-01",
            "end_date": "2030-01-05",
            "start_time": "09:00",
            "end_time": "17:00",
            "pilot_number": "4000",
        },
    )
    ana = await browser_session(app_client, "ana")
    path = f"/campaigns/{campaign['id']}/summary"
    stopped = await ana.get(path)
    assert "hx-trigger" not in stopped.text and "<svg" in stopped.text
    await Lead(campaign=campaign["id"], name="Ann", phone="+12025550143").save().run()
    await campaign_states.start_campaign(SYSTEM, campaign["id"])
    running = await ana.get(path)
    assert 'hx-trigger="every 5s"' in running.text
    panel = await ana.get(f"{path}/panel")
    assert panel.text.lstrip().startswith('<div id="summary-panel"')
    assert "<html" not in panel.text
    edit = await ana.get(f"/campaigns/{campaign['id']}/edit", headers=htmx(ana))
    assert "stop it before changing its settings" in edit.text
    r = await ana.post(
        f"/campaigns/{campaign['id']}",
        data={"name": "Renamed", "group_id": str(group)},
        headers=htmx(ana),
    )
    assert "HX-Redirect" not in r.headers
    assert "Stop the campaign first" in r.text


async def test_do_not_call_page_loads_lists_and_manages_services(app_client: ApiClient) -> None:
    from opendialer.core.services import dnc_services

    await app_client.user("master", username="boss")
    boss = await browser_session(app_client, "boss")
    page = await boss.get("/dnc")
    rows = re.findall(r'<tr data-service="([^"]+)"', page.text)
    assert rows[0] == "Embedded Service" and "not editable" in page.text
    # A bad line refuses the whole list, naming the line; the current list stays.
    bad = b"5541981021119\n12\n5541981021120\n"
    r = await boss.post(
        "/dnc/upload",
        files={"file": ("dnc.csv", bad)},
        data={"mode": "replace"},
        headers=htmx(boss),
    )
    assert 'id="dnc-upload-error"' in r.text and "nothing was imported" in r.text
    assert re.search(r"<td class=\"num\">2</td><td>12</td>", r.text)
    good = b"5541981021119\n5541981021120\n+5541981021121\n"
    r = await boss.post(
        "/dnc/upload",
        files={"file": ("dnc.csv", good)},
        data={"mode": "replace"},
        headers=htmx(boss),
    )
    assert "the list now holds 3 numbers" in r.text, r.text
    # The embedded service cannot be edited; an external one can be added and edited.
    listing = await dnc_services.list_services(SYSTEM)
    builtin_id = next(s["id"] for s in listing["items"] if s["builtin"])
    embedded = await boss.get(f"/dnc/services/{builtin_id}/edit", headers=htmx(boss))
    assert "not editable" in embedded.text and "<form" not in embedded.text
    form = {"name": "National list", "url": "http://dnc.example/check", "timeout_ms": "1500"}
    r = await boss.post("/dnc/services", data=form, headers=htmx(boss))
    assert 'id="err-url"' in r.text and "https://" in r.text
    r = await boss.post(
        "/dnc/services", data={**form, "url": "https://dnc.example/check"}, headers=htmx(boss)
    )
    assert r.headers["HX-Redirect"] == "/dnc"
    created = next(
        s
        for s in (await dnc_services.list_services(SYSTEM))["items"]
        if s["name"] == "National list"
    )
    assert created["kind"] == "http" and created["timeout_ms"] == 1500
    r = await boss.post(
        f"/dnc/services/{created['id']}",
        data={**form, "url": "https://dnc2.example/check", "timeout_ms": "10"},
        headers=htmx(boss),
    )
    assert 'id="err-timeout_ms"' in r.text
    r = await boss.post(
        f"/dnc/services/{created['id']}",
        data={**form, "url": "https://dnc2.example/check"},
        headers=htmx(boss),
    )
    assert r.headers["HX-Redirect"] == "/dnc"
    assert "https://dnc2.example/check" in (await boss.get("/dnc")).text


async def test_add_a_schedule_day_and_edit_all(app_client: ApiClient) -> None:
    group = await app_client.group("Sales")
    await app_client.user("campaign_admin", [group], username="ana")
    await app_client.user("campaign_supervisor", [group], username="sam")
    campaign = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Spring",
            "group_id": group,
            "start_date": "2030-01-07",
            "end_date": "2030-01-12",
            "start_time": "09:00",
            "end_time": "17:00",
            "weekdays": ["mon", "tue"],
            "pilot_number": "4000",
        },
    )
    base = f"/campaigns/{campaign['id']}/schedules"
    ana = await browser_session(app_client, "ana")
    form = {"date": "2030-01-07", "start_time": "10:00", "end_time": "12:00"}
    r = await ana.post(f"{base}/add", data=form, headers=htmx(ana))
    assert 'id="err-date"' in r.text and "HX-Redirect" not in r.headers
    r = await ana.post(f"{base}/add", data={**form, "date": "2030-01-12"}, headers=htmx(ana))
    assert r.headers["HX-Redirect"] == base
    page = await ana.get(base)
    assert re.findall(r'<tr data-date="([^"]+)"', page.text) == [
        "2030-01-07",
        "2030-01-08",
        "2030-01-12",
    ]
    assert "Schedule added." in page.text
    r = await ana.post(
        f"{base}/edit-all", data={"start_time": "08:00", "end_time": "20:00"}, headers=htmx(ana)
    )
    assert r.headers["HX-Redirect"] == base
    assert (await ana.get(base)).text.count("<td>08:00</td><td>20:00</td>") == 3
    assert (await ana.get(f"{base}/nonsense", headers=htmx(ana))).status_code == 200
    assert "does not exist" in (await ana.get(f"{base}/nonsense")).text
    sam = await browser_session(app_client, "sam")
    assert (await sam.get(f"{base}/add")).status_code == 403
    r = await sam.post(f"{base}/add", data={**form, "date": "2030-01-13"}, headers=htmx(sam))
    assert "HX-Redirect" not in r.headers and "Campaign Administrator" in r.text
