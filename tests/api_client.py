"""Test client of the JSON API — the fixture and helpers every API test uses.

Fixture (registered in ``conftest.py``)::

    async def test_something(app_client: ApiClient) -> None:
        admin = await app_client.login_as("campaign_admin", [group_id])   # bearer token
        browser = await app_client.login_as("manager", [group_id], cookie=True)  # session
        r = await admin.get("/api/v1/groups")
        assert r.status_code == 200, r.text
        r = await app_client.get("/api/v1/groups")  # app_client itself is anonymous: 401

``app_client`` runs ``create_app(database=db)`` (built once per session and
environment, its ``app.state`` fresh per test: ``AppCache``) in-process through
``httpx.ASGITransport`` on the test's own event loop, on SQLite and PostgreSQL
(the ``db`` fixture). Litestar's own ``AsyncTestClient`` is not used on purpose:
it runs the app in a portal thread with a second event loop, which the session's
asyncpg pool cannot be shared with.

``ApiClient`` (an ``httpx.AsyncClient`` with no credentials) adds:

* ``await group(name, enabled=True) -> int`` — a dialer group (created as SYSTEM).
* ``await user(role, group_ids=(), username=None, password=PASSWORD) -> dict`` — a user.
* ``await login_as(role, group_ids=(), *, cookie=False, username=None) -> UserClient`` — a
  new user, logged in: with a bearer token (``POST /api/v1/auth/token``), or with
  ``cookie=True`` through ``POST /api/v1/auth/login`` (session cookie kept by the
  client, ``X-CSRF-Token`` header preset). ``UserClient.user`` is the user's JSON.
* ``await bearer(username, password=PASSWORD)`` / ``await login(username, ...)`` — the
  same for an existing user.
* ``client(address=..., https=False, headers=None) -> httpx.AsyncClient`` — another
  anonymous client on the same app (another client address, or an https:// URL).

Every client made here is closed when the test ends. Passwords are hashed with
cheap argon2 settings in the test run (conftest sets ``OPENDIALER_ARGON2_*``).
"""

from __future__ import annotations

import asyncio
import copy
import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from litestar import Litestar

from opendialer.admin_ui.app import create_app
from opendialer.core.services import groups, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database

PASSWORD = "correct-horse-battery"
DEFAULT_ADDRESS = "203.0.113.10"


class UserClient(httpx.AsyncClient):
    """A client logged in as ``user`` (its JSON from the API)."""

    user: dict[str, Any]


class ApiClient(httpx.AsyncClient):
    def __init__(self, app: Litestar, **kwargs: Any) -> None:
        self.app = app
        self._clients: list[httpx.AsyncClient] = []
        self._serial = 0
        super().__init__(**self._client_kwargs(DEFAULT_ADDRESS, False), **kwargs)

    def _client_kwargs(self, address: str, https: bool) -> dict[str, Any]:
        return {
            "transport": httpx.ASGITransport(app=self.app, client=(address, 40000)),
            "base_url": "https://testserver" if https else "http://testserver",
        }

    def client(
        self,
        *,
        address: str = DEFAULT_ADDRESS,
        https: bool = False,
        headers: dict[str, str] | None = None,
        cls: type[httpx.AsyncClient] = httpx.AsyncClient,
    ) -> Any:
        made = cls(**self._client_kwargs(address, https), headers=headers)
        self._clients.append(made)
        return made

    async def group(self, name: str | None = None, *, enabled: bool = True) -> int:
        self._serial += 1
        body = await groups.create_group(
            SYSTEM, {"name": name or f"group-{self._serial}", "enabled": enabled}
        )
        return int(body["id"])

    async def user(
        self,
        role: str,
        group_ids: Iterable[int] = (),
        *,
        username: str | None = None,
        password: str = PASSWORD,
    ) -> dict[str, Any]:
        self._serial += 1
        return await users.create_user(
            SYSTEM,
            {
                "username": username or f"{role}-{self._serial}",
                "password": password,
                "role": role,
                "group_ids": list(group_ids),
            },
        )

    async def bearer(self, username: str, password: str = PASSWORD) -> UserClient:
        r = await self.post("/api/v1/auth/token", json={"username": username, "password": password})
        assert r.status_code == 201, r.text
        made: UserClient = self.client(
            headers={"Authorization": f"Bearer {r.json()['token']}"}, cls=UserClient
        )
        made.user = (await made.get("/api/v1/auth/me")).json()
        return made

    async def login(
        self, username: str, password: str = PASSWORD, *, https: bool = False
    ) -> UserClient:
        made: UserClient = self.client(https=https, cls=UserClient)
        r = await made.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        made.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        made.user = r.json()["user"]
        return made

    async def login_as(
        self,
        role: str,
        group_ids: Iterable[int] = (),
        *,
        cookie: bool = False,
        username: str | None = None,
    ) -> UserClient:
        created = await self.user(role, group_ids, username=username)
        if cookie:
            return await self.login(created["username"])
        return await self.bearer(created["username"])

    async def aclose_all(self) -> None:
        for made in self._clients:
            await made.aclose()
        await self.aclose()


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[None]:
    """Run the app's start-up and shutdown around the block. The lifespan lives in a
    task of its own: pytest-asyncio sets fixtures up and tears them down in different
    tasks, and Litestar's lifespan holds an anyio task group that must exit where it
    was entered."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(lifespan())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # start-up failed: raise its error here
    try:
        yield
    finally:
        stop.set()
        await task


class AppCache:
    """One ``create_app(database=...)`` per database and environment, reused by the tests.

    Building the app costs 0.5-2 s (Litestar models every handler's signature) and a
    test needs a fresh app only in what it can change: ``app.state``. So each test gets
    the state ``create_app`` made, deep-copied (a fresh login throttle, metrics access
    rule...), and its own start-up and shutdown (the lifespan). The app is built again
    when the ``OPENDIALER_*`` environment differs from the one it was built in (a test
    that sets a variable create_app reads)."""

    def __init__(self) -> None:
        self._built: dict[int, tuple[dict[str, str], Litestar, dict[str, Any]]] = {}

    def app_for(self, db: Database) -> Litestar:
        env = {k: v for k, v in os.environ.items() if k.startswith("OPENDIALER_")}
        built = self._built.get(id(db))
        if built is None or built[0] != env:
            app = create_app(database=db)
            built = (env, app, copy.deepcopy(dict(app.state)))
            self._built[id(db)] = built
        _, app, pristine = built
        for key in list(app.state.keys()):
            del app.state[key]
        app.state.update(copy.deepcopy(pristine))
        return app


@pytest.fixture(scope="session")
def app_cache() -> AppCache:
    return AppCache()


@pytest.fixture
async def app_client(db: Database, app_cache: AppCache) -> AsyncIterator[ApiClient]:
    """An anonymous client of ``create_app(database=db)`` (built once, state fresh per
    test: ``AppCache``); see the module docstring."""
    app = app_cache.app_for(db)
    async with running(app):
        api = ApiClient(app)
        try:
            yield api
        finally:
            await api.aclose_all()
