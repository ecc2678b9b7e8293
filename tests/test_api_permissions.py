"""The permission matrix (tests/api_matrix.py) run over HTTP on SQLite and PostgreSQL:
every route × every role × own/foreign group gets exactly the status its row says;
no route exists without a row; and cookie sessions cannot change anything without
the CSRF token, on every unsafe route."""

from __future__ import annotations

import re

import pytest
from api_client import ApiClient
from api_matrix import ROLES, ROWS, SCOPES, Row, build_world, send

from opendialer.admin_ui.app import API_PREFIX, create_app

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _shape(path: str) -> str:
    """``/api/v1/users/{user_id:int}`` and ``/api/v1/users/{id}`` → ``/api/v1/users/{}``."""
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/") or "/")


def _app_routes() -> set[tuple[str, str]]:
    app = create_app("sqlite:///:memory:")
    found = set()
    for route in app.routes:
        if not route.path.startswith(API_PREFIX):
            continue
        for method in getattr(route, "methods", set()):
            if method not in ("OPTIONS", "HEAD"):
                found.add((method, _shape(route.path)))
    return found


def test_every_api_route_has_a_row_in_the_permission_matrix() -> None:
    rows = {(row.method, _shape(row.path)) for row in ROWS}
    routes = _app_routes()
    missing = sorted(routes - rows)
    assert not missing, (
        "routes without an explicit permission row: add them to a tests/api_matrix_<area>.py "
        "module (ROWS = [Row(...)], see the tests/api_matrix.py docstring): "
        + ", ".join(f"{m} {p}" for m, p in missing)
    )
    stale = sorted(rows - routes)
    assert not stale, "matrix rows for routes that do not exist: " + ", ".join(
        f"{m} {p}" for m, p in stale
    )
    assert len(rows) == len(ROWS), "two rows for the same route"


def test_every_row_names_every_role() -> None:
    for row in ROWS:
        assert set(row.expect) == set(ROLES), row.id


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.id)
async def test_permission_matrix(app_client: ApiClient, row: Row) -> None:
    world = await build_world(app_client)
    mismatches = []
    for role in ROLES:
        for scope in SCOPES:
            params = await row.target(world, role, scope)
            body = row.body(world, role, scope, params) if row.body else None
            client = await world.fresh_client(role) if row.fresh_login else world.clients[role]
            response = await send(client, row, params, body)
            expected = row.expected(role, scope)
            if response.status_code != expected:
                mismatches.append(
                    f"{role:20} {scope:8} expected {expected}, got {response.status_code}: "
                    f"{response.text[:200]}"
                )
            elif response.status_code >= 400:
                problem = response.json()
                assert problem["error"] and problem["detail"], (role, scope, problem)
    assert not mismatches, f"{row.id}\n" + "\n".join(mismatches)


#: Unsafe routes that need an identity (log-in and token requests are public).
GUARDED_UNSAFE = [r for r in ROWS if r.method in UNSAFE and r.expect["anonymous"] == 401]


@pytest.mark.parametrize("row", GUARDED_UNSAFE, ids=lambda r: r.id)
async def test_cookie_sessions_need_the_csrf_token_on_every_unsafe_route(
    app_client: ApiClient, row: Row
) -> None:
    world = await build_world(app_client)
    browser = await app_client.login(world.users["master"]["username"])
    browser.headers.pop("X-CSRF-Token")
    params = await row.target(world, "master", "own")
    body = row.body(world, "master", "own", params) if row.body else None
    response = await send(browser, row, params, body)
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "csrf_failed"
