"""The Do-Not-Call page: the upload's result counts in each language's plural.
Runs the app in-process (``app_client``), on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import httpx
import pytest
from api_client import PASSWORD, ApiClient

from opendialer.core.services import users


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
