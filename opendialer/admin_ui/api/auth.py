"""``/api/v1/auth``: log in and out (browser session), bearer tokens (scripts), who am I.

Log-in and token requests are the only public routes of the API (``opt={"public": True}``);
both go through the failed-log-in throttle of ``core/services/login_throttle.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, delete, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import JSONBody

from opendialer.admin_ui.api.common import ObjectId
from opendialer.admin_ui.auth import CSRF_COOKIE, SESSION_COOKIE, bearer_token
from opendialer.core.domain import Role
from opendialer.core.services import auth, login_throttle, users
from opendialer.core.services.common import Actor, PageRequest
from opendialer.core.services.login_throttle import LoginThrottle

Username = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    password: Password


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    password: Password
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=auth.MAX_BEARER_DAYS)] | None = None


class Me(msgspec.Struct, omit_defaults=True):
    id: int
    username: str
    first_name: str
    last_name: str
    role: Role
    language: str
    group_ids: list[int]
    enabled_group_ids: list[int]
    #: Present for a cookie session: the value to send in ``X-CSRF-Token``.
    csrf_token: str | None = None


class LoginResult(msgspec.Struct):
    user: Me
    csrf_token: str
    expires_at: datetime


class IssuedToken(msgspec.Struct):
    id: int
    token: str
    expires_at: datetime


class TokenInfo(msgspec.Struct):
    id: int
    user_id: int
    kind: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None


class TokenPage(msgspec.Struct):
    items: list[TokenInfo]
    total: int
    page: int
    per_page: int


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


async def _authenticate(request: Request[Any, Any, Any], username: str, password: str) -> Actor:
    throttle: LoginThrottle = request.app.state.login_throttle
    return await login_throttle.authenticate(
        throttle, username, password, client_address(request)
    )  # 429 when locked out; a wrong password stays counted


def _cookie(request: Request[Any, Any, Any], key: str, value: str, *, httponly: bool) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        path="/",
        httponly=httponly,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=int(auth.SESSION_TTL.total_seconds()) if value else 0,
    )


@post("/login", opt={"public": True}, summary="Log in (browser session cookie)")
async def login(
    request: Request[Any, Any, Any], data: JSONBody[Credentials]
) -> Response[LoginResult]:
    """Sets the ``od_session`` cookie (HttpOnly, SameSite=Lax, Secure over HTTPS) and the
    readable ``od_csrf`` cookie whose value unsafe requests send as ``X-CSRF-Token``."""
    actor = await _authenticate(request, data.username, data.password)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        await auth.revoke(previous)  # a new log-in never keeps an old (maybe planted) session
    issued = await auth.issue(actor, auth.SESSION)
    csrf = auth.csrf_token_for(issued.token)
    me = msgspec.convert(await users.me(actor), Me)
    return Response(
        LoginResult(user=me, csrf_token=csrf, expires_at=issued.expires_at),
        status_code=200,
        cookies=[
            _cookie(request, SESSION_COOKIE, issued.token, httponly=True),
            _cookie(request, CSRF_COOKIE, csrf, httponly=False),
        ],
    )


@post("/logout", status_code=204, summary="End this session (or revoke this bearer token)")
async def logout(request: Request[Any, Any, Any], actor: NamedDependency[Actor]) -> Response[None]:
    token = bearer_token(request) or request.cookies.get(SESSION_COOKIE)
    if token:
        await auth.revoke(token)
    return Response(
        None,
        status_code=204,
        cookies=[
            _cookie(request, SESSION_COOKIE, "", httponly=True),
            _cookie(request, CSRF_COOKIE, "", httponly=False),
        ],
    )


@post("/token", opt={"public": True}, status_code=201, summary="Get a bearer token (scripts)")
async def create_token(
    request: Request[Any, Any, Any], data: JSONBody[TokenRequest]
) -> IssuedToken:
    """Send it as ``Authorization: Bearer <token>``; no CSRF token is needed then.
    Only its SHA-256 is stored: it cannot be shown again."""
    actor = await _authenticate(request, data.username, data.password)
    issued = await auth.issue(actor, auth.BEARER, auth.bearer_ttl(data.expires_in_days))
    return IssuedToken(id=issued.id, token=issued.token, expires_at=issued.expires_at)


@get("/tokens", summary="My live sessions and bearer tokens")
async def list_tokens(
    actor: NamedDependency[Actor], page_request: NamedDependency[PageRequest]
) -> TokenPage:
    return msgspec.convert(await auth.list_tokens(actor, page_request), TokenPage)


@delete("/tokens/{token_id:int}", status_code=204, summary="Revoke a session or bearer token")
async def revoke_token(actor: NamedDependency[Actor], token_id: ObjectId) -> None:
    """Your own tokens; a Master may revoke anyone's."""
    await auth.revoke_by_id(actor, token_id)


@get("/me", summary="Who am I")
async def me(request: Request[Any, Any, Any], actor: NamedDependency[Actor]) -> Me:
    body = await users.me(actor)
    session = request.cookies.get(SESSION_COOKIE)
    if session and bearer_token(request) is None:
        body["csrf_token"] = auth.csrf_token_for(session)
    return msgspec.convert(body, Me)


ROUTES: list[Any] = [
    Router(
        path="/auth",
        route_handlers=[login, logout, create_token, list_tokens, revoke_token, me],
        tags=["auth"],
    )
]
