"""Voicemail drop: after a MACHINE verdict, where the message starts.

The point is the end of the machine's beep when there is one, else the moment the
line has been quiet for :data:`SILENCE_AFTER_GREETING_MS` after the greeting. A
message started earlier is recorded without its first words, or not at all.

The tracker reuses the detector's own hearing instead of a second one: a *shadow*
:class:`~.detector.NumpyAmdSession` with the campaign's parameters, its deciding
rules pushed out of reach (no silence, greeting, word or analysis-time verdict; no
fax), and its per-frame trace on. It is fed the whole call so far — kept by
:class:`ListeningSession` until the verdict — so its noise floor and background are
the ones the verdict was reached with, then every later chunk. What is left for it
to decide is a beep (or a double beep, or a SIT): that ends the wait. Its trace's
voice activity gives the silence. Cost: the replay of the call so far at the verdict
(~0.0015 s of CPU per second of audio, ~10 ms for an 8 s verdict), then the
detector's usual cost per second while the greeting plays.

Why 2 s of silence: a greeting's pauses between sentences last up to ~0.7 s, and
the pause between a greeting's last word and its beep up to 1 s on the dev corpus
(some mailboxes wait longer); a point taken in that pause plays the message before
the beep, where the mailbox does not record it. A mailbox without a beep records
from the end of its greeting, so waiting longer costs the callee nothing but a
second of silence at the start of the recording.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from opendialer.sdk import AmdDecision, AmdLabel, MessagePoint, MessagePointKind

from .detector import NumpyAmdSession
from .features import FRAME_S
from .params import AmdParams

#: Quiet after the greeting before the message starts (no beep heard).
SILENCE_AFTER_GREETING_MS = 2000.0
#: Values that keep the shadow detector from deciding on anything but a tone.
_OUT_OF_REACH_MS = 1e9
_BEEPS = ("beep", "double")
#: After a beep's end, how long the line must be free of its pitch before the message
#: starts (a double beep's second tone comes 0.1 s after the first).
AFTER_BEEP_S = 0.12
#: A beep is a mailbox's only after a greeting (1 s of speech: a tone before is music,
#: a SIT or a tone at answer), and apart from it (not a note under the voice).
GREETING_BEFORE_BEEP_FRAMES = 100
QUIET_BEFORE_BEEP_FRAMES = 6
TONE_ONSET_FRAMES = 6
#: After a shadow restarted: silence is at most this far over the earlier floor.
QUIET_OVER_FLOOR_DB = 12.0
#: A chunk holding this share of its power at the beep's pitch still sounds the beep.
TONE_SHARE = 0.5


def _shadow(params: AmdParams, sample_rate: int) -> NumpyAmdSession:
    never = _OUT_OF_REACH_MS
    quiet = params.with_changes(
        initial_silence_ms=never,
        greeting_ms=never,
        after_greeting_silence_ms=never,
        long_greeting_silence_ms=never,
        total_analysis_time_ms=never,
        maximum_word_length_ms=never,
        maximum_number_of_words=0,
        fax_detection=0,
        second_utterance_ms=0,
    )
    return NumpyAmdSession(quiet, sample_rate=sample_rate, trace=True)


def _tone_share(pcm: npt.NDArray[np.float64], hz: float, rate: int) -> float:
    """The share of a chunk's power at ``hz`` (Goertzel-like: one DFT bin, Hann)."""
    n = len(pcm)
    if n < 32:
        return 0.0
    x = pcm * np.hanning(n)
    at = abs(np.dot(x, np.exp(-2j * np.pi * hz * np.arange(n) / rate))) ** 2
    # a pure tone at hz: |X|^2 = A^2 n^2 / 16 and sum(x^2) = 3 A^2 n / 16 (Hann)
    return float(min(1.0, at / (float(np.dot(x, x)) * n / 3 + 1e-9)))


class NumpyMessagePointTracker:
    """:class:`opendialer.sdk.MessagePointTracker` of the ``numpy`` strategy."""

    def __init__(
        self,
        params: AmdParams,
        sample_rate: int,
        heard: list[npt.NDArray[np.int16]],
        verdict: AmdDecision | None = None,
        silence_ms: float | None = None,
    ) -> None:
        silence_ms = SILENCE_AFTER_GREETING_MS if silence_ms is None else silence_ms
        self._params = params
        self._rate = sample_rate
        self._silence_frames = round(silence_ms / 1000 / FRAME_S)
        self._shadow = _shadow(params, sample_rate)
        self._shadow_from_s = 0.0  # where the shadow started listening (s since answer)
        self._spoken = 0  # frames of speech heard by the shadows before this one
        #: The line's floor (dB) learnt by the shadows before this one: a fresh shadow
        #: that starts mid-greeting (over a music bed, in babble) takes the sound for
        #: its background, so its silence must also be quiet by the earlier floor.
        self._floor_db = math.inf
        self._samples = 0
        self._last: npt.NDArray[np.int16] = np.zeros(0, dtype=np.int16)
        self._point: MessagePoint | None = None
        #: A beep was heard: (its pitch, when the message may start, what it was, when
        #: it ended).
        self._beep: tuple[float, float, str, float] | None = None
        self._verdict = verdict
        if heard:
            self.feed(np.concatenate(heard))

    @property
    def heard_s(self) -> float:
        return self._samples / self._rate

    def feed(self, pcm: npt.NDArray[np.int16]) -> MessagePoint | None:
        if self._point is not None:
            return self._point
        self._samples += len(pcm)
        self._last = pcm[-self._rate // 50 :]  # the last 20 ms heard
        if self._beep is not None:
            self._point = self._after_beep(pcm)
            return self._point
        decided = self._shadow.feed(pcm)
        self._point = self._tone_point() if decided is not None else self._silence_point()
        return self._point

    def _restart(self) -> None:
        """Listen afresh from here (the floor is learnt again, the silence count starts
        over): the shadow decided on something that is not where a message starts."""
        trace = self._shadow.trace
        assert trace is not None
        self._spoken += sum(trace.speech)
        if trace.floor_db:  # the line's floor as the first shadows knew it
            self._floor_db = min(self._floor_db, trace.floor_db[-1])
        self._shadow = _shadow(self._params, self._rate)
        self._shadow_from_s = self.heard_s

    def _tone_point(self) -> MessagePoint | None:
        trace = self._shadow.trace
        assert trace is not None
        start, end, hz, kind = trace.tones[-1] if trace.tones else (0.0, 0.0, 0.0, "")
        first = round(start / FRAME_S)
        # (a tone's first frames pass for speech until the tracker holds it)
        before = trace.speech[: max(0, first - TONE_ONSET_FRAMES)]
        greeting = self._spoken + sum(before) >= GREETING_BEFORE_BEEP_FRAMES
        apart = not any(before[-QUIET_BEFORE_BEEP_FRAMES:])
        if kind in _BEEPS and greeting and apart:
            ended = self._shadow_from_s + end
            why = f"{kind} {hz:.0f} Hz ended at {ended:.2f} s"
            self._beep = (hz, ended + AFTER_BEEP_S, why, ended)
            return self._after_beep(self._last)  # (the verdict may be in its second tone)
        # A tone before any greeting (music, a tone at answer) or a SIT (a carrier's
        # announcement may follow, then a mailbox): keep listening.
        self._restart()
        return None

    def _after_beep(self, pcm: npt.NDArray[np.int16]) -> MessagePoint | None:
        """A beep ended: wait AFTER_BEEP_S for a second one at its pitch (a double beep
        is two tones 0.1 s apart); while the pitch sounds, the wait goes on."""
        assert self._beep is not None
        hz, ready_at, why, ended = self._beep
        if len(pcm) and _tone_share(pcm.astype(np.float64), hz, self._rate) >= TONE_SHARE:
            ready_at = self.heard_s + AFTER_BEEP_S
            self._beep = (hz, ready_at, why, ended)
        if self.heard_s + 1e-9 < ready_at:
            return None
        return MessagePoint(
            self.heard_s * 1000, why, kind=MessagePointKind.BEEP, event_s=ended, beep_hz=hz
        )

    def _silence_point(self) -> MessagePoint | None:
        shadow = self._shadow
        trace = shadow.trace
        assert trace is not None
        if shadow.tones.pending:  # a tone being judged (a beep?) is not silence
            return None
        speech = trace.speech
        n = self._silence_frames
        if len(speech) < n or any(speech[-n:]):
            return None
        # Sound over the speech threshold that is not speech (a music bed, tones) is
        # not the silence after a greeting either.
        if any(e > th for e, th in zip(trace.energy_db[-n:], trace.threshold_db[-n:], strict=True)):
            return None
        if any(e > self._floor_db + QUIET_OVER_FLOOR_DB for e in trace.energy_db[-n:]):
            return None
        last = len(speech) - 1 - speech[::-1].index(True) if True in speech else -1
        greeting_end = self._shadow_from_s + (last + 1) * FRAME_S if last >= 0 else None
        ended = (
            f"greeting ended at {greeting_end:.2f} s" if greeting_end is not None else "no speech"
        )
        quiet = self._silence_frames * FRAME_S
        return MessagePoint(
            self.heard_s * 1000,
            f"silence {quiet:.1f} s ({ended})",
            kind=MessagePointKind.SILENCE,
            event_s=greeting_end,
            silence_s=quiet,
        )


class ListeningSession(NumpyAmdSession):
    """The strategy's session: the detector, keeping the audio it hears until its
    verdict so a message point tracker can start from it
    (:class:`opendialer.sdk.FindsMessagePoint`)."""

    def __init__(self, params: AmdParams, sample_rate: int = 8000) -> None:
        super().__init__(params, sample_rate=sample_rate)
        self._heard: list[npt.NDArray[np.int16]] = []

    def feed(self, pcm: npt.NDArray[np.int16]) -> AmdDecision | None:
        if self.decision is not None:
            return self.decision
        self._heard.append(np.asarray(pcm, dtype=np.int16).ravel())
        decision = super().feed(pcm)
        if decision is not None and decision.label is not AmdLabel.MACHINE:
            self._heard = []  # only a machine is left a message
        return decision

    def message_point_tracker(self) -> NumpyMessagePointTracker:
        heard, self._heard = self._heard, []
        return NumpyMessagePointTracker(self.params, self.sample_rate, heard, self.decision)


__all__ = ["SILENCE_AFTER_GREETING_MS", "ListeningSession", "NumpyMessagePointTracker"]
