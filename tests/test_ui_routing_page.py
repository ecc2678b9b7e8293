"""System → Contact center and System → IVR over HTTP (no browser), on SQLite and
PostgreSQL.

The pages are forms over ``core/services/routing_config.py``: what they save is what
the engine reads (``load_options``), a refused option is shown at its field in the
viewer's language, secrets never come back (a blank field keeps the stored one, a
box clears it), "not configured yet" is said, and only a Master gets in. The OSCC
page's Test connection runs against the contact-center simulator.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from api_client import PASSWORD, ApiClient

from opendialer.core.services import routing_config
from opendialer.core.services.common import SYSTEM
from opendialer.plugins.route_oscc.simulator.model import ContactCenter
from opendialer.plugins.route_oscc.simulator.server import SimulatorServer

SECRET = "s3cret-oscc-pw"


async def browser(app: ApiClient, role: str, *, language: str = "en") -> httpx.AsyncClient:
    group = await app.group() if role != "master" else None
    user = await app.user(role, [group] if group else [])
    client: httpx.AsyncClient = app.client()
    if language != "en":
        await client.get(f"/login?lang={language}")
    r = await client.post("/login", data={"username": user["username"], "password": PASSWORD})
    assert r.status_code == 303, r.text
    return client


def field_errors(html: str) -> dict[str, str]:
    """``{error element id: text}`` of every message next to a field."""
    return dict(
        re.findall(r'<p class="field-error" id="err-([^"]+)" role="alert">([^<]*)</p>', html)
    )


def oscc_form(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf_token": client.cookies["od_csrf"],
        "base_url": "https://oscc.example:9443/rest",
        "username": "dialer",
        "password": SECRET,
        "queues": "sales, support",
        "poll_interval_ms": "500",
        "stale_after_ms": "",
        "paths.logon": "PUT /session/logon",
        "fields.free_agents": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


async def test_the_ivr_page_says_not_configured_then_saves_what_the_engine_reads(
    app_client: ApiClient,
) -> None:
    client = await browser(app_client, "master")
    r = await client.get("/system/ivr")
    assert r.status_code == 200, r.text
    assert 'id="routing-not-configured"' in r.text
    assert 'id="subtab-ivr" class="active"' in r.text
    assert 'href="/system/contact-center" id="subtab-contact-center"' in r.text
    for inline in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\sstyle=|<style[\s>]", r"\son[a-z]+="):
        assert not re.search(inline, r.text, re.I), inline
    data = {"csrf_token": client.cookies["od_csrf"], "channels": "30", "hold_timeout_ms": ""}
    r = await client.post("/system/ivr", data=data)
    assert r.status_code == 200, r.text
    assert 'id="routing-saved"' in r.text and 'id="routing-not-configured"' not in r.text
    assert "at most 30 calls on the IVR" in r.text
    assert await routing_config.load_options("ivr") == {"channels": 30}
    r = await client.get("/system/ivr")
    assert 'id="f-channels" name="channels" type="text" value="30"' in r.text
    # the diagnostics page links the new sub-tabs too
    assert 'href="/system/ivr" id="subtab-ivr"' in (await client.get("/system")).text


async def test_a_refused_option_is_shown_at_its_field_and_nothing_is_stored(
    app_client: ApiClient,
) -> None:
    client = await browser(app_client, "master")
    csrf = client.cookies["od_csrf"]
    for data, field, message in (
        ({"channels": ""}, "channels", "Enter the number of IVR channels"),
        ({"channels": "thirty"}, "channels", "Enter the number of IVR channels"),
        ({"channels": "4", "hold_timeout_ms": "5s"}, "hold_timeout_ms", "at least 10"),
        ({"channels": "4", "status_url": "ivr.local"}, "status_url", "http:// or https://"),
        ({"channels": "4", "status_authoritative": "1"}, "status_authoritative", "status URL"),
    ):
        r = await client.post("/system/ivr", data={"csrf_token": csrf, **data})
        assert r.status_code == 422, r.text
        errors = field_errors(r.text)
        assert list(errors) == [field], errors
        assert message in errors[field]
        assert await routing_config.load_options("ivr") is None
    # what was typed stays in the form
    assert 'value="4"' in r.text


async def test_the_oscc_password_is_write_only(app_client: ApiClient) -> None:
    client = await browser(app_client, "master")
    r = await client.post("/system/contact-center", data=oscc_form(client))
    assert r.status_code == 200, r.text
    assert SECRET not in r.text and "data-secret-set" in r.text
    stored = await routing_config.load_options("oscc")
    assert stored == {
        "base_url": "https://oscc.example:9443/rest",
        "username": "dialer",
        "password": SECRET,
        "queues": ["sales", "support"],
        "poll_interval_ms": 500,
        "paths": {"logon": "PUT /session/logon"},
    }
    page = await client.get("/system/contact-center")
    assert SECRET not in page.text
    assert 'value="sales, support"' in page.text and 'value="PUT /session/logon"' in page.text
    assert "every 0.5 s" in page.text  # what the engine does
    # a blank password keeps the stored one; a refused save does not lose it either
    r = await client.post("/system/contact-center", data=oscc_form(client, password=""))
    assert r.status_code == 200, r.text
    assert (await routing_config.load_options("oscc") or {})["password"] == SECRET
    bad = oscc_form(client, password="", stale_after_ms="100")
    r = await client.post("/system/contact-center", data=bad)
    assert r.status_code == 422
    assert list(field_errors(r.text)) == ["stale_after_ms"]
    assert "data-secret-set" in r.text and SECRET not in r.text
    assert (await routing_config.load_options("oscc") or {})["password"] == SECRET
    # the box clears it
    r = await client.post(
        "/system/contact-center", data=oscc_form(client, password="", clear_password="1")
    )
    assert r.status_code == 200, r.text
    assert "data-secret-set" not in r.text
    assert (await routing_config.load_options("oscc") or {})["password"] == ""


async def test_errors_and_page_in_portuguese(app_client: ApiClient) -> None:
    client = await browser(app_client, "master", language="pt_BR")
    r = await client.get("/system/contact-center")
    assert "Central de atendimento" in r.text and "Ainda não configurado" in r.text
    r = await client.post("/system/contact-center", data=oscc_form(client, base_url=""))
    errors = field_errors(r.text)
    assert errors == {"base_url": "Informe a URL do SDK, ex.: https://oscc.example:9443/rest."}
    r = await client.post(
        "/system/contact-center", data=oscc_form(client, **{"paths.logon": "LOGIN"})
    )
    assert list(field_errors(r.text)) == ["paths-logon"]
    assert "Informe um método e um caminho" in r.text


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorServer]:
    center = ContactCenter(session_timeout_s=5)
    center.set_queue("sales", agents=3, free=2)
    server = SimulatorServer(center, base_path="/oscc/rest")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_test_connection_against_the_simulator(
    app_client: ApiClient, simulator: SimulatorServer
) -> None:
    client = await browser(app_client, "master")
    fast = {"connect_timeout_ms": "1000", "request_timeout_ms": "1000"}
    r = await client.post(
        "/system/contact-center",
        data={**oscc_form(client, base_url=simulator.url, **fast, **{"paths.logon": ""}),
              "action": "test"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert 'id="routing-test" data-ok="true"' in r.text, r.text
    assert "Connection works: contact center session up" in r.text
    assert await routing_config.load_options("oscc") is None  # a test stores nothing
    await simulator.stop()
    r = await client.post(
        "/system/contact-center",
        data={**oscc_form(client, base_url=simulator.url, **fast, **{"paths.logon": ""}),
              "action": "test"},
    )  # fmt: skip
    assert 'id="routing-test" data-ok="false"' in r.text, r.text
    assert "Connection failed:" in r.text and "cannot connect" in r.text


@pytest.mark.parametrize("role", ["manager", "campaign_admin", "campaign_supervisor"])
async def test_other_roles_are_denied(app_client: ApiClient, role: str) -> None:
    await routing_config.put(SYSTEM, "oscc", {"base_url": "https://x", "password": SECRET})
    client = await browser(app_client, role)
    for r in (
        await client.get("/system/contact-center"),
        await client.get("/system/ivr"),
        await client.post(
            "/system/ivr", data={"csrf_token": client.cookies["od_csrf"], "channels": "3"}
        ),
    ):
        assert r.status_code == 403, (role, r.request.url, r.text[:300])
        assert SECRET not in r.text
    assert await routing_config.load_options("ivr") is None
    r = await app_client.client().get("/system/ivr")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_the_campaign_form_says_which_routing_target_is_missing(
    app_client: ApiClient,
) -> None:
    group = await app_client.group()
    admin = await app_client.user("campaign_admin", [group])
    client = app_client.client()
    await client.get("/login?lang=pt_BR")
    r = await client.post("/login", data={"username": admin["username"], "password": PASSWORD})
    assert r.status_code == 303, r.text
    r = await client.get("/campaigns/new")
    assert r.status_code == 200, r.text
    assert 'id="routing-note-ivr"' in r.text and 'id="routing-note-oscc"' in r.text
    # not a Master: told to ask one, in the viewer's language, no link to a page it cannot open
    assert "campanhas IVR não discam até que um Master a configure em Sistema → URA" in r.text
    assert 'href="/system/ivr"' not in r.text
    await routing_config.put(SYSTEM, "ivr", {"channels": 10})
    await routing_config.put(
        SYSTEM, "oscc", {"base_url": "https://oscc.example/rest", "queues": ["vendas", "cobranca"]}
    )
    r = await client.get("/campaigns/new")
    assert 'id="routing-note-ivr"' not in r.text and 'id="routing-note-oscc"' not in r.text
    # the contact center's watched queues are offered for the queue field
    assert 'list="queue-choices"' in r.text
    assert '<option value="cobranca"></option><option value="vendas"></option>' in r.text


async def test_an_engine_override_is_said_on_the_page(
    app_client: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENDIALER_ROUTING_OPTIONS", '{"ivr": {"channels": 2}}')
    client = await browser(app_client, "master")
    r = await client.get("/system/ivr")
    assert 'id="routing-overridden"' in r.text and "OPENDIALER_ROUTING_OPTIONS" in r.text
    r = await client.get("/system/contact-center")  # the override names only the IVR
    assert 'id="routing-overridden"' not in r.text


async def test_every_mistake_is_marked_at_once(app_client: ApiClient) -> None:
    client = await browser(app_client, "master")
    data = {
        "csrf_token": client.cookies["od_csrf"],
        "channels": "many",
        "hold_timeout_ms": "1",
        "status_url": "ivr.local/free",
    }
    r = await client.post("/system/ivr", data=data)
    assert r.status_code == 422
    errors = field_errors(r.text)
    assert set(errors) == {"channels", "hold_timeout_ms", "status_url"}, errors
    assert "3 fields need attention." in r.text
    assert await routing_config.load_options("ivr") is None


async def test_remove_needs_the_confirmation_step(app_client: ApiClient) -> None:
    """Enter in a field submits the form with its first submit button: that is Save,
    and Remove is no submit button. A delete the confirmation did not send
    (``confirm=1``) removes nothing, whatever the client did."""
    await routing_config.put(SYSTEM, "ivr", {"channels": 30})
    client = await browser(app_client, "master")
    page = (await client.get("/system/ivr")).text
    form = page[page.index('<form method="post" action="/system/ivr"') :]
    form = form[: form.index("</form>")]
    submits = re.findall(r'<button type="submit"[^>]*>', form)
    assert submits and 'id="save-routing"' in submits[0], submits
    remove = re.search(r'<button [^>]*id="delete-routing"[^>]*>', form)
    assert remove and 'type="button"' in remove.group(0) and "hx-confirm=" in remove.group(0)
    assert "&#34;confirm&#34;: &#34;1&#34;" in remove.group(0) or '"confirm": "1"' in (
        remove.group(0)
    )
    csrf = client.cookies["od_csrf"]
    r = await client.post("/system/ivr", data={"csrf_token": csrf, "channels": "40",
                                               "action": "delete"})  # fmt: skip
    assert r.status_code == 422, r.text
    assert "Nothing was removed: the removal was not confirmed." in r.text
    assert 'id="routing-removed"' not in r.text
    assert await routing_config.load_options("ivr") == {"channels": 30}
    r = await client.post("/system/ivr", data={"csrf_token": csrf, "channels": "40",
                                               "action": "delete", "confirm": "1"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert 'id="routing-removed"' in r.text
    assert await routing_config.load_options("ivr") is None


async def test_unconfirmed_remove_is_said_in_portuguese(app_client: ApiClient) -> None:
    await routing_config.put(SYSTEM, "ivr", {"channels": 30})
    client = await browser(app_client, "master", language="pt_BR")
    data = {"csrf_token": client.cookies["od_csrf"], "action": "delete"}
    r = await client.post("/system/ivr", data=data)
    assert "Nada foi removido: a remoção não foi confirmada." in r.text
    assert await routing_config.load_options("ivr") == {"channels": 30}


async def test_a_typed_password_survives_a_test_and_a_refusal(app_client: ApiClient) -> None:
    """The password typed in this request is the user's own input: after Test
    connection or a refused save it is still in its field, so the next Save stores
    it. A stored password never comes back."""
    client = await browser(app_client, "master")
    fast = {"connect_timeout_ms": "200", "request_timeout_ms": "300"}
    form = oscc_form(client, base_url="http://127.0.0.1:9/rest", **fast)
    r = await client.post("/system/contact-center", data={**form, "action": "test"})
    assert r.status_code == 200, r.text
    assert 'id="routing-test" data-ok="false"' in r.text
    assert f'name="password" id="f-password" value="{SECRET}"' in r.text
    assert await routing_config.load_options("oscc") is None
    r = await client.post("/system/contact-center", data={**form, "stale_after_ms": "100"})
    assert r.status_code == 422
    assert f'name="password" id="f-password" value="{SECRET}"' in r.text
    # what the browser posts next: the form as re-rendered, password included
    typed = re.search(r'name="password" id="f-password" value="([^"]*)"', r.text)
    assert typed
    r = await client.post("/system/contact-center", data={**form, "password": typed.group(1)})
    assert r.status_code == 200, r.text
    assert (await routing_config.load_options("oscc") or {})["password"] == SECRET
    # once stored, it is not shown again
    assert SECRET not in r.text
    assert SECRET not in (await client.get("/system/contact-center")).text


@pytest.mark.parametrize(
    "language, words",
    [("en", "Enter at most 5000 IVR channels."),
     ("pt_BR", "Informe no máximo 5000 canais da URA."),
     ("es", "Introduzca como máximo 5000 canales del IVR.")],
)  # fmt: skip
async def test_absurd_channels_are_refused_at_the_field(
    app_client: ApiClient, language: str, words: str
) -> None:
    client = await browser(app_client, "master", language=language)
    csrf = client.cookies["od_csrf"]
    r = await client.post(
        "/system/ivr", data={"csrf_token": csrf, "channels": "99999999999999999999"}
    )
    assert r.status_code == 422, r.text
    assert field_errors(r.text) == {"channels": words}
    assert await routing_config.load_options("ivr") is None
    r = await client.post(
        "/system/ivr", data={"csrf_token": csrf, "channels": "30", "hold_timeout_ms": "9" * 20}
    )
    assert r.status_code == 422, r.text
    assert list(field_errors(r.text)) == ["hold_timeout_ms"]
    assert "86400000" in field_errors(r.text)["hold_timeout_ms"]
    assert await routing_config.load_options("ivr") is None
