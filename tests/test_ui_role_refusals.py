"""What a role may not do, reached by hand (a typed address, an old bookmark): refused
at once with the sentence of the rule, in the viewer's language — not a form that
refuses only once it has been filled in."""

from __future__ import annotations

import re

import httpx
from api_client import PASSWORD, ApiClient

from opendialer.core.services import users


def shown(page: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


async def manager_in_portuguese(app_client: ApiClient) -> httpx.AsyncClient:
    group = await app_client.group("Cobrança")
    user = await app_client.user("manager", [group], username="gabriela")
    await users.set_language(await users.authenticate(user["username"], PASSWORD), "pt_BR")
    client: httpx.AsyncClient = app_client.client()
    r = await client.post("/login", data={"username": "gabriela", "password": PASSWORD})
    assert r.status_code == 303, r.text
    return client


async def test_a_manager_opening_add_group_is_refused_at_once(app_client: ApiClient) -> None:
    """The guide: only the Master creates groups; a Manager enables or disables its own.
    The Add Group button is hidden from a Manager, but /groups/new opened the empty form."""
    manager = await manager_in_portuguese(app_client)
    r = await manager.get("/groups/new")
    assert r.status_code == 403
    assert "Não permitido" in shown(r.text)
    assert "Somente um Master cria grupos do discador." in shown(r.text)
    assert 'id="f-name"' not in r.text

    htmx = {"HX-Request": "true", "X-CSRF-Token": manager.cookies["od_csrf"]}
    r = await manager.get("/groups/new", headers=htmx)
    assert r.headers["HX-Retarget"] == "#modal-root" and 'id="f-name"' not in r.text
    assert "Somente um Master cria grupos do discador." in shown(r.text)
    r = await manager.post("/groups", data={"name": "Nova"}, headers=htmx)
    assert 'id="f-name"' not in r.text  # the refusal, not the form to fill in again
    assert "Somente um Master cria grupos do discador." in shown(r.text)
    listed = (await manager.get("/groups")).text
    assert "Nova" not in listed and "add-group" not in listed


async def test_the_group_list_of_add_user_is_a_list_with_one_group(app_client: ApiClient) -> None:
    """With one group (a new installation, a Manager of one group) the multiple select
    had size="1", which Chromium draws as a drop-down reading "0 selected" under a hint
    to hold Ctrl to choose several."""
    manager = await manager_in_portuguese(app_client)
    form = (await manager.get("/users/new", headers={"HX-Request": "true"})).text
    picker = re.search(r'<select id="f-group_ids"[^>]*>', form)
    assert picker is not None, form
    assert 'multiple size="2"' in picker.group(0)
