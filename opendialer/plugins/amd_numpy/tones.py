"""Tone tracking: beeps (single, double, with harmonics), SIT, fax CNG and CED.

A *track* is a run of tonal frames (a strong spectral peak holding most of the
above-noise power) whose frequency stays within 1.2 % of the track's mean,
tolerating gaps of up to 40 ms (lost packets, the phase reversals of an ANSam
CED). When a track ends it is judged on the whole run: mean purity, frequency
spread and level steadiness. Those three separate a beep from a sustained
vowel: on the dev corpus a beep's level varies by ~0.2 dB (p95 0.7 dB) and its
frequency by 0.06 % (p95 0.5 %), a vowel's by ~2.5 dB and ~1.4 %.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .features import FRAME_S
from .params import AmdParams

MAX_GAP = 4  # frames
FREQ_TOL = 0.012
CANDIDATE_PURITY = 0.6
MIN_LEVEL_OVER_FLOOR_DB = 3.0
MAX_LEVEL_STD_DB = 1.5
MAX_FREQ_SPREAD = 0.01
MIN_FUNDAMENTAL = 0.6
SIT_HZ = (913.8, 985.2, 1370.6, 1428.5, 1776.7)
# A SIT is three contiguous rising tones. One tone at a SIT pitch is also a
# common beep (1004 Hz is within 2 % of 985.2 Hz), so it is SIT only when the
# next tone, a SIT pitch at least 20 % higher, starts within this many frames
# (a new pitch opens a track MAX_GAP frames late); otherwise a beep, reported then.
SIT_NEXT_FRAMES = MAX_GAP + 4
SIT_RISE = 1.2
_SIT_SEGMENT = "sit_segment"
CNG_HZ, CED_HZ, FAX_TOL_HZ = 1100.0, 2100.0, 35.0
CED_EARLY_FRAMES = 60  # a 2100 Hz tone this long, with no speech before it, is a fax
CED_LONG_FRAMES = 170  # ... and this long, whatever came before (no beep lasts 1.7 s)
DOUBLE_GAP_FRAMES = 40  # a double beep's halves are at most 400 ms apart
DOUBLE_MIN_FRAMES = 6  # ... and each at least 60 ms long
# A single tone shorter than this is a beep only if it stands alone: a vowel with
# one strong harmonic can hold 100 ms inside a word, a beep has quiet on both sides.
ISOLATED_BELOW_FRAMES = 12
ISOLATION_DB = 6.0  # the frames around it at least this far below its median level
ISOLATION_SKIP = 2  # ... not counting the 2 frames next to it (the FFT window spills)
ISOLATION_BEFORE = 6  # ... looking this many frames before it


def _fax_pitch(hz: float) -> bool:
    """CNG or CED: tracked whatever the beep band is (``beep_min_hz``/``beep_max_hz``)."""
    return abs(hz - CNG_HZ) <= FAX_TOL_HZ or abs(hz - CED_HZ) <= FAX_TOL_HZ


def _spread(freqs: list[float]) -> float:
    """10th-90th percentile range: a phase reversal's odd frame does not count."""
    if len(freqs) < 10:
        return max(freqs) - min(freqs)
    ordered = sorted(freqs)
    return ordered[(9 * len(ordered)) // 10] - ordered[len(ordered) // 10]


@dataclass(frozen=True, slots=True)
class ToneVerdict:
    kind: str  # beep | double | sit | cng | ced | ced_long (| sit_segment inside the tracker)
    hz: float
    start_frame: int
    end_frame: int

    @property
    def start_s(self) -> float:
        return self.start_frame * FRAME_S

    @property
    def end_s(self) -> float:
        return (self.end_frame + 1) * FRAME_S


class ToneTracker:
    def __init__(self, params: AmdParams) -> None:
        ms = 1.0 / (1000 * FRAME_S)
        self._min_frames = params.beep_min_ms * ms
        self._max_frames = params.beep_max_ms * ms
        self._lo, self._hi = params.beep_min_hz, params.beep_max_hz
        self._purity = params.tone_purity
        self._fax = bool(params.fax_detection)
        self.open = False
        self._start = self._last = self._n = 0
        self._hz = 0.0
        self._levels: list[float] = []
        self._freqs: list[float] = []
        self._pur_sum = self._fund_sum = 0.0
        self._announced: set[str] = set()
        self._prev_short: tuple[int, float] | None = None  # (end frame, hz) of a short clean tone
        self._recent: deque[float] = deque(maxlen=ISOLATION_SKIP + ISOLATION_BEFORE)
        self._before_db = -200.0  # loudest frame before the open track (see ISOLATION_*)
        self._after: list[float] = []  # levels of the frames since the track's last tonal one
        self._held: ToneVerdict | None = None  # a tone at a SIT pitch: a SIT's first segment?

    @property
    def holding(self) -> bool:
        """The open track already looks like a tone (its frames are not speech)."""
        return (
            self.open
            and self._n >= 4
            and self._pur_sum / self._n >= self._purity
            and _spread(self._freqs) <= MAX_FREQ_SPREAD * self._hz
        )

    def _in_beep_band(self, hz: float) -> bool:
        return 0.97 * self._lo <= hz <= 1.03 * self._hi

    @property
    def pending(self) -> bool:
        """A tone is being tracked or waits for its judgement (a SIT's next segment)."""
        return self.open or self._held is not None

    def frame(
        self, t: int, level_db: float | None, hz: float, fund: float, purity: float, floor: float
    ) -> ToneVerdict | None:
        tonal = (
            level_db is not None
            and purity >= CANDIDATE_PURITY
            and level_db > floor + MIN_LEVEL_OVER_FLOOR_DB
            and (self._in_beep_band(hz) or (self._fax and _fax_pitch(hz)))
        )
        verdict = None
        if tonal or self.open or self._held is not None:  # most frames: nothing to track
            verdict = self._track(t, tonal, level_db, hz, fund, purity)
        self._recent.append(-200.0 if level_db is None else level_db)
        return verdict

    def _track(
        self, t: int, tonal: bool, level_db: float | None, hz: float, fund: float, purity: float
    ) -> ToneVerdict | None:
        held = self._held
        if held is not None and not self.open and t - held.end_frame > SIT_NEXT_FRAMES:
            self._held = None
            return held  # no second segment: it was a beep
        if self.open:
            if tonal and abs(hz - self._hz) <= max(8.0, FREQ_TOL * self._hz):
                self._n += 1
                self._last = t
                self._hz += (hz - self._hz) / self._n
                self._freqs.append(hz)
                self._pur_sum += purity
                self._fund_sum += fund
                if level_db is not None:
                    self._levels.append(level_db)
                self._after = []
                return self._ongoing()
            self._after.append(-200.0 if level_db is None else level_db)
            if t - self._last <= MAX_GAP:
                return None
            verdict = self._close()
            if tonal:
                self._start_track(t, hz, purity, fund, level_db)
            return verdict
        if tonal:
            self._start_track(t, hz, purity, fund, level_db)
        return None

    def _start_track(
        self, t: int, hz: float, purity: float, fund: float, level_db: float | None
    ) -> None:
        self.open = True
        self._start = self._last = t
        self._n = 1
        self._hz = hz
        self._freqs = [hz]
        self._levels = [level_db] if level_db is not None else []
        self._pur_sum, self._fund_sum = purity, fund
        self._announced = set()
        before = list(self._recent)[: -ISOLATION_SKIP or None]
        self._before_db = max(before, default=-200.0)
        self._after = []

    def _isolated(self) -> bool:
        """Quiet before and after the track, compared with its median level."""
        if not self._levels:
            return False
        median = sorted(self._levels)[len(self._levels) // 2]
        around = max(self._before_db, max(self._after[ISOLATION_SKIP:], default=-200.0))
        return around <= median - ISOLATION_DB

    def _clean(self) -> bool:
        inner_levels = self._levels[2:-2] if len(self._levels) > 6 else self._levels
        inner_freqs = self._freqs[2:-2] if len(self._freqs) > 6 else self._freqs
        if not inner_levels:
            return False
        mean = sum(inner_levels) / len(inner_levels)
        std = (sum((v - mean) ** 2 for v in inner_levels) / len(inner_levels)) ** 0.5
        spread = _spread(inner_freqs) / self._hz
        return (
            self._pur_sum / self._n >= self._purity
            and self._fund_sum / self._n >= MIN_FUNDAMENTAL
            and std <= MAX_LEVEL_STD_DB
            and spread <= MAX_FREQ_SPREAD
        )

    def _ongoing(self) -> ToneVerdict | None:
        if abs(self._hz - CED_HZ) > FAX_TOL_HZ:
            return None
        length = self._last - self._start + 1
        for kind, frames in (("ced", CED_EARLY_FRAMES), ("ced_long", CED_LONG_FRAMES)):
            if length >= frames and kind not in self._announced and self._clean():
                self._announced.add(kind)
                return ToneVerdict(kind, self._hz, self._start, self._last)
        return None

    def _close(self) -> ToneVerdict | None:
        self.open = False
        held, self._held = self._held, None
        verdict = self._judge()
        if verdict is None or verdict.kind != _SIT_SEGMENT:
            return held or verdict
        if held is None:
            self._held = ToneVerdict("beep", verdict.hz, verdict.start_frame, verdict.end_frame)
            return None
        if (
            verdict.start_frame - held.end_frame <= SIT_NEXT_FRAMES
            and verdict.hz >= SIT_RISE * held.hz
        ):
            return ToneVerdict("sit", held.hz, held.start_frame, verdict.end_frame)
        return held

    def _judge(self) -> ToneVerdict | None:
        """The verdict on the track just closed (a SIT-pitch tone: ``_SIT_SEGMENT``)."""
        length = self._last - self._start + 1
        if not self._clean():
            return None
        hz = self._hz
        if length > self._max_frames:
            return None  # a long tone (dial tone, CED already reported): not a beep
        prev, self._prev_short = self._prev_short, None
        is_double = (
            prev is not None
            and self._start - prev[0] <= DOUBLE_GAP_FRAMES
            and abs(prev[1] - hz) <= 0.015 * hz
            and length >= DOUBLE_MIN_FRAMES
        )
        if length < self._min_frames and not is_double:
            if length >= DOUBLE_MIN_FRAMES:
                self._prev_short = (self._last, hz)
            return None
        if length < ISOLATED_BELOW_FRAMES and not is_double and not self._isolated():
            return None
        if abs(hz - CNG_HZ) <= FAX_TOL_HZ and length <= 80:
            kind = "cng"  # (a piece of) a 0.5 s CNG burst; a fax if nobody spoke before
        elif abs(hz - CED_HZ) <= FAX_TOL_HZ:
            kind = "ced"  # (a piece of) CED broken up by noise; a fax if nobody spoke before
        elif not self._in_beep_band(hz):
            return None  # tracked as a possible fax tone, outside the beep band
        elif is_double:
            kind = "double"
        elif any(abs(hz - f) <= 0.02 * f for f in SIT_HZ) and 15 <= length <= 45:
            kind = _SIT_SEGMENT
        else:
            kind = "beep"
        return ToneVerdict(kind, hz, self._start, self._last)
