"""The Do-Not-Call page: the upload's result counts in each language's plural; an
external service is deleted after a confirmation, refused while campaigns use it.
Runs the app in-process (``app_client``), on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import httpx
import pytest
from api_client import PASSWORD, ApiClient

from opendialer.core.services import campaigns, dnc_services, users
from opendialer.core.services.common import SYSTEM


async def session(app: ApiClient, username: str) -> httpx.AsyncClient:
    client: httpx.AsyncClient = app.client()
    r = await client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return client


def htmx(client: httpx.AsyncClient) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": client.cookies["od_csrf"]}


def flash(page: str) -> str:
    found = re.search(r'<div class="flash" role="status" id="dnc-upload-ok">(.*?)</div>', page)
    assert found is not None, page
    return found.group(1)


@pytest.mark.parametrize(
    ("language", "one_of_three", "two_of_two"),
    [
        (
            "en",
            "1 number added; the list now holds 3 numbers.",
            "2 numbers added; the list now holds 2 numbers.",
        ),
        (
            "pt_BR",
            "1 número adicionado; a lista agora tem 3 números.",
            "2 números adicionados; a lista agora tem 2 números.",
        ),
        (
            "es",
            "1 número añadido; la lista tiene ahora 3 números.",
            "2 números añadidos; la lista tiene ahora 2 números.",
        ),
    ],
)
async def test_upload_result_counts_in_the_plural_of_the_language(
    app_client: ApiClient, language: str, one_of_three: str, two_of_two: str
) -> None:
    await app_client.user("master", username="boss")
    await users.set_language(await users.authenticate("boss", PASSWORD), language)
    boss = await session(app_client, "boss")

    async def upload(body: bytes, mode: str) -> str:
        r = await boss.post(
            "/dnc/upload",
            files={"file": ("dnc.csv", body)},
            data={"mode": mode},
            headers=htmx(boss),
        )
        assert r.status_code == 200, r.text
        return flash(r.text)

    assert await upload(b"5541981021119\n5541981021120\n", "replace") == two_of_two
    assert await upload(b"5541981021121\n", "append") == one_of_three


async def test_external_service_is_deleted_after_a_confirmation(app_client: ApiClient) -> None:
    group = await app_client.group()
    await app_client.user("campaign_admin", [group], username="ana")
    used = await dnc_services.create_service(
        SYSTEM, {"name": "National", "kind": "http", "url": "https://dnc.example/a"}
    )
    spare = await dnc_services.create_service(
        SYSTEM, {"name": "Spare", "kind": "http", "url": "https://dnc.example/b"}
    )
    for name in ("Spring", "Summer"):
        await campaigns.create_campaign(
            SYSTEM,
            {
                "name": name,
                "group_id": group,
                "start_date": "2030-01-01",
                "end_date": "2030-01-05",
                "start_time": "09:00",
                "end_time": "17:00",
                "pilot_number": "4000",
                "dnc_service_id": used["id"],
            },
        )
    ana = await session(app_client, "ana")
    page = (await ana.get("/dnc")).text
    deletes = re.findall(r'hx-get="/dnc/services/(\d+)/delete"', page)
    assert sorted(map(int, deletes)) == sorted([used["id"], spare["id"]])  # not the Embedded
    # Used by campaigns: the dialog names them and offers no Delete.
    r = await ana.get(f"/dnc/services/{used['id']}/delete", headers=htmx(ana))
    assert "The Do-Not-Call service National is used by 2 campaigns" in r.text, r.text
    assert "<li>Spring</li>" in r.text and "<li>Summer</li>" in r.text
    assert 'id="confirm-delete"' not in r.text
    r = await ana.post(f"/dnc/services/{used['id']}/delete", headers=htmx(ana))
    assert "HX-Redirect" not in r.headers and "used by 2 campaign(s)" in r.text
    assert (await dnc_services.get_service(SYSTEM, used["id"]))["name"] == "National"
    # The Embedded Service: why not, no form.
    listing = await dnc_services.list_services(SYSTEM)
    builtin = next(s["id"] for s in listing["items"] if s["builtin"])
    r = await ana.get(f"/dnc/services/{builtin}/delete", headers=htmx(ana))
    assert "not editable" in r.text and "<form" not in r.text
    # Unused: a confirmation naming it, then it goes.
    r = await ana.get(f"/dnc/services/{spare['id']}/delete", headers=htmx(ana))
    assert "Delete Do-Not-Call service Spare? No campaign uses it." in r.text
    assert f'hx-post="/dnc/services/{spare["id"]}/delete"' in r.text
    r = await ana.post(f"/dnc/services/{spare['id']}/delete", headers=htmx(ana))
    assert r.headers["HX-Redirect"] == "/dnc", r.text
    page = (await ana.get("/dnc")).text
    assert "Do-Not-Call service deleted." in page and 'data-service="Spare"' not in page
    assert r.status_code == 200
    gone = await ana.get(f"/dnc/services/{spare['id']}/delete", headers=htmx(ana))
    assert "This item does not exist (any more)." in gone.text, gone.text


@pytest.mark.parametrize("language", ["pt_BR", "es"])
async def test_delete_dialog_speaks_the_language(app_client: ApiClient, language: str) -> None:
    await app_client.user("master", username="boss")
    await users.set_language(await users.authenticate("boss", PASSWORD), language)
    spare = await dnc_services.create_service(
        SYSTEM, {"name": "Spare", "kind": "http", "url": "https://dnc.example/b"}
    )
    boss = await session(app_client, "boss")
    r = await boss.get(f"/dnc/services/{spare['id']}/delete", headers=htmx(boss))
    expected = {
        "pt_BR": "Excluir o serviço Não ligar Spare? Nenhuma campanha o usa.",
        "es": "¿Eliminar el servicio No llamar Spare? Ninguna campaña lo usa.",
    }[language]
    assert expected in r.text, r.text
