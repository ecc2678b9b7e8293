"""System → Diagnostics shows the doctor's checks (``core/health``) over HTTP: SIP
registration per port, DNC services, the contact center, certificates — healthy and
broken — refreshed by htmx, translated, for Masters only. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from api_client import PASSWORD, ApiClient
from doctor_support import PASSWORD as REGISTRAR_PASSWORD
from doctor_support import Installation, certificate, installation

pytestmark = pytest.mark.timeout(120)

ROW = re.compile(
    r'<tr class="health-(\w+)">\s*<td>(.*?)</td>\s*<td[^>]*>.*?</td>\s*<td class="muted"[^>]*>(.*?)</td>',
    re.S,
)


def rows(page: str) -> dict[str, tuple[str, str]]:
    """{"Title — subject": (status, message)} of the health panel."""
    return {
        html.unescape(name): (status, html.unescape(message))
        for status, name, message in ROW.findall(page)
    }


async def master(app: ApiClient, username: str = "boss", lang: str = "en") -> httpx.AsyncClient:
    await app.user("master", username=username)
    client: httpx.AsyncClient = app.client()
    await client.get(f"/login?lang={lang}")
    r = await client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return client


@pytest.fixture
async def healthy(
    app_client: ApiClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Installation]:
    async with installation(tmp_path) as setup:
        monkeypatch.setenv("OPENDIALER_TLS_CERTFILE", setup.certfile)
        yield setup


async def test_healthy_installation_shows_every_check_ok(
    app_client: ApiClient, healthy: Installation
) -> None:
    boss = await master(app_client)
    page = await boss.get("/system")
    assert page.status_code == 200
    found = rows(page.text)
    expected = {
        "Database",
        "Migrations",
        "Plugins loaded",
        "SIP registrations — port port001",
        "SIP registrations — port port002",
        "Do-Not-Call services — Embedded Service",
        "Do-Not-Call services — Registry",
        "Contact center — oscc",
        "TLS certificates — web server",
        "TLS certificates — DNC Registry ca_bundle",  # the CA the DNC service trusts
        "Clock sync — this node",
        "Clock sync — database server",
    }
    assert set(found) == expected
    problems = {k: v for k, v in found.items() if v[0] != "ok" and k != "Clock sync — this node"}
    assert problems == {}
    assert found["SIP registrations — port port001"][1].startswith("registered")
    # the panel refreshes itself, and on demand
    assert 'hx-get="/system/health" hx-trigger="every 30s"' in page.text
    assert 'id="check-again" hx-get="/system/health"' in page.text


async def test_broken_installation_shows_each_fault(
    app_client: ApiClient, healthy: Installation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    healthy.registrar.silent = True
    healthy.dnc_server.stop()
    await healthy.contact_center.stop()
    monkeypatch.setenv("OPENDIALER_TLS_CERTFILE", certificate(tmp_path, "old", days_left=-1))
    boss = await master(app_client)
    panel = await boss.get("/system/health", headers={"HX-Request": "true"})
    assert panel.status_code == 200
    assert panel.text.lstrip().startswith('<div id="health-panel"')  # the fragment alone
    found = rows(panel.text)
    for port in ("port001", "port002"):
        status, message = found[f"SIP registrations — port {port}"]
        assert status == "fail" and "did not answer REGISTER" in message
    status, message = found["Do-Not-Call services — Registry"]
    assert status == "fail" and "Do-Not-Call → Services" in message
    status, message = found["Contact center — oscc"]
    assert status == "fail" and "check the contact center's URL" in message
    status, message = found["TLS certificates — web server"]
    assert status == "fail" and "expired on" in message
    assert found["Database"][0] == "ok"
    assert '<span class="badge bad">Problem</span>' in panel.text


async def test_panel_is_translated_and_for_masters_only(
    app_client: ApiClient, healthy: Installation
) -> None:
    healthy.registrar.registered.discard("port002")
    boss = await master(app_client, lang="pt_BR")
    page = await boss.get("/system/health")
    found = rows(page.text)
    status, message = found["Registros SIP — porta port002"]
    assert status == "warn" and "no binding" in message  # details stay in English
    assert found["Registros SIP — porta port001"][0] == "ok"
    assert "Atenção" in page.text and "Verificado às" in page.text
    # the details' column says they are English (as the call log's technical detail)
    assert "<th>Detalhe técnico, em inglês</th>" in page.text
    group = await app_client.group("Sales")
    await app_client.user("campaign_admin", [group], username="ana")
    ana: httpx.AsyncClient = app_client.client()
    await ana.post("/login", data={"username": "ana", "password": PASSWORD})
    assert (await ana.get("/system/health")).status_code == 403
    stranger: httpx.AsyncClient = app_client.client()
    assert (await stranger.get("/system/health")).status_code == 303


async def test_a_node_running_the_engine_shows_its_live_registrations(
    app_client: ApiClient, healthy: Installation
) -> None:
    """``serve --role all``: the engine's platform is attached in this process, so the
    page shows its own registration state instead of probing the server."""
    from sip_helpers import eventually, running_platform, sip_config

    from opendialer.core.services import platform_config

    config = sip_config(healthy.registrar.address, ports=2, register=True)
    for port in config["ports"]:
        port["password"] = REGISTRAR_PASSWORD
    async with running_platform(config) as platform:
        await eventually(lambda: all(r["state"] == "registered" for r in platform.registrations()))
        platform_config.attach(platform)
        try:
            boss = await master(app_client)
            found = rows((await boss.get("/system/health")).text)
        finally:
            platform_config.attach(None)
    status, message = found["SIP registrations — port port001"]
    assert status == "ok" and message.startswith("registered by this node's engine")
    assert "expires in 240 s" in message  # what the registrar granted
    # what the engine sent carried a Contact (a real registration); the page sent nothing
    registers = [r for r in healthy.registrar.requests if r.method == "REGISTER"]
    assert registers and all(r.headers.get_first("contact") for r in registers)


async def test_a_node_running_the_engine_shows_its_own_contact_center_session(
    app_client: ApiClient, healthy: Installation
) -> None:
    """The engine's started routing target is read as it is: no second session."""
    from doctor_support import OSCC_FAST

    from opendialer.core import health
    from opendialer.core.plugins import get_plugin_manager

    factory = get_plugin_manager().factories("routing_targets")["oscc"]
    target = factory(options={"base_url": healthy.contact_center.url, **OSCC_FAST}, context=None)
    await target.start()
    health.attach_routing_targets(lambda: {"oscc": target})
    try:
        boss = await master(app_client)
        for _ in range(200):  # until the engine's session is up
            if target.health().ok:
                break
            await asyncio.sleep(0.05)
        registered = healthy.contact_center.center.counters.get("register", 0)
        status, message = rows((await boss.get("/system/health")).text)["Contact center — oscc"]
        assert status == "ok" and message.endswith("(this node's engine)")
        assert healthy.contact_center.center.counters.get("register", 0) == registered
        await healthy.contact_center.stop()
        for _ in range(200):  # until the engine's session notices
            if not target.health().ok:
                break
            await asyncio.sleep(0.05)
        status, message = rows((await boss.get("/system/health")).text)["Contact center — oscc"]
        assert (
            status == "fail" and "(this node's engine): check the contact center's URL" in message
        )
    finally:
        health.attach_routing_targets(None)
        await target.close()


@pytest.mark.parametrize("lang, title", [("en", "IVR"), ("pt_BR", "URA"), ("es", "IVR")])
async def test_the_ivr_check_is_titled_ivr(app_client: ApiClient, lang: str, title: str) -> None:
    """The IVR is its own System page, not a contact center: its check reads "IVR"
    (in the viewer's language), not "Contact center — ivr"."""
    from opendialer.core.services import routing_config
    from opendialer.core.services.common import SYSTEM

    await routing_config.put(SYSTEM, "ivr", {"channels": 30})
    boss = await master(app_client, lang=lang)
    found = rows((await boss.get("/system/health")).text)
    assert title in found, found
    assert found[title][0] == "ok" and "30 IVR channels free" in found[title][1]
    assert not [name for name in found if name.endswith("ivr")], found
