"""The streaming detector: one :class:`NumpyAmdSession` per answered call.

Audio is cut into 10 ms frames and processed in blocks of ``BLOCK_FRAMES``
frames: the block's features are computed at once with numpy
(:mod:`.features`), then a small per-frame state machine made of plain float
arithmetic reads them. Each frame's features depend only on its own samples
and the 22 ms before it, so the verdict and its time are the same however the
audio is chunked (a verdict is reported at the end of the block in which it
was reached — the moment ``feed`` can return it).

One module (~460 lines) on purpose: it is one state machine whose per-frame step
(``_frames``) reads and writes the whole state (floor, background, greeting
words, tones) at once; the parts that stand alone already live apart
(:mod:`.features`, :mod:`.tones`, :mod:`.resample`, :mod:`.params`).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from opendialer.sdk import AmdDecision, AmdLabel

from .features import FRAME, FRAME_S, HOP_TAIL, POWER_EPS, block_features
from .model import AmdModel, SpeechStats, Word, greeting_features, shipped_model
from .params import AmdParams
from .resample import TARGET_RATE, StreamResampler
from .tones import CANDIDATE_PURITY, ToneTracker, ToneVerdict

BLOCK_FRAMES = 10  # 100 ms: numpy call overhead per block is what costs; latency stays low
BLOCK = BLOCK_FRAMES * FRAME
PASS = 5 * BLOCK  # the features of up to 5 blocks per numpy pass: the platform feeds 200 ms
MAX_LOST_FRAMES = 3  # RTP packets are 20 ms; a frame more for jitter
INIT_FRAMES = 5  # the first 50 ms only teach the noise floor
SMOOTH = 12  # the VAD looks at 120 ms energy: syllables merge, noise estimates steady
FLOOR_CHUNK = 5  # frames per entry of the floor's minimum history
FLOOR_WINDOW_BLOCKS = 50  # the floor is the quietest 120 ms energy of the last 2.5 s
# The background (every frame that is not part of a word): a running 90th
# percentile of its 120 ms energy (a quantile tracker, in dB). Steady white/pink
# noise sits ~1-2 dB over its minimum, babble 10-15 dB: the threshold follows it.
BG_QUANTILE = 0.9
BG_STEP_DB = 0.3  # per frame; ~0.5 s to learn a babble line from scratch
BG_GUARD_DB = 1.5  # threshold = max(floor + margin, background p90 + guard)
BG_INIT_DB = 2.0  # the first background frame's level + this starts the tracker
BG_UNKNOWN = -1000.0
SPEECH_REL_DB = 15.0  # frames this far below the callee's speech peak are background
SPEECH_REF_DECAY_DB = 0.02  # per frame: the peak forgets 2 dB a second
# The line's first START_FRAMES after INIT_FRAMES are looked at again at their end: a
# start that swings over START_SPREAD_DB (p90 - p10 of the 120 ms energy) is a voice
# (early media — a greeting already playing at answer, the 183's audio then the 200 OK —
# or a callee who spoke in the first 350 ms). The background learnt meanwhile took that
# voice's quieter syllables for the line; it restarts from the start's valleys (p10), so
# the syllables stand over it. A steady start (noise, babble, silence) keeps what it learnt.
START_FRAMES = 30
START_SPREAD_DB = 12.0
# ... and when the line's very first 50 ms (INIT_FRAMES) are already that voice — at
# least VOICE_AT_ANSWER_DB over the silence threshold and within
# VOICE_AT_ANSWER_BELOW_PEAK_DB of the start's loud part (p90) — nobody picked up and
# spoke: people speak after they answer, a recording was playing before. Such a
# greeting is never called HUMAN. (Against the start's median instead, a loud line
# before a "¿Quién es?" at 0.2 s passed for that voice: a person hung up on.)
VOICE_AT_ANSWER_DB = 15.0
VOICE_AT_ANSWER_BELOW_PEAK_DB = 6.0
# A loud start without valleys in its first 350 ms (one long word, or words run together)
# is looked at again until ``answer_valley_look_ms``: once the line falls
# ``answer_valley_db`` below its first 50 ms, those frames were a voice over a quiet
# line (a babble talker or noise at answer is not that far above the line's own dips);
# and they must be the voice's loud part: no more than ANSWER_BELOW_PEAK_DB under the
# loudest 120 ms heard since (a person's louder "Hello?" after a noisy start is not).
ANSWER_BELOW_PEAK_DB = 12.0
# A line the detector never heard speak in by initial_silence_ms, though a voice played
# from the start (the background learnt the voice itself: no valley deep enough in
# noise, or a quiet recording), is told from a silent line by how its 120 ms energy
# swings within SWING_WINDOW frames (every SWING_HOP): the median of their p90 - p10.
# Syllables swing 6-20 dB even 5 dB over noise; white/pink/line noise 1-3 dB (a level
# step moves one window), babble 4-6.5 dB (train split, 2026-12-08).
SWING_WINDOW = 50
SWING_HOP = 25
GREETING_BEFORE_FAX_FRAMES = 100  # a tone after 1 s of greeting is a beep, not a fax
WORD_EXCESS_DB = 3.0  # a word's loudest 120 ms clears the threshold by this: noise blips do not
# A "word" as long as the floor's window, half of it within MEDIAN_EXCESS_DB of the
# threshold once the floor has caught up and none of it LINE_RISE_PEAK_DB over, is a
# rise of the line's noise (a voice's syllables stand well above), not a greeting
LINE_RISE_FRAMES = 200
MEDIAN_EXCESS_DB = 1.5
LINE_RISE_PEAK_DB = 6.0
RESTART_DB = 10.0  # a word this much louder than all before restarts the greeting
# ... and so does speech 6 dB louder than anything in the greeting 150 ms or more
# before it, once the greeting is 300 ms old: the background becomes at least the
# old greeting's peak minus 6 dB
RESTART_LOUDER_DB = 6.0
RESTART_LAG = 15
RESTART_MIN_FRAMES = 30
RESTART_BG_BELOW_DB = 6.0
RESTART_MAX_OLD_DB = 20.0  # ... if the old greeting peaked this close to the floor


class GreetingWord(NamedTuple):
    """A finished word of the greeting (frames), with its levels' median taken once."""

    start: int
    last: int
    peak_db: float
    levels: list[float]  # its frames' 120 ms energies (dB), to teach the background
    median_db: float  # of ``levels``; +inf when there are none

    @classmethod
    def of(cls, start: int, last: int, peak_db: float, levels: list[float]) -> GreetingWord:
        median = sorted(levels)[len(levels) // 2] if levels else math.inf
        return cls(start, last, peak_db, levels, median)

    def is_line(self, threshold: float) -> bool:
        """No louder than the line, now that it is better known."""
        if self.peak_db < threshold + WORD_EXCESS_DB:
            return True  # babble taken for a voice
        return (  # a rise of the line's noise that the floor has caught up with
            self.last - self.start + 1 >= LINE_RISE_FRAMES
            and self.peak_db < threshold + LINE_RISE_PEAK_DB
            and self.median_db < threshold + MEDIAN_EXCESS_DB
        )


@dataclass
class Trace:
    """Per-frame state kept for plots and ``amd listen`` (only when asked for)."""

    energy_db: list[float] = field(default_factory=list)
    floor_db: list[float] = field(default_factory=list)
    threshold_db: list[float] = field(default_factory=list)
    speech: list[bool] = field(default_factory=list)
    #: (start s, end s, Hz, kind) of every judged tone
    tones: list[tuple[float, float, float, str]] = field(default_factory=list)
    #: (s, P(machine)) at the end of every block once a greeting has started
    scores: list[tuple[float, float]] = field(default_factory=list)


def _s(frames: float) -> str:
    return f"{frames * FRAME_S:.2f}s"


def syllable_swing(levels: list[float], audible_db: float) -> float:
    """The median over half-second windows of the 120 ms energies' p90 - p10 (dB); a
    window whose loud part (p90) is not over ``audible_db`` (the silence threshold)
    swings 0: faint noise is not syllables however it varies. 0 for less than one window."""
    spreads = []
    for start in range(0, len(levels) - SWING_WINDOW + 1, SWING_HOP):
        window = sorted(levels[start : start + SWING_WINDOW])
        high = window[(len(window) * 9) // 10]
        spreads.append(high - window[len(window) // 10] if high > audible_db else 0.0)
    if not spreads:
        return 0.0
    spreads.sort()
    return spreads[len(spreads) // 2]


class NumpyAmdSession:
    """Streaming AMD for one call (see :class:`opendialer.sdk.AmdSession`)."""

    def __init__(
        self,
        params: AmdParams,
        sample_rate: int = TARGET_RATE,
        trace: bool = False,
        model: AmdModel | None = None,
    ):
        self.params = params
        self.sample_rate = sample_rate
        self._resampler = StreamResampler(sample_rate) if sample_rate != TARGET_RATE else None
        self.trace = Trace() if trace else None
        ms = 1.0 / (1000 * FRAME_S)  # frames per millisecond
        p = params
        self._initial_silence = p.initial_silence_ms * ms
        self._greeting = p.greeting_ms * ms
        self._after = p.after_greeting_silence_ms * ms
        self._short = p.short_greeting_ms * ms
        self._long_after = p.long_greeting_silence_ms * ms
        self._total = p.total_analysis_time_ms * ms
        self._min_word = p.minimum_word_length_ms * ms
        self._between = p.between_words_silence_ms * ms
        self._max_words = int(p.maximum_number_of_words)
        self._max_word = p.maximum_word_length_ms * ms
        self._abs_power = (p.silence_threshold * 1.25) ** 2  # mean |x| -> RMS (Gaussian-ish)
        self._abs_db = 10.0 * math.log10(max(self._abs_power, POWER_EPS))
        self._line_heard = False  # a frame that is not a tone (silence, noise, speech)
        # the learned model (model.py), asked where the timing rules would decide
        self._model = (model or shipped_model()) if p.model else None
        self._model_machine = p.model_machine
        self._model_human = p.model_human
        self._model_threshold = p.model_threshold
        self._model_wait = p.model_wait_ms * ms
        self._model_short_wait = p.model_short_wait_ms * ms
        self._model_greeting_max = p.model_greeting_max_ms * ms
        self._model_silent_machine = p.model_silent_machine
        # a word after this much silence following the greeting is a second utterance
        self._second_gap = p.second_utterance_ms * ms if p.second_utterance_ms else math.inf
        self._word_gap = -1  # silence before the current word, once a greeting runs
        self._score: tuple[int, float, str] = (-100, 0.0, "")  # (frame, P(machine), why)
        #: training (bench/amd_train.py): the features at every point where a timing rule
        #: would decide, (frame, "silence" | "long", features), and no such verdict
        self.snapshots: list[tuple[int, str, list[float]]] | None = None
        self._sp_frames = 0  # sums over the greeting's speech frames (model.SpeechStats)
        self._sp_level = self._sp_level2 = self._sp_purity = self._sp_hz = self._sp_hz2 = 0.0
        self._margin = p.speech_margin_db
        self.tones = ToneTracker(p)

        #: audio not yet processed: pieces kept apart until a block is complete (the
        #: platform feeds 20 ms at a time; concatenating each one would cost more)
        self._pieces: list[npt.NDArray[np.float64]] = []
        self._queued = 0
        self._tail = np.zeros(HOP_TAIL)
        self._frame = 0  # frames processed
        self._decision: AmdDecision | None = None
        # noise floor
        self._floor = 0.0
        self._zeros = 0  # consecutive all-zero frames
        self._bg_hi = BG_UNKNOWN  # the background's 90th percentile energy (dB)
        self._init_levels: list[float] = []  # the first INIT_FRAMES' 120 ms energies
        self._start_levels: list[float] = []  # the START_FRAMES' after them
        self._voice_at_answer = False
        #: why the audio was taken for a voice at answer (the verdict's reason)
        self._answer_why = ""
        # the first 50 ms' level while a valley under it may still confirm a voice at answer
        self._answer_level: float | None = None
        self._answer_peak = -100.0
        # speech this loud after a voice at answer was the callee over a noisy start
        self._answer_revoke_db = math.inf
        self._answer_look = p.answer_valley_look_ms * ms
        self._answer_valley = p.answer_valley_db if p.answer_valley_db else math.inf
        self._answer_swing = p.answer_swing_db if p.answer_swing_db else math.inf
        #: the line's 120 ms energies up to the initial silence verdict (how much they
        #: swing tells a voice the background learnt from a noisy line; see SWING_*)
        self._start_swing: list[float] = []
        self._word_frames: list[float] = []  # the current word's frame energies (dB)
        #: finished words of the greeting: (start, last frame, peak dB, frame energies)
        self._greeting_words: list[GreetingWord] = []
        self._tone_seen = False
        self._greeting_max = -100.0  # loudest 120 ms of the greeting, RESTART_LAG frames ago
        self._lagged: deque[float] = deque()  # confirmed speech energies of the last frames
        self._speech_ref = -100.0  # peak level of the callee's speech (decaying)
        self._word_peak = -100.0
        self._word_excess = 0.0
        self._block_min = 1e9
        self._mins: deque[float] = deque(maxlen=FLOOR_WINDOW_BLOCKS)
        self._mins_low = 1e9  # min(self._mins)
        self._recent: list[float] = []  # last SMOOTH frame powers (lost = digital silence)
        self._was_speech = False
        # words and greeting
        self._word_start = -1
        self._word_last = -1
        self._word_confirmed = False
        self._greeting_start = -1
        self._speech_last = -1
        self._words = 0
        self._activity = False

    # -- public ------------------------------------------------------------

    @property
    def decision(self) -> AmdDecision | None:
        return self._decision

    def describe(self) -> str:
        """The state so far in the verdicts' words (``initial_silence=… greeting=… …``)."""
        if self._decision is not None:
            return self._decision.reasons
        if self._model is not None and self._greeting_start >= 0:
            p, why = self._model.score(self.features(self._frame - 1))
            return self._why(self._frame - 1, f"model P(machine)={p:.2f} ({why})")
        return self._why(self._frame - 1)

    def feed(self, pcm: npt.NDArray[np.int16]) -> AmdDecision | None:
        if self._decision is not None:
            return self._decision
        x = np.asarray(pcm, dtype=np.float64).ravel()
        if self._resampler is not None:
            x = self._resampler.process(x)
        self._pieces.append(x)
        self._queued += len(x)
        if self._queued < BLOCK:
            return None
        pending = self._take_pending()
        usable = (len(pending) // BLOCK) * BLOCK
        start = 0
        while start < usable and self._decision is None:
            end = min(start + PASS, usable)
            self._process(pending[start:end], (end - start) // FRAME)
            start = end
        if self._decision is None and start < len(pending):
            self._pieces, self._queued = [pending[start:]], len(pending) - start
        return self._decision

    def _take_pending(self) -> npt.NDArray[np.float64]:
        pieces = self._pieces
        pending = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        self._pieces, self._queued = [], 0
        return pending

    def finish(self) -> AmdDecision:
        if self._decision is not None:
            return self._decision
        pending = self._take_pending() if self._pieces else np.zeros(0)
        whole = (len(pending) // FRAME) * FRAME
        if whole:
            self._process(pending[:whole], whole // FRAME)
        if self._decision is None:
            self._decision = self._end_of_audio()
        return self._decision

    # -- processing --------------------------------------------------------

    def _process(self, samples: npt.NDArray[np.float64], n_frames: int) -> None:
        """The frames' features in one numpy pass, then the state machine block by block:
        a verdict is reported at the end of its block, as if the blocks came one by one."""
        feats = block_features(self._tail, samples)
        self._tail = samples[len(samples) - HOP_TAIL :].copy()
        power, hz = feats.power.tolist(), feats.peak_hz.tolist()
        fund, purity = feats.fundamental.tolist(), feats.purity.tolist()
        for start in range(0, n_frames, BLOCK_FRAMES):
            end = min(start + BLOCK_FRAMES, n_frames)
            block_end = self._frame + end - start
            verdict = self._frames(power, hz, fund, purity, start, end)
            if verdict is not None:
                label, reasons = verdict
                self._decision = AmdDecision(label, round(block_end * FRAME_S * 1000, 1), reasons)
                return
            if self.trace is not None and self._model is not None and self._greeting_start >= 0:
                # not through _scored's cache: a plot must not change the verdict
                p, _ = self._model.score(self.features(block_end - 1))
                self.trace.scores.append((block_end * FRAME_S, p))

    def _frames(
        self,
        power: list[float],
        hz: list[float],
        fund: list[float],
        purity: list[float],
        start: int,
        end: int,
    ) -> tuple[AmdLabel, str] | None:
        """Frames ``start`` to ``end`` (exclusive) of the features, one at a time."""
        trace = self.trace
        tones = self.tones
        for i in range(start, end):
            t = self._frame
            self._frame += 1
            pw = power[i]
            lost = pw < POWER_EPS
            if lost:
                self._zeros += 1
                # up to MAX_LOST_FRAMES of zeros are a lost packet and do not count
                # in the energy; longer digital silence is a silent line: 0 dB
                pw = 0.0 if self._zeros <= MAX_LOST_FRAMES else 1.0
            else:
                self._zeros = 0
            recent = self._recent
            recent.append(pw)
            if len(recent) > SMOOTH:
                del recent[0]
            heard = len(recent) - recent.count(0.0)
            es = 10.0 * math.log10(sum(recent) / heard) if heard else 0.0
            # conditionals, not min()/max(): this loop runs 100 times a second per call
            threshold = self._floor + self._margin
            if self._bg_hi + BG_GUARD_DB > threshold:
                threshold = self._bg_hi + BG_GUARD_DB
            if t < INIT_FRAMES:
                if heard:
                    self._init_levels.append(es)
                if t == INIT_FRAMES - 1 and len(self._init_levels) == INIT_FRAMES:
                    first = min(self._init_levels)
                    if first > self._abs_db + VOICE_AT_ANSWER_DB:
                        self._answer_level = first  # loud from answer: look for a valley
            elif t < INIT_FRAMES + START_FRAMES:
                if heard:
                    self._start_levels.append(es)
                if t == INIT_FRAMES + START_FRAMES - 1:
                    self._look_at_the_start()

            # -- voice activity, noise floor -----------------------------------
            if lost and self._was_speech and self._zeros <= MAX_LOST_FRAMES:
                speech = True  # a lost packet (20 ms of zeros) inside speech
            else:
                speech = (
                    t >= INIT_FRAMES
                    and es > threshold
                    and es > self._speech_ref - SPEECH_REL_DB
                    and pw > self._abs_power
                )
            # noise floor: minimum of the smoothed energy over the last FLOOR_WINDOW
            if es < self._block_min and heard:
                self._block_min = es
            if t % FLOOR_CHUNK == FLOOR_CHUNK - 1:
                self._mins.append(self._block_min)
                self._mins_low = min(self._mins)  # once per chunk, not per frame
                self._block_min = 1e9
            self._floor = self._mins_low if self._mins_low < self._block_min else self._block_min
            if self._answer_level is not None:
                self._look_for_a_valley(t, es)
            if (
                t < self._initial_silence
                and self._greeting_start < 0
                and heard == len(recent)
                and self._zeros == 0
                and 1.0 not in recent
            ):  # sound only: gaps of digital silence (suppression, lost packets) swing too
                self._start_swing.append(es)
            if es > self._answer_revoke_db:
                # much louder than the start: that was the room, this is the callee
                self._voice_at_answer = False
                self._answer_revoke_db = math.inf
                if self._bg_hi < self._answer_bg:
                    self._bg_hi = self._answer_bg  # what it had learnt was the room after all

            # -- tones (beeps, SIT, fax) -----------------------------------------
            if not self._line_heard and not lost and purity[i] < CANDIDATE_PURITY:
                self._line_heard = True
            # A tone from the first frame (CED at answer) would be its own floor: until
            # something else is heard, the absolute threshold stands in for the floor.
            tone_floor = self._floor if self._line_heard else min(self._floor, self._abs_db)
            tone = tones.frame(
                t, None if lost else 10.0 * math.log10(pw), hz[i], fund[i], purity[i], tone_floor
            )
            if tones.holding:
                speech = False  # a tone being tracked is not speech
                self._activity = True
                self._tone_seen = True
            elif not lost and t >= INIT_FRAMES and not tones.open:
                # what is not a word teaches the background; a word's frames wait
                # until we know whether it was one (or whether it stays one)
                if speech or self._word_start >= 0:
                    self._word_frames.append(es)
                else:
                    self._learn_background(es)
            self._was_speech = speech
            self._speech_ref -= SPEECH_REF_DECAY_DB
            if trace is not None:
                trace.energy_db.append(es)
                trace.floor_db.append(self._floor)
                trace.threshold_db.append(threshold)
                trace.speech.append(speech)
            if tone is not None:
                verdict = self._tone_verdict(tone)
                if verdict is not None:
                    return verdict

            # -- words -------------------------------------------------------------
            if speech:
                if self._word_start < 0:
                    self._word_start = t
                    self._word_confirmed = False
                    self._word_gap = t - self._speech_last - 1 if self._greeting_start >= 0 else -1
                    self._word_peak = es
                    self._word_excess = es - threshold
                else:
                    if es > self._word_peak:
                        self._word_peak = es
                    if es - threshold > self._word_excess:
                        self._word_excess = es - threshold
                self._word_last = t
                length = t - self._word_start + 1
                if self._greeting_start >= 0:
                    self._sp_frames += 1
                    self._sp_level += es
                    self._sp_level2 += es * es
                    self._sp_purity += purity[i]
                    self._sp_hz += hz[i]
                    self._sp_hz2 += hz[i] * hz[i]
                if (
                    not self._word_confirmed
                    and length >= self._min_word
                    and self._word_excess >= WORD_EXCESS_DB
                ):
                    self._word_confirmed = True
                    self._words += 1
                    self._activity = True
                    if self._greeting_start < 0 or self._word_peak > self._speech_ref + RESTART_DB:
                        # first word, or a voice far louder than what came before:
                        # the earlier "speech" was background (babble); start over
                        self._greeting_start = self._word_start
                        for word in self._greeting_words:
                            for level in word.levels:
                                self._learn_background(level)
                        self._greeting_words.clear()
                        self._words = 1
                        self._greeting_max = -100.0
                        self._lagged.clear()
                        self._reset_speech_stats()
                    elif self._word_gap >= self._second_gap:
                        verdict = self._judge_second_utterance(t)
                        if verdict is not None:
                            return verdict
                if self._word_confirmed and es > self._speech_ref:
                    self._speech_ref = es
                if self._word_confirmed and self._greeting_start >= 0:
                    if (
                        es > self._greeting_max + RESTART_LOUDER_DB
                        and self._greeting_max < self._floor + RESTART_MAX_OLD_DB
                        and t - self._greeting_start >= RESTART_MIN_FRAMES
                    ):
                        self._restart_greeting(t)
                    self._lagged.append(es)
                    if len(self._lagged) > RESTART_LAG:
                        self._greeting_max = max(self._greeting_max, self._lagged.popleft())
                if self._word_confirmed or (self._greeting_start >= 0 and length >= self._min_word):
                    # a quieter word inside a greeting that already started still
                    # keeps it going (low SNR), though it could not start one
                    self._speech_last = t
                if length > self._max_word:
                    return AmdLabel.MACHINE, self._why(
                        t, f"word={_s(length)} > maximum_word_length"
                    )
            elif self._word_start >= 0 and t - self._word_last > self._between:
                if self._word_confirmed:
                    self._greeting_words.append(
                        GreetingWord.of(
                            self._word_start, self._word_last, self._word_peak, self._word_frames
                        )
                    )
                else:
                    for level in self._word_frames:  # not a word: it was the line
                        self._learn_background(level)
                self._word_frames = []
                self._word_start = -1
            if self._greeting_words and self._word_start < 0:
                self._forget_background_words(threshold)

            # -- decisions ---------------------------------------------------------
            if self._greeting_start >= 0:
                span = self._speech_last - self._greeting_start + 1
                if span > self._greeting:
                    verdict = self._judge_long(t, span)
                    if verdict is not None:
                        return verdict
                if self._max_words and self._words >= self._max_words:
                    return AmdLabel.MACHINE, self._why(t, "> maximum_number_of_words")
                silence = t - self._speech_last
                need = self._after if span <= self._short else self._long_after
                if silence >= need and self._word_start < 0 and not tones.pending:
                    wait = self._model_wait if span > self._short else self._model_short_wait
                    verdict = self._judge_silence(t, silence - need, wait)
                    if verdict is not None:
                        return verdict
            elif not self._activity and t + 1 >= self._initial_silence:
                swing = syllable_swing(self._start_swing, self._abs_db)
                if swing >= self._answer_swing:
                    return AmdLabel.MACHINE, (
                        f"voice_at_answer (a voice from the start that never stood over the "
                        f"background it taught, {swing:.0f} dB syllable swings by {_s(t + 1)}: "
                        "a recording playing before the answer)"
                    )
                return AmdLabel.SILENCE, f"initial_silence={_s(t + 1)} (no speech, no tone)"
            if t + 1 >= self._total:
                return AmdLabel.NOTSURE, self._why(t, "total_analysis_time reached")
        return None

    def _learn_background(self, level: float) -> None:
        if self._bg_hi == BG_UNKNOWN:
            self._bg_hi = level + BG_INIT_DB
        elif level > self._bg_hi:
            self._bg_hi += BG_STEP_DB * BG_QUANTILE
        else:
            self._bg_hi -= BG_STEP_DB * (1.0 - BG_QUANTILE)

    def _look_at_the_start(self) -> None:
        """A voice at the line's start restarts the background (see START_FRAMES)."""
        if not self._start_levels:
            return
        ordered = sorted(self._start_levels)
        low = ordered[len(ordered) // 10]
        high = ordered[(len(ordered) * 9) // 10]
        if high - low > START_SPREAD_DB:
            self._bg_hi = low + BG_INIT_DB  # a voice at answer: the line is its valleys
            first = min(self._init_levels, default=-100.0)
            self._voice_at_answer = (
                first > self._abs_db + VOICE_AT_ANSWER_DB
                and first >= high - VOICE_AT_ANSWER_BELOW_PEAK_DB
            )
            if self._voice_at_answer:
                self._answer_why = (
                    f"voice_at_answer (voiced from the first 50 ms, {high - low:.0f} dB swings "
                    f"by {_s(INIT_FRAMES + START_FRAMES)})"
                )

    def _look_for_a_valley(self, t: int, es: float) -> None:
        """A line loud from answer that then falls far below it was a voice at answer
        (see ANSWER_BELOW_PEAK_DB): the background restarts from the valley."""
        assert self._answer_level is not None
        if es > self._answer_peak:
            self._answer_peak = es
        if t >= self._answer_look or self._voice_at_answer:
            self._answer_level = None
            return
        first = self._answer_level
        if first - self._floor < self._answer_valley:
            return
        self._answer_level = None
        if first < self._answer_peak - ANSWER_BELOW_PEAK_DB:
            return  # something much louder came after the start: the start was the line
        self._voice_at_answer = True
        self._answer_revoke_db = first + ANSWER_BELOW_PEAK_DB
        self._answer_why = (
            f"voice_at_answer (voiced from the first 50 ms, {first - self._floor:.0f} dB over "
            f"the line's quiet at {_s(t)})"
        )
        self._answer_bg = self._bg_hi
        if self._bg_hi > self._floor + BG_INIT_DB:
            self._bg_hi = self._floor + BG_INIT_DB  # it learnt the voice: the line is the valley

    def _restart_greeting(self, t: int) -> None:
        """A voice far louder than the "greeting" so far: that was the room (babble, a TV)."""
        self._bg_hi = max(self._bg_hi, self._greeting_max - RESTART_BG_BELOW_DB)
        self._greeting_start = max(self._word_start, t - SMOOTH)
        self._greeting_words.clear()
        self._words = 1
        self._greeting_max = -100.0
        self._lagged.clear()
        self._reset_speech_stats()

    def _forget_background_words(self, threshold: float) -> None:
        """Drop the greeting's first words while they are the line
        (:meth:`GreetingWord.is_line`); they teach the background."""
        words = self._greeting_words
        if not words[0].is_line(threshold):
            return
        while words and words[0].is_line(threshold):
            for level in words.pop(0).levels:
                self._learn_background(level)
        if words:
            self._greeting_start = words[0].start
            self._words = len(words)
            self._speech_ref = self._greeting_max = max(w.peak_db for w in words)
        else:
            self._greeting_start = self._speech_last = -1
            self._words = 0
            self._speech_ref = self._greeting_max = -100.0
            self._lagged.clear()
            self._activity = self._tone_seen

    def _tone_verdict(self, tone: ToneVerdict) -> tuple[AmdLabel, str] | None:
        if self.trace is not None:
            self.trace.tones.append((tone.start_s, tone.end_s, tone.hz, tone.kind))
        # a fax does not talk: a tone after a real greeting (1 s or more) is a beep
        speech_before = (
            0 <= self._greeting_start < tone.start_frame - 3
            and self._speech_last - self._greeting_start >= GREETING_BEFORE_FAX_FRAMES
        )
        if tone.kind in ("cng", "ced") and self.params.fax_detection and not speech_before:
            name = "CNG" if tone.kind == "cng" else "CED"
            return AmdLabel.FAX, f"fax {name} {tone.hz:.0f} Hz at {tone.start_s:.2f} s"
        if tone.kind == "ced_long" and self.params.fax_detection:
            return AmdLabel.FAX, f"fax CED {tone.hz:.0f} Hz at {tone.start_s:.2f} s"
        if tone.kind == "sit":
            return AmdLabel.MACHINE, f"SIT tone {tone.hz:.0f} Hz at {tone.start_s:.2f} s"
        if tone.kind in ("beep", "double", "cng", "ced"):
            what = "double beep" if tone.kind == "double" else "beep"
            return AmdLabel.MACHINE, f"{what} {tone.hz:.0f} Hz at {tone.start_s:.2f} s"
        return None

    # -- the learned model -------------------------------------------------

    def _reset_speech_stats(self) -> None:
        self._sp_frames = 0
        self._sp_level = self._sp_level2 = self._sp_purity = self._sp_hz = self._sp_hz2 = 0.0

    def features(self, t: int) -> list[float]:
        """The model's inputs (model.FEATURE_NAMES) at frame ``t``; the greeting has started."""
        words = [Word(w.start, w.last) for w in self._greeting_words]
        if self._word_start >= 0 and self._word_confirmed:
            words.append(Word(self._word_start, self._word_last))
        stats = SpeechStats(
            self._sp_frames,
            self._sp_level,
            self._sp_level2,
            self._sp_purity,
            self._sp_hz,
            self._sp_hz2,
        )
        return greeting_features(
            words, self._greeting_start, self._speech_last, t, self._voice_at_answer, stats
        )

    def _scored(self, t: int) -> tuple[float, str]:
        """P(machine) and its reasons, computed at most once per block (10 frames)."""
        assert self._model is not None
        at, p, why = self._score
        if t - at >= BLOCK_FRAMES:
            p, why = self._model.score(self.features(t))
            self._score = (t, p, why)
        return p, why

    def _snapshot(self, t: int, point: str) -> None:
        assert self.snapshots is not None
        last = self.snapshots[-1] if self.snapshots else None
        if last is None or last[1] != point or t - last[0] >= BLOCK_FRAMES:
            self.snapshots.append((t, point, self.features(t)))

    def _judge_silence(self, t: int, waited: float, wait: float) -> tuple[AmdLabel, str] | None:
        """Silence after the greeting is long enough for the timing rule's HUMAN."""
        if self.snapshots is not None:
            self._snapshot(t, "silence")
            return None
        if self._voice_at_answer:
            return AmdLabel.MACHINE, self._why(t, self._answer_why)
        if self._model is None:
            return AmdLabel.HUMAN, self._why(t)
        p, why = self._scored(t)
        model = f"model P(machine)={p:.2f} ({why})"
        if p >= self._model_machine and (wait <= 0 or waited >= wait):
            # after a long greeting the detector listens on first even when sure: a
            # person who hears nobody says "Hello?" again within ~1-2 s
            return AmdLabel.MACHINE, self._why(t, model + " >= model_machine")
        if p <= self._model_human:
            return AmdLabel.HUMAN, self._why(t, model)
        if waited >= wait:  # no beep, no second utterance
            if wait > 0 and p >= self._model_silent_machine:  # a recording waiting for its message
                return AmdLabel.MACHINE, self._why(t, model + " silent after model_wait")
            return AmdLabel.HUMAN, self._why(t, model + " after model_wait")
        return None  # unsure: wait for a beep, a second utterance or more speech

    def _judge_second_utterance(self, t: int) -> tuple[AmdLabel, str] | None:
        """Speech again after ``second_utterance_ms`` of silence following the greeting:
        a person who heard nobody answer says "Hello?" again; a recording is silent,
        beeps, or plays on without such a pause."""
        if self._voice_at_answer:
            return None
        # also in training (snapshots): the policy's HUMAN ends the clip's snapshots, as
        # on a call; what follows (a longer "greeting") is never asked about
        gap = f"second utterance after {_s(self._word_gap)} of silence"
        return AmdLabel.HUMAN, self._why(t, gap)

    def _judge_long(self, t: int, span: int) -> tuple[AmdLabel, str] | None:
        """The greeting ran past ``greeting_ms``."""
        if self.snapshots is not None:
            self._snapshot(t, "long")
            return None
        if self._model is None or span > self._model_greeting_max:
            return AmdLabel.MACHINE, self._why(t, "> greeting_ms")
        p, why = self._scored(t)
        if p >= self._model_threshold:
            return AmdLabel.MACHINE, self._why(t, f"> greeting_ms model P(machine)={p:.2f} ({why})")
        return None  # a long live greeting, by its shape: wait for its end

    def _why(self, t: int, extra: str = "") -> str:
        if self._greeting_start < 0:
            text = f"no speech in {_s(t + 1)}"
        else:
            span = self._speech_last - self._greeting_start + 1
            text = (
                f"initial_silence={_s(self._greeting_start)} greeting={_s(span)} "
                f"after_silence={_s(t - self._speech_last)} words={self._words}"
            )
        return f"{text} {extra}".strip()

    def _end_of_audio(self) -> AmdDecision:
        t = self._frame - 1
        ms = round(self._frame * FRAME_S * 1000, 1)
        if self._greeting_start < 0 and not self._activity:
            return AmdDecision(AmdLabel.SILENCE, ms, f"audio ended; no speech in {_s(t + 1)}")
        return AmdDecision(AmdLabel.NOTSURE, ms, self._why(t, "audio ended"))
