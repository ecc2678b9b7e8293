"""Failed log-ins throttled per user name AND per client address.

Each failed attempt is remembered for a window (default 15 min). When a user name
has ``per_user`` failures in the window (default 5), or a client address has
``per_address`` (default 20), further attempts for it are refused with
:class:`TooManyAttempts` — even with the right password — until the oldest
failure leaves the window; ``retry_after_s`` says how long that is.
A successful log-in clears the user name's failures (the address keeps its others).

The state is in memory, per process: with several dialer nodes behind a load
balancer, each node counts on its own, so an attacker gets at most
``nodes × limit`` tries per window. That is the accepted trade-off for needing
no shared store; put the nodes behind sticky sessions or a proxy-level limiter
if it matters. Behind a reverse proxy, run uvicorn with ``--proxy-headers`` and
``--forwarded-allow-ips`` so the client address is the real one.

Settings (environment): ``OPENDIALER_LOGIN_WINDOW_S``,
``OPENDIALER_LOGIN_MAX_FAILURES_PER_USER``, ``OPENDIALER_LOGIN_MAX_FAILURES_PER_ADDRESS``.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from opendialer.core.services.errors import TooManyAttempts

WINDOW_ENV = "OPENDIALER_LOGIN_WINDOW_S"
PER_USER_ENV = "OPENDIALER_LOGIN_MAX_FAILURES_PER_USER"
PER_ADDRESS_ENV = "OPENDIALER_LOGIN_MAX_FAILURES_PER_ADDRESS"
DEFAULT_WINDOW_S = 900.0
DEFAULT_PER_USER = 5
DEFAULT_PER_ADDRESS = 20
#: Above this many tracked keys, expired ones are dropped (bounds memory under a spray).
PRUNE_ABOVE = 10_000


def _env_number(name: str, default: float, minimum: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return max(minimum, float(raw))
    except ValueError:
        return default


@dataclass
class LoginThrottle:
    window_s: float = DEFAULT_WINDOW_S
    per_user: int = DEFAULT_PER_USER
    per_address: int = DEFAULT_PER_ADDRESS
    clock: Callable[[], float] = time.monotonic
    _failures: dict[tuple[str, str], deque[float]] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> LoginThrottle:
        return cls(
            window_s=_env_number(WINDOW_ENV, DEFAULT_WINDOW_S, 1),
            per_user=int(_env_number(PER_USER_ENV, DEFAULT_PER_USER, 1)),
            per_address=int(_env_number(PER_ADDRESS_ENV, DEFAULT_PER_ADDRESS, 1)),
        )

    def _keys(self, username: str, address: str) -> list[tuple[tuple[str, str], int]]:
        return [
            (("user", username.casefold()), self.per_user),
            (("address", address), self.per_address),
        ]

    def _recent(self, key: tuple[str, str], now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def check(self, username: str, address: str) -> None:
        """Raise TooManyAttempts when the user name or the address is locked out now."""
        now = self.clock()
        for key, limit in self._keys(username, address):
            times = self._recent(key, now)
            if times is not None and len(times) >= limit:
                wait = max(1, math.ceil(times[-limit] + self.window_s - now))
                what = "this user name" if key[0] == "user" else "your address"
                raise TooManyAttempts(
                    f"too many failed log-ins for {what}: try again in {wait} s",
                    retry_after_s=wait,
                )

    def begin(self, username: str, address: str) -> float:
        """Check, then count this attempt as failed until :meth:`succeeded` says otherwise.

        Counting first means parallel attempts cannot slip past the limit while
        their passwords are being verified. Returns the attempt's time stamp.
        """
        self.check(username, address)
        now = self.clock()
        if len(self._failures) > PRUNE_ABOVE:
            for key in list(self._failures):
                self._recent(key, now)
        for key, limit in self._keys(username, address):
            self._failures.setdefault(key, deque(maxlen=limit)).append(now)
        return now

    def succeeded(self, username: str, address: str, attempt: float) -> None:
        """The attempt was right: forget the user name's failures and this attempt."""
        self._failures.pop(("user", username.casefold()), None)
        times = self._failures.get(("address", address))
        if times is not None and attempt in times:
            times.remove(attempt)
