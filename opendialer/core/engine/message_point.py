"""Voicemail drop: the tracker of a call's message point, as the engine hands it over.

A MACHINE verdict whose action is ``leave_message`` makes the platform keep listening
until the message point (``sdk.MessagePointTracker``): the AMD session's own tracker
when it offers one (``sdk.FindsMessagePoint``), else :class:`QuietLineTracker`. Either
is capped: no point within :data:`CAP_MS` of audio after the verdict and the engine
gives up — the call is hung up (AMD_HANGUP, lead status AMD, retried like any machine)
rather than a message played over a greeting that never ends (music, a talking
person taken for a machine, a mailbox menu): a message heard by nobody, or garbled
in the recording, would close the lead as MESSAGE_LEFT.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from opendialer.sdk.contracts import (
    AmdSession,
    FindsMessagePoint,
    MessagePoint,
    MessagePointKind,
    MessagePointTracker,
)

#: Audio after the verdict within which the point must be found (ms).
CAP_MS = 25_000.0
SAMPLE_RATE = 8000
#: The fallback's quiet: this long under the line's floor + QUIET_OVER_FLOOR_DB.
QUIET_MS = 2000.0
QUIET_OVER_FLOOR_DB = 6.0
_PIECE = 160  # 20 ms at 8 kHz: the fallback's unit of energy
_FLOOR_PIECES = 10  # the floor is the quietest 200 ms seen


class QuietLineTracker:
    """The fallback for a strategy without its own tracker: the line's floor is the
    quietest 200 ms heard since the verdict; the point is 2 s under the floor + 6 dB.
    A beep is just sound to it: the point comes 2 s after the beep's end."""

    def __init__(self, sample_rate: int = SAMPLE_RATE) -> None:
        self._rate = sample_rate
        self._samples = 0
        self._rest = np.zeros(0, dtype=np.float64)
        self._levels: list[float] = []
        self._floor = math.inf
        self._quiet_pieces = 0
        self._need = round(QUIET_MS / 20)
        self._point: MessagePoint | None = None

    def feed(self, pcm: npt.NDArray[np.int16]) -> MessagePoint | None:
        if self._point is not None:
            return self._point
        self._samples += len(pcm)
        x = np.concatenate((self._rest, np.asarray(pcm, dtype=np.float64).ravel()))
        piece = max(1, round(_PIECE * self._rate / SAMPLE_RATE))
        whole = len(x) // piece
        self._rest = x[whole * piece :]
        for power in (x[: whole * piece].reshape(whole, piece) ** 2).mean(axis=1).tolist():
            level = 10 * math.log10(power + 1.0)
            self._levels.append(level)
            if len(self._levels) >= _FLOOR_PIECES:
                recent = self._levels[-_FLOOR_PIECES:]
                self._floor = min(self._floor, sum(recent) / _FLOOR_PIECES)
                del self._levels[:-_FLOOR_PIECES]
            quiet = level < self._floor + QUIET_OVER_FLOOR_DB
            self._quiet_pieces = self._quiet_pieces + 1 if quiet else 0
            if self._quiet_pieces >= self._need:
                at = self._samples * 1000 / self._rate
                self._point = MessagePoint(
                    at,
                    f"quiet line {QUIET_MS / 1000:.1f} s (fallback)",
                    kind=MessagePointKind.QUIET_LINE,
                    silence_s=QUIET_MS / 1000,
                )
                return self._point
        return None


class CappedTracker:
    """A tracker that gives up (``found`` False) after ``cap_ms`` of audio."""

    def __init__(
        self, tracker: MessagePointTracker, cap_ms: float = CAP_MS, sample_rate: int = SAMPLE_RATE
    ) -> None:
        self._tracker = tracker
        self._cap_samples = cap_ms * sample_rate / 1000
        self._rate = sample_rate
        self._samples = 0
        self._point: MessagePoint | None = None

    def feed(self, pcm: npt.NDArray[np.int16]) -> MessagePoint | None:
        if self._point is not None:
            return self._point
        self._samples += len(pcm)
        point = self._tracker.feed(pcm)
        if point is None and self._samples >= self._cap_samples:
            waited = self._samples / self._rate
            point = MessagePoint(
                math.nan, f"no message point within {waited:.1f} s after the verdict", False
            )
        self._point = point
        return point


def tracker_for(session: AmdSession | None, sample_rate: int = SAMPLE_RATE) -> CappedTracker:
    """The capped tracker for a call whose AMD session said MACHINE."""
    inner: MessagePointTracker
    if isinstance(session, FindsMessagePoint):
        inner = session.message_point_tracker()
    else:
        inner = QuietLineTracker(sample_rate)
    return CappedTracker(inner, sample_rate=sample_rate)


__all__ = ["CAP_MS", "CappedTracker", "QuietLineTracker", "tracker_for"]
