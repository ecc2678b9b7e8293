"""Who is calling: a bearer token (scripts) or a session cookie (browser, CSRF-checked).

Route handlers declare ``actor: NamedDependency[Actor]`` and get it from :func:`provide_actor`;
permission rules themselves live in ``core/services``.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from opendialer.core.services import auth
from opendialer.core.services.common import Actor
from opendialer.core.services.errors import NotAuthenticated, PermissionDenied

SESSION_COOKIE = "od_session"
CSRF_COOKIE = "od_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    token = bearer_token(request)
    if token is not None:
        return await auth.resolve(token, auth.BEARER)
    session = request.cookies.get(SESSION_COOKIE)
    if not session:
        raise NotAuthenticated("auth.login_required")
    actor = await auth.resolve(session, auth.SESSION)
    if request.method not in SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER) or await _form_csrf(request)
        if not auth.csrf_matches(session, presented):
            raise PermissionDenied(
                "auth.csrf_api", error="csrf_failed", header=CSRF_HEADER, cookie=CSRF_COOKIE
            )
    return actor


async def _form_csrf(request: Request[Any, Any, Any]) -> str | None:
    """HTML forms without JavaScript send the token as a ``csrf_token`` field."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else None
    return None
