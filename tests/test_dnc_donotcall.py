"""``POST /donotcall``: the product guide's JSON contract, answered from the
embedded list in memory, and a 400 with a reason for every malformed request."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar

from opendialer.admin_ui.donotcall import DONOTCALL_ROUTES
from opendialer.core import dnc
from opendialer.core.services import dnc_numbers
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A small app with the routes, on the test's own event loop (the session's
    asyncpg pool cannot follow Litestar's AsyncTestClient into its portal thread)."""
    await dnc_numbers.import_numbers(SYSTEM, b"554181021119\n5541981021119\n")
    app = Litestar(route_handlers=DONOTCALL_ROUTES)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as test_client:
        yield test_client
    await dnc.close_all()


async def test_the_contract(client: httpx.AsyncClient) -> None:
    listed = await client.post("/donotcall", json={"number": "554181021119"})
    assert listed.status_code == 200
    assert listed.json() == {"number": "554181021119", "doNotCall": True}
    free = await client.post("/donotcall", json={"number": "554181021120"})
    assert free.status_code == 200
    assert free.json() == {"number": "554181021120", "doNotCall": False}


async def test_an_import_is_answered_without_restarting(client: httpx.AsyncClient) -> None:
    assert (await client.post("/donotcall", json={"number": "12025550123"})).json()[
        "doNotCall"
    ] is False
    await dnc_numbers.import_numbers(SYSTEM, b"+1 202 555 0123\n")
    provider = next(iter(dnc.started_providers().values()))
    await provider.reload()  # what the poller does within a second; no waiting in tests
    assert (await client.post("/donotcall", json={"number": "12025550123"})).json()[
        "doNotCall"
    ] is True


@pytest.mark.parametrize(
    ("body", "error", "reason"),
    [
        (b"", "malformed_body", "not JSON"),
        (b"{number: 1}", "malformed_body", "not JSON"),
        (b'["554181021119"]', "malformed_body", "must be a JSON object"),
        (b"{}", "malformed_body", "'number' is missing"),
        (b'{"number": "554181021119", "extra": 1}', "malformed_body", "unknown field(s): extra"),
        (b'{"number": 554181021119}', "invalid_number", "JSON string of digits"),
        (b'{"number": null}', "invalid_number", "JSON string of digits"),
        (b'{"number": "55 41 8102-1119"}', "invalid_number", "E.164 digits"),
        (b'{"number": "1234"}', "invalid_number", "8 to 15 digits"),
        (b'{"number": "04181021119"}', "invalid_number", "do not start with 0"),
        (b'{"number": "' + b"5" * 2000 + b'"}', "malformed_body", "larger than 1024 bytes"),
    ],
)
async def test_malformed_requests_get_400_with_a_reason(
    client: httpx.AsyncClient, body: bytes, error: str, reason: str
) -> None:
    response = await client.post(
        "/donotcall", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["error"] == error
    assert reason in answer["detail"]
