"""A browser sent to an address no page has (a mistyped or stale link, a campaign's
address without its tab, a form's URL opened by hand) gets the admin's error page in
the viewer's language — not the JSON API's English ``{"error": "not_found"}``."""

from __future__ import annotations

import re

import httpx
from api_client import PASSWORD, ApiClient

from opendialer.core.services import users

PAGE = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def shown(page: str) -> str:
    """The page's text, tags and spaces folded."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


async def session_in(app_client: ApiClient, role: str, language: str) -> httpx.AsyncClient:
    group = await app_client.group()
    user = await app_client.user(role, [group])
    await users.set_language(await users.authenticate(user["username"], PASSWORD), language)
    client: httpx.AsyncClient = app_client.client()
    r = await client.post("/login", data={"username": user["username"], "password": PASSWORD})
    assert r.status_code == 303, r.text
    return client


async def test_an_unknown_address_is_a_page_in_the_users_language(app_client: ApiClient) -> None:
    client = await session_in(app_client, "manager", "pt_BR")
    r = await client.get("/campanhas", headers=PAGE)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "Não encontrado" in shown(r.text) and "Esta página não existe." in shown(r.text)
    assert '"error"' not in r.text


async def test_a_method_the_page_does_not_take_is_a_page_too(app_client: ApiClient) -> None:
    """``/campaigns/1`` only takes the edit form's POST: opened as a link it was a 405
    in JSON."""
    client = await session_in(app_client, "campaign_supervisor", "es")
    r = await client.get("/campaigns/1", headers=PAGE)
    assert r.status_code == 405
    assert "Esta página no acepta esta solicitud." in shown(r.text)


async def test_an_htmx_request_gets_the_message_in_the_modal(app_client: ApiClient) -> None:
    client = await session_in(app_client, "campaign_admin", "es")
    r = await client.get("/campaigns/1/nada", headers={"HX-Request": "true"})
    assert r.status_code == 200  # htmx swaps no 4xx body
    assert r.headers["HX-Retarget"] == "#modal-root"
    assert "Esta página no existe." in shown(r.text)


async def test_before_login_the_browsers_language_is_used(app_client: ApiClient) -> None:
    r = await app_client.get("/nada", headers={**PAGE, "Accept-Language": "es-ES,es;q=0.9"})
    assert r.status_code == 404
    assert "Esta página no existe." in shown(r.text)


async def test_machines_still_get_json(app_client: ApiClient) -> None:
    for path in ("/api/v1/nothing", "/donotcall/nothing", "/nothing"):
        headers = PAGE if path.startswith(("/api/", "/donotcall")) else {}
        r = await app_client.get(path, headers=headers)
        assert r.status_code == 404, path
        assert r.json()["error"] == "not_found", path
