"""Deeply nested JSON bodies are a 400 like any unparseable body, on every route that
reads a JSON body (the log-in route included), and never a 500 or a traceback."""

from __future__ import annotations

import logging
import re

import pytest
from api_client import ApiClient
from litestar.handlers import HTTPRouteHandler

from opendialer.admin_ui.json_nesting import MAX_JSON_DEPTH, too_deep

JSON = {"content-type": "application/json"}
HOSTILE = [
    b"[" * 100_000,
    b'{"username": ' + b"[" * 100_000,
    b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1),
]


def nested_options(depth: int) -> dict[str, object]:
    """``options`` whose value nests ``depth`` objects (the body adds one level)."""
    value: dict[str, object] = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def assert_refused(r: object) -> None:
    assert r.status_code == 400, r.text  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert body["error"] == "bad_request"
    assert body["detail"] == (
        f"request body is not valid JSON: arrays and objects nest more than "
        f"{MAX_JSON_DEPTH} levels deep"
    )


@pytest.mark.parametrize("body", HOSTILE, ids=["array", "in-field", "objects", "limit+1"])
async def test_login_and_an_authenticated_route_answer_400(
    app_client: ApiClient, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert_refused(await app_client.post("/api/v1/auth/login", content=body, headers=JSON))
    master = await app_client.login_as("master")
    assert_refused(await master.post("/api/v1/dnc-services", content=body, headers=JSON))
    assert_refused(await master.post("/api/v1/groups", content=body, headers=JSON))
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR or rec.exc_info]
    # The public /donotcall route parses its own body: the same bound.
    r = await app_client.post("/donotcall", content=body[:1000], headers=JSON)
    assert r.status_code == 400 and "nest more than" in r.json()["detail"], r.text


async def test_every_route_with_a_json_body_refuses_deep_nesting(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    checked = []
    for route in app_client.app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            if "data" not in handler.parsed_fn_signature.parameters:
                continue
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            for method in handler.http_methods:
                r = await master.request(method, path, content=b"[" * 10_000, headers=JSON)
                assert_refused(r)
                checked.append(f"{method} {path}")
    assert "POST /api/v1/auth/login" in checked and len(checked) > 10, checked


async def test_nesting_up_to_the_limit_and_brackets_in_strings_still_parse(
    app_client: ApiClient,
) -> None:
    master = await app_client.login_as("master")
    deep_ok = {
        "name": "Deep",
        "kind": "http",
        "url": "https://dnc.example/x",
        "options": nested_options(MAX_JSON_DEPTH - 1),
    }
    r = await master.post("/api/v1/dnc-services", json=deep_ok)
    assert r.status_code == 201, r.text
    too_much = {**deep_ok, "name": "Deeper", "options": nested_options(MAX_JSON_DEPTH)}
    assert_refused(await master.post("/api/v1/dnc-services", json=too_much))
    brackets = {"name": "[" * 90 + "{" * 9, "description": '\\"[[[' * 30}
    r = await master.post("/api/v1/groups", json=brackets)
    assert r.status_code == 201, r.text


def test_too_deep_counts_levels_not_brackets() -> None:
    assert not too_deep(b"[" + b"[1]," * 10_000 + b"[]]")
    assert not too_deep(b'["' + b"[" * 10_000 + b'"]')
    assert too_deep(b"[" * 65 + b"]" * 65) and not too_deep(b"[" * 64 + b"]" * 64)
    assert too_deep(b'["\\"", ' + b"{" * 65)  # an escaped quote does not end a string
