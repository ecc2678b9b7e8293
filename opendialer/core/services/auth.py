"""Sessions (browser) and bearer tokens (scripts): random secrets, stored hashed.

Only the SHA-256 of a token is kept, so a database dump does not log anyone in.
A session's CSRF token is derived from the session secret (HMAC), so it needs no
storage and changes with every session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from opendialer.core.services.common import Actor, PageRequest, jsonable, page_body
from opendialer.core.services.errors import NotAuthenticated, NotFound, ValidationFailed
from opendialer.core.services.users import actor_for, ensure_may_log_in
from opendialer.core.storage.tables import ApiToken

SESSION_TTL = timedelta(hours=12)
BEARER_TTL = timedelta(days=30)
SESSION = "session"
BEARER = "bearer"
MAX_BEARER_DAYS = 365
#: ``last_used_at`` is written at most this often per token (a write per request is waste).
TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: int
    token: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"opendialer-csrf", hashlib.sha256).hexdigest()[:40]


def csrf_matches(session_token: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token_for(session_token), presented or "")


async def issue(actor: Actor, kind: str, ttl: timedelta | None = None) -> IssuedToken:
    token = ("ods_" if kind == SESSION else "odt_") + secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + (ttl or (SESSION_TTL if kind == SESSION else BEARER_TTL))
    row = ApiToken(user=actor.user_id, token_hash=_digest(token), kind=kind, expires_at=expires_at)
    await row.save().run()
    return IssuedToken(id=row.id, token=token, expires_at=expires_at)


async def resolve(token: str, kind: str) -> Actor:
    """The actor a presented token stands for; NotAuthenticated when it is not valid now."""
    if not token:
        raise NotAuthenticated("auth.bearer_required")
    row = (
        await ApiToken.select(
            ApiToken.id,
            ApiToken.user,
            ApiToken.expires_at,
            ApiToken.revoked_at,
            ApiToken.last_used_at,
        )
        .where(ApiToken.token_hash == _digest(token), ApiToken.kind == kind)
        .first()
        .run()
    )
    now = datetime.now(UTC)
    if row is None:
        raise NotAuthenticated("auth.token_unknown")
    if row["revoked_at"] is not None:
        # Disabling a user's last group revokes its tokens; while the groups stay
        # disabled, say that (403 no_enabled_group) rather than only "revoked".
        if row["expires_at"] > now:
            ensure_may_log_in(await actor_for(row["user"]))
        raise NotAuthenticated("auth.token_unknown")
    if row["expires_at"] <= now:
        raise NotAuthenticated("auth.token_expired")
    actor = await actor_for(row["user"])
    ensure_may_log_in(actor)  # groups disabled since log-in end the session
    if row["last_used_at"] is None or row["last_used_at"] <= now - TOUCH_EVERY:
        await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == row["id"]).run()
    return actor


def bearer_ttl(days: object) -> timedelta:
    """A bearer token's lifetime from an optional ``expires_in_days`` (1..365)."""
    if days is None:
        return BEARER_TTL
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_BEARER_DAYS:
        raise ValidationFailed(
            "auth.token_days_range", field="expires_in_days", low=1, high=MAX_BEARER_DAYS
        )
    return timedelta(days=days)


def _token_json(row: dict[str, Any]) -> dict[str, Any]:
    return jsonable(
        {
            "id": row["id"],
            "user_id": row["user"],
            "kind": row["kind"],
            "created_at": row["created_at"],
            "expires_at": row["expires_at"],
            "last_used_at": row["last_used_at"],
        }
    )


async def list_tokens(actor: Actor, page: PageRequest | None = None) -> dict[str, Any]:
    """The actor's live sessions and bearer tokens (not expired, not revoked), newest first."""
    page = page or PageRequest()
    where = (
        (ApiToken.user == actor.user_id)
        & ApiToken.revoked_at.is_null()
        & (ApiToken.expires_at > datetime.now(UTC))
    )
    total = await ApiToken.count().where(where).run()
    rows = (
        await ApiToken.select()
        .where(where)
        .order_by(ApiToken.id, ascending=False)
        .limit(page.per_page)
        .offset(page.offset)
        .run()
    )
    return page_body([_token_json(r) for r in rows], total, page)


async def revoke(token: str) -> None:
    await (
        ApiToken.update({ApiToken.revoked_at: datetime.now(UTC)})
        .where(ApiToken.token_hash == _digest(token))
        .run()
    )


async def revoke_by_id(actor: Actor, token_id: int) -> None:
    row = await ApiToken.select(ApiToken.user).where(ApiToken.id == token_id).first().run()
    if row is None:
        raise NotFound("auth.token_not_found", id=token_id)
    if row["user"] != actor.user_id and not actor.is_master:
        # Someone else's token is out of scope: answer exactly as if it did not exist.
        raise NotFound("auth.token_not_found", id=token_id)
    await (
        ApiToken.update({ApiToken.revoked_at: datetime.now(UTC)})
        .where(ApiToken.id == token_id)
        .run()
    )
