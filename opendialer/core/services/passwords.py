"""Password hashing (argon2id) and the password policy.

Hashing costs tens of milliseconds of CPU by design, so the async helpers run it
in a worker thread: the event loop keeps dialing while someone logs in.
"""

from __future__ import annotations

import asyncio
import functools
import os
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from opendialer.core.services.errors import ValidationFailed

MIN_LENGTH_ENV = "OPENDIALER_PASSWORD_MIN_LENGTH"
DEFAULT_MIN_LENGTH = 10
MAX_LENGTH = 256

TIME_COST_ENV = "OPENDIALER_ARGON2_TIME_COST"
MEMORY_KIB_ENV = "OPENDIALER_ARGON2_MEMORY_KIB"


def _env_int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name)
    try:
        return max(minimum, int(raw)) if raw else default
    except ValueError:
        return default


@functools.cache
def _hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's defaults (3 passes, 64 MiB), tunable by environment.

    Lower costs are for test suites that create many users; a stored hash records
    its own costs, so hashes made under other settings keep verifying. Built on
    first use, so the environment is read then, not at import.
    """
    return PasswordHasher(
        time_cost=_env_int(TIME_COST_ENV, 3, 1),
        memory_cost=_env_int(MEMORY_KIB_ENV, 65536, 1024),
    )


def min_length() -> int:
    raw = os.environ.get(MIN_LENGTH_ENV)
    try:
        return max(1, int(raw)) if raw else DEFAULT_MIN_LENGTH
    except ValueError:
        return DEFAULT_MIN_LENGTH


def check_policy(password: Any, username: str, *, field: str = "password") -> None:
    """Refuse a weak password with a reason; the product guide sets no policy, we do."""
    if not isinstance(password, str) or not password:
        raise ValidationFailed("password.required", field=field)
    needed = min_length()
    if len(password) < needed:
        raise ValidationFailed("password.too_short", field=field, n=needed, length=len(password))
    if len(password) > MAX_LENGTH:
        raise ValidationFailed("password.too_long", field=field, n=MAX_LENGTH)
    if username and password.casefold() == username.casefold():
        raise ValidationFailed("password.is_username", field=field)
    if len(set(password)) < 3:
        raise ValidationFailed("password.repetitive", field=field)


def hash_password_sync(password: str) -> str:
    return _hasher().hash(password)


def verify_password_sync(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hash_password_sync, password)


async def verify_password(password_hash: str, password: str) -> bool:
    return await asyncio.to_thread(verify_password_sync, password_hash, password)


@functools.cache
def dummy_hash() -> str:
    """A real hash of a random password, verified when a user name is unknown so
    that the answer time does not tell which user names exist."""
    return _hasher().hash("opendialer-timing-equaliser")
