"""``/api/v1/platform`` handlers, mounted on a minimal Litestar app with the project's
error handlers (the lead wires them into the real API router; see api/__init__.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar, Router
from litestar.di import Provide
from litestar.exceptions import ValidationException

from opendialer.admin_ui.api.platform import ROUTES
from opendialer.admin_ui.errors import service_error, validation_error
from opendialer.core.domain import Role
from opendialer.core.services.common import SYSTEM, Actor
from opendialer.core.services.errors import ServiceError

SUPERVISOR = Actor(user_id=9, username="sup", role=Role.CAMPAIGN_SUPERVISOR)


def app_as(actor: Actor) -> Litestar:
    async def provide_actor() -> Actor:
        return actor

    return Litestar(
        route_handlers=[Router("/api/v1", route_handlers=ROUTES)],
        dependencies={"actor": Provide(provide_actor)},
        exception_handlers={ServiceError: service_error, ValidationException: validation_error},
    )


@pytest.fixture
async def master(db: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_as(SYSTEM))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


BODY = {
    "server": "pbx.example.com:5060",
    "transport": "tls",
    "register": True,
    "ports": [{"user": "3001", "password": "s3cret"}],
}


async def test_put_then_get_never_returns_passwords(master: httpx.AsyncClient) -> None:
    r = await master.put("/api/v1/platform", json=BODY)
    assert r.status_code == 200, r.text
    assert "s3cret" not in r.text
    r = await master.get("/api/v1/platform")
    body = r.json()
    assert body["ports"] == [{"user": "3001", "auth_user": "3001", "has_password": True}]
    assert body["domain"] == "pbx.example.com" and body["revision"] == 1
    r = await master.put("/api/v1/platform", json=body)  # the GET body goes back unchanged
    assert r.status_code == 200, r.text
    assert r.json()["ports"][0]["has_password"] is True


async def test_errors_name_the_field(master: httpx.AsyncClient) -> None:
    r = await master.put("/api/v1/platform", json={**BODY, "transport": "sctp"})
    assert (r.status_code, r.json()["field"]) == (422, "transport")
    r = await master.put(
        "/api/v1/platform", json={**BODY, "ports": [{"user": "3001"}, {"user": "3002"}]}
    )
    assert (r.status_code, r.json()["field"]) == (422, "ports[0].password")


@pytest.mark.parametrize(
    ("port", "field"),
    [
        ({"user": "3001", "auth_user": 'x", realm="evil'}, "ports[1].auth_user"),
        ({"user": "3001", "auth_user": "dialer@evil.example"}, "ports[1].auth_user"),
        ({"user": "3001", "auth_user": "a\r\nX-Evil: 1"}, "ports[1].auth_user"),
        ({"user": "3001", "auth_user": "<sip:x>"}, "ports[1].auth_user"),
        ({"user": "3001", "auth_user": "dial er"}, "ports[1].auth_user"),
        ({"user": "3001;transport=tcp"}, "ports[1].user"),
        ({"user": "3001@evil.example"}, "ports[1].user"),
    ],
)
async def test_what_a_sip_header_cannot_carry_is_refused(
    master: httpx.AsyncClient, port: dict[str, str], field: str
) -> None:
    ports = [{"user": "3000", "password": "s3cret"}, {**port, "password": "s3cret"}]
    r = await master.put("/api/v1/platform", json={**BODY, "ports": ports})
    assert (r.status_code, r.json()["field"]) == (422, field), r.text
    assert "must be a SIP user name" in r.json()["detail"]
    assert (await master.get("/api/v1/platform")).json()["configured"] is False


async def test_only_a_master(db: Any) -> None:
    transport = httpx.ASGITransport(app=app_as(SUPERVISOR))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/api/v1/platform")).status_code == 403
        assert (await client.put("/api/v1/platform", json=BODY)).status_code == 403
        assert (await client.get("/api/v1/platform/registrations")).status_code == 403


async def test_the_default_caller_id_follows_the_campaigns_rule(master: httpx.AsyncClient) -> None:
    r = await master.put("/api/v1/platform", json={**BODY, "caller_id": "+55 (41) 3301-5000"})
    assert r.status_code == 200 and r.json()["caller_id"] == "+554133015000", r.text
    for bad in ("4000\r\nX-Evil: 1", "4000>;x=<sip:1@evil", "4000@evil.example"):
        r = await master.put("/api/v1/platform", json={**BODY, "caller_id": bad})
        assert (r.status_code, r.json()["field"]) == (422, "caller_id"), r.text
    assert (await master.get("/api/v1/platform")).json()["caller_id"] == "+554133015000"
