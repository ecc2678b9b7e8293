"""The permission matrix of the JSON API, as data: every route × every role × own/foreign
scope → the exact HTTP status. ``test_api_permissions.py`` runs it, and fails when a
route of the app has no row here ("no route without an explicit permission").

Adding rows for your routes: put them in a module ``tests/api_matrix_<area>.py`` that
defines ``ROWS: list[Row]`` — it is collected automatically (no need to edit this file)::

    from api_matrix import Row, World, expect

    async def campaign_target(world: World, role: str, scope: str) -> dict:
        body = await campaigns.create_campaign(SYSTEM, {..., "group_id": world.group(scope)})
        return {"campaign_id": body["id"]}

    ROWS = [
        Row("GET", "/api/v1/campaigns/{campaign_id}", target=campaign_target,
            expect=expect(master=200, manager=403, campaign_admin=(200, 404),
                          campaign_supervisor=(200, 404))),
        Row("POST", "/api/v1/campaigns/{campaign_id}/leads", target=campaign_target,
            body=lambda w, role, scope, t: Raw(b"Ann,5541999990000\\n", "text/csv"),
            expect=...),
    ]

How a row runs, for each role (``anonymous`` and the four roles) and each scope:
* ``target(world, role, scope)`` makes FRESH objects for this one cell (so a DELETE in
  one cell cannot change another's outcome) and returns the path parameters.
  "own" means the object belongs to ``world.own_group`` — the group every non-Master
  test user is in (or manages); "foreign" means ``world.foreign_group``.
* ``body(world, role, scope, params)`` returns a JSON value, a :class:`Raw` body, or None.
* The request is sent with the role's bearer token (``world.clients[role]``), or with
  a freshly logged-in user of that role when ``fresh_login=True`` (routes that end the
  caller's own session).
* ``expect``: role → status, or role → (status for own, status for foreign).
  ``anonymous`` defaults to 401 unless the row says otherwise.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from api_client import PASSWORD, ApiClient

from opendialer.core.services import auth, dnc_services, users
from opendialer.core.services.common import SYSTEM

ROLES = ("anonymous", "master", "manager", "campaign_admin", "campaign_supervisor")
SCOPES = ("own", "foreign")
Status = int | tuple[int, int]


@dataclass(frozen=True)
class Raw:
    """A non-JSON request body (CSV upload, form)."""

    content: bytes
    content_type: str


@dataclass
class World:
    """Two groups and one logged-in user per role; built fresh for every row."""

    api: ApiClient
    own_group: int
    foreign_group: int
    clients: dict[str, httpx.AsyncClient]
    users: dict[str, dict[str, Any]]
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def group(self, scope: str) -> int:
        return self.own_group if scope == "own" else self.foreign_group

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self.counter)}"

    def groups_of(self, role: str) -> list[int]:
        return [] if role in ("master", "anonymous") else [self.own_group]

    async def fresh_client(self, role: str) -> httpx.AsyncClient:
        if role == "anonymous":
            return self.api.client()
        return await self.api.login_as(role, self.groups_of(role), username=self.unique(role))


async def build_world(api: ApiClient) -> World:
    own = await api.group("own-group")
    foreign = await api.group("foreign-group")
    clients: dict[str, httpx.AsyncClient] = {"anonymous": api.client()}
    made: dict[str, dict[str, Any]] = {}
    for role in ROLES[1:]:
        client = await api.login_as(role, [] if role == "master" else [own], username=f"the-{role}")
        clients[role] = client
        made[role] = client.user  # type: ignore[attr-defined]
    return World(api, own, foreign, clients, made)


Target = Callable[[World, str, str], Awaitable[dict[str, Any]]]
Body = Callable[[World, str, str, dict[str, Any]], Any]


async def no_target(world: World, role: str, scope: str) -> dict[str, Any]:
    return {}


def expect(
    *,
    master: Status,
    manager: Status,
    campaign_admin: Status,
    campaign_supervisor: Status,
    anonymous: Status = 401,
) -> dict[str, Status]:
    return {
        "anonymous": anonymous,
        "master": master,
        "manager": manager,
        "campaign_admin": campaign_admin,
        "campaign_supervisor": campaign_supervisor,
    }


def everyone(status: int, *, anonymous: Status = 401) -> dict[str, Status]:
    return expect(
        master=status,
        manager=status,
        campaign_admin=status,
        campaign_supervisor=status,
        anonymous=anonymous,
    )


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expect: dict[str, Status]
    target: Target = no_target
    body: Body | None = None
    fresh_login: bool = False

    def expected(self, role: str, scope: str) -> int:
        status = self.expect[role]
        if isinstance(status, tuple):
            return status[0] if scope == "own" else status[1]
        return status

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


# -- targets ------------------------------------------------------------------


async def user_target(world: World, role: str, scope: str) -> dict[str, Any]:
    """A fresh Campaign Administrator in the scope's group."""
    created = await world.api.user(
        "campaign_admin", [world.group(scope)], username=world.unique("target")
    )
    return {"user_id": created["id"]}


async def group_target(world: World, role: str, scope: str) -> dict[str, Any]:
    return {"group_id": world.group(scope)}


async def token_target(world: World, role: str, scope: str) -> dict[str, Any]:
    """own: another token of the caller; foreign: a token of some other user."""
    if scope == "own" and role != "anonymous":
        owner_id = world.users[role]["id"]
    else:
        other = await world.api.user(
            "campaign_supervisor", [world.own_group], username=world.unique("other")
        )
        owner_id = other["id"]
    issued = await auth.issue(await users.actor_for(owner_id), auth.BEARER)
    return {"token_id": issued.id}


async def dnc_service_target(world: World, role: str, scope: str) -> dict[str, Any]:
    """A fresh http service (services are shared by all groups: scope does not apply)."""
    created = await dnc_services.create_service(
        SYSTEM, {"name": world.unique("dnc"), "kind": "http", "url": "https://dnc.example/check"}
    )
    return {"service_id": created["id"]}


def _credentials(world: World, role: str, scope: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"username": "the-master", "password": PASSWORD}


def _new_user(world: World, role: str, scope: str, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "username": world.unique("new"),
        "password": PASSWORD,
        "role": "campaign_admin",
        "group_ids": [world.group(scope)],
    }


# -- rows of this file's areas: auth, users, groups, DNC services ------------------

ADMINS_ONLY = expect(master=200, manager=200, campaign_admin=403, campaign_supervisor=403)
MASTER_ONLY_CREATE = expect(master=201, manager=403, campaign_admin=403, campaign_supervisor=403)
DNC_READ = expect(master=200, manager=403, campaign_admin=200, campaign_supervisor=200)

CORE_ROWS: list[Row] = [
    # auth: log-in and tokens are public; the rest needs an identity
    Row("POST", "/api/v1/auth/login", everyone(200, anonymous=200), body=_credentials),
    Row("POST", "/api/v1/auth/token", everyone(201, anonymous=201), body=_credentials),
    Row("POST", "/api/v1/auth/logout", everyone(204), fresh_login=True),
    Row("GET", "/api/v1/auth/me", everyone(200)),
    Row("GET", "/api/v1/auth/tokens", everyone(200)),
    Row(
        "DELETE",
        "/api/v1/auth/tokens/{token_id}",
        expect(
            master=204,
            manager=(204, 404),
            campaign_admin=(204, 404),
            campaign_supervisor=(204, 404),
        ),
        target=token_target,
    ),
    # users: Master all; Manager its groups' campaign roles; others nothing
    Row("GET", "/api/v1/users", ADMINS_ONLY),
    Row(
        "POST",
        "/api/v1/users",
        expect(master=201, manager=(201, 403), campaign_admin=403, campaign_supervisor=403),
        body=_new_user,
    ),
    Row(
        "GET",
        "/api/v1/users/{user_id}",
        expect(master=200, manager=(200, 404), campaign_admin=403, campaign_supervisor=403),
        target=user_target,
    ),
    Row(
        "PATCH",
        "/api/v1/users/{user_id}",
        expect(master=200, manager=(200, 404), campaign_admin=403, campaign_supervisor=403),
        target=user_target,
        body=lambda w, role, scope, params: {"first_name": "Renamed"},
    ),
    Row(
        "DELETE",
        "/api/v1/users/{user_id}",
        expect(master=204, manager=(204, 404), campaign_admin=403, campaign_supervisor=403),
        target=user_target,
    ),
    Row(
        "POST",
        "/api/v1/users/{user_id}/password",
        expect(master=204, manager=403, campaign_admin=403, campaign_supervisor=403),
        target=user_target,
        body=lambda w, role, scope, params: {"password": "another-good-secret"},
    ),
    # groups: everyone sees its own; Master creates/edits; Managers enable/disable theirs
    Row("GET", "/api/v1/groups", everyone(200)),
    Row(
        "POST",
        "/api/v1/groups",
        MASTER_ONLY_CREATE,
        body=lambda w, role, scope, params: {"name": w.unique("group")},
    ),
    Row(
        "GET",
        "/api/v1/groups/{group_id}",
        expect(
            master=200,
            manager=(200, 404),
            campaign_admin=(200, 404),
            campaign_supervisor=(200, 404),
        ),
        target=group_target,
    ),
    Row(
        "PATCH",
        "/api/v1/groups/{group_id}",
        expect(
            master=200,
            manager=(200, 404),
            campaign_admin=(403, 404),
            campaign_supervisor=(403, 404),
        ),
        target=group_target,
        body=lambda w, role, scope, params: {"enabled": True},
    ),
    Row("DELETE", "/api/v1/groups/{group_id}", everyone(405), target=group_target),
    # DNC services: shared by all groups; Master and Campaign Administrators manage them
    Row("GET", "/api/v1/dnc-services", DNC_READ),
    Row(
        "POST",
        "/api/v1/dnc-services",
        expect(master=201, manager=403, campaign_admin=201, campaign_supervisor=403),
        body=lambda w, role, scope, params: {
            "name": w.unique("dnc"),
            "kind": "http",
            "url": "https://dnc.example/check",
        },
    ),
    Row("GET", "/api/v1/dnc-services/{service_id}", DNC_READ, target=dnc_service_target),
    Row(
        "PATCH",
        "/api/v1/dnc-services/{service_id}",
        expect(master=200, manager=403, campaign_admin=200, campaign_supervisor=403),
        target=dnc_service_target,
        body=lambda w, role, scope, params: {"timeout_ms": 1500},
    ),
    Row(
        "DELETE",
        "/api/v1/dnc-services/{service_id}",
        expect(master=204, manager=403, campaign_admin=204, campaign_supervisor=403),
        target=dnc_service_target,
    ),
]


def _collect_rows() -> list[Row]:
    rows = list(CORE_ROWS)
    for path in sorted(Path(__file__).parent.glob("api_matrix_*.py")):
        module = importlib.import_module(path.stem)
        rows.extend(module.ROWS)
    return rows


ROWS: list[Row] = _collect_rows()


async def send(
    client: httpx.AsyncClient, row: Row, params: dict[str, Any], body: Any
) -> httpx.Response:
    url = row.path.format(**params)
    if isinstance(body, Raw):
        return await client.request(
            row.method, url, content=body.content, headers={"Content-Type": body.content_type}
        )
    if body is None:
        return await client.request(row.method, url)
    return await client.request(row.method, url, json=body)
