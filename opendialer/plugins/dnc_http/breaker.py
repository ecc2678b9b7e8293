"""A circuit breaker: stop hammering a service that keeps failing, probe it now and then.

closed ── ``failure_threshold`` failures in a row ──► open
open   ── ``reset_after_s`` later ──► half-open: one probe call is let through
half-open ── probe succeeds ──► closed;  probe fails ──► open again

While open, calls fail at once (no network wait), which keeps the engine's
tick fast while the schedule shows DNC_OUT_OF_SERVICE.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class BreakerOpen(Exception):
    """Refused without trying: the breaker is open (or a probe is already out)."""


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_after_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_after_s <= 0:
            raise ValueError("failure_threshold must be >= 1 and reset_after_s > 0")
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_out = False
        self.last_failure = ""

    @property
    def state(self) -> BreakerState:
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self.reset_after_s
        ):
            return BreakerState.HALF_OPEN
        return self._state

    def before_call(self) -> None:
        """Raise :class:`BreakerOpen` unless a call may go out now."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.HALF_OPEN and not self._probe_out:
            self._state = BreakerState.HALF_OPEN
            self._probe_out = True
            return
        wait = max(0.0, self.reset_after_s - (self._clock() - self._opened_at))
        raise BreakerOpen(
            f"circuit open after {self._failures} failure(s) in a row "
            f"(last: {self.last_failure}); next probe in {wait:.1f} s"
        )

    def record_success(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._probe_out = False
        self.last_failure = ""

    def record_failure(self, reason: str) -> None:
        self._failures += 1
        self.last_failure = reason
        probe_failed = self._probe_out
        self._probe_out = False
        if probe_failed or self._failures >= self.failure_threshold:
            self._state = BreakerState.OPEN
            self._opened_at = self._clock()

    def abandon(self) -> None:
        """The call ended with neither verdict (cancelled): let the next probe go out."""
        self._probe_out = False
