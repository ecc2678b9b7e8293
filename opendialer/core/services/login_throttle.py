"""Failed log-ins throttled per user name AND per client address, on every node.

Each failed attempt is remembered for a window (default 15 min). When a user name
has ``per_user`` failures in the window (default 5), or a client address has
``per_address`` (default 20), further attempts for it are refused with
:class:`TooManyAttempts` — even with the right password — until the oldest
failure leaves the window; ``retry_after_s`` says how long that is.
A successful log-in clears the user name's failures (the address keeps its others).

The failures live in the database (table ``login_failure``), so several web nodes
behind a load balancer count together: an attacker gets ``limit`` tries per
window, not ``nodes × limit``. Times are the nodes' wall clocks (keep them in
sync; ``opendialer doctor`` checks). Behind a reverse proxy, run uvicorn with
``--proxy-headers`` and ``--forwarded-allow-ips`` so the client address is the
real one.

Settings (environment): ``OPENDIALER_LOGIN_WINDOW_S``,
``OPENDIALER_LOGIN_MAX_FAILURES_PER_USER``, ``OPENDIALER_LOGIN_MAX_FAILURES_PER_ADDRESS``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from opendialer.core.services import users
from opendialer.core.services.common import Actor
from opendialer.core.services.errors import TooManyAttempts
from opendialer.core.storage.tables import LoginFailure

WINDOW_ENV = "OPENDIALER_LOGIN_WINDOW_S"
PER_USER_ENV = "OPENDIALER_LOGIN_MAX_FAILURES_PER_USER"
PER_ADDRESS_ENV = "OPENDIALER_LOGIN_MAX_FAILURES_PER_ADDRESS"
DEFAULT_WINDOW_S = 900.0
DEFAULT_PER_USER = 5
DEFAULT_PER_ADDRESS = 20
#: How often a node deletes the failures that left the window (any key).
PRUNE_EVERY_S = 60.0


def _env_number(name: str, default: float, minimum: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return max(minimum, float(raw))
    except ValueError:
        return default


@dataclass
class Attempt:
    """One log-in attempt, counted as failed until :meth:`LoginThrottle.succeeded`."""

    username: str
    address: str
    row_ids: list[int]


@dataclass
class LoginThrottle:
    window_s: float = DEFAULT_WINDOW_S
    per_user: int = DEFAULT_PER_USER
    per_address: int = DEFAULT_PER_ADDRESS
    clock: Callable[[], float] = time.time
    _pruned_at: float = float("-inf")

    @classmethod
    def from_env(cls) -> LoginThrottle:
        return cls(
            window_s=_env_number(WINDOW_ENV, DEFAULT_WINDOW_S, 1),
            per_user=int(_env_number(PER_USER_ENV, DEFAULT_PER_USER, 1)),
            per_address=int(_env_number(PER_ADDRESS_ENV, DEFAULT_PER_ADDRESS, 1)),
        )

    def _keys(self, username: str, address: str) -> list[tuple[str, int, str]]:
        return [
            # PostgreSQL text cannot hold NUL: a name with one (never a user's) is
            # counted under a stand-in character instead of failing the insert (500).
            (
                f"user:{username.casefold()}"[:320].replace("\x00", "\ufffd"),
                self.per_user,
                "this user name",
            ),
            (f"address:{address}"[:320], self.per_address, "your address"),
        ]

    async def begin(self, username: str, address: str) -> Attempt:
        """Count this attempt as failed, then refuse it if earlier failures already
        reach a limit (and forget it again: a refused attempt extends no lock-out).

        Counting before the password is verified means parallel attempts cannot
        slip past the limit while their passwords are being checked."""
        now = self.clock()
        await self._prune(now)
        keys = self._keys(username, address)
        rows = await LoginFailure.insert(
            *(LoginFailure(key=key, at=now) for key, _, _ in keys)
        ).returning(LoginFailure.id)
        row_ids = [int(row["id"]) for row in rows]
        attempt = Attempt(username, address, row_ids)
        for (key, limit, what), row_id in zip(keys, row_ids, strict=True):
            earlier = (
                await LoginFailure.select(LoginFailure.at)
                .where(
                    (LoginFailure.key == key)
                    & (LoginFailure.at > now - self.window_s)
                    & (LoginFailure.id < row_id)
                )
                .order_by(LoginFailure.at, ascending=False)
                .limit(limit)
            )
            if len(earlier) >= limit:
                await self._forget(row_ids)
                oldest_counted = float(earlier[-1]["at"])
                wait = max(1, math.ceil(oldest_counted + self.window_s - now))
                raise TooManyAttempts(
                    "auth.too_many_attempts", retry_after_s=wait, what=what, wait=wait
                )
        return attempt

    async def succeeded(self, attempt: Attempt) -> None:
        """The password was right: forget the user name's failures and this attempt."""
        user_key = self._keys(attempt.username, attempt.address)[0][0]
        await LoginFailure.delete().where(
            (LoginFailure.key == user_key) | LoginFailure.id.is_in(attempt.row_ids)
        )

    async def _forget(self, row_ids: list[int]) -> None:
        await LoginFailure.delete().where(LoginFailure.id.is_in(row_ids))

    async def _prune(self, now: float) -> None:
        if now - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = now
        await LoginFailure.delete().where(LoginFailure.at <= now - self.window_s)


async def authenticate(
    throttle: LoginThrottle | None, username: str, password: str, address: str
) -> Actor:
    """``users.authenticate`` behind the throttle: 429 when locked out; a wrong
    password stays counted; a right one (even of a user with no enabled group,
    who is refused for another reason) clears the user name's failures."""
    if throttle is None:
        return await users.authenticate(username, password)
    attempt = await throttle.begin(username, address)
    try:
        actor = await users.authenticate(username, password)
    except users.NoEnabledGroup:
        await throttle.succeeded(attempt)
        raise
    await throttle.succeeded(attempt)
    return actor
