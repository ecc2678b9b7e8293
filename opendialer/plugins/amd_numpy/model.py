"""The learned part of the detector: P(machine) from the shape of the greeting so far.

The timing rules decide when a greeting *could* be judged (silence after it, or
its length passing ``greeting_ms``); there the detector asks this model how
much the greeting so far looks like a recording: its onset after answer, its
length, how much of it is voiced, how its words and pauses fall (a recorded
greeting is read sentence after sentence; a live one is one breath), the
silence after it, whether it was already playing at answer, and cheap voicing
and spectral proxies. The model is small (a logistic regression or a one-layer
MLP) and was trained offline by ``bench/amd_train.py`` from generated corpora;
its weights, the feature names, the standardisation and a description of the
training corpora ship in ``amd_model.npz`` next to this module. Inference is a
few dozen multiply-adds in numpy, at most a few times per call.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from .features import FRAME_S

MODEL_PATH = Path(__file__).with_name("amd_model.npz")

#: The model's inputs, in order. ``bench/amd_train.py`` stores this list with the
#: weights; loading a model trained on another list fails loudly.
FEATURE_NAMES: tuple[str, ...] = (
    "onset_s",  # speech onset after answer
    "span_s",  # greeting, first word to last
    "log_span",
    "voiced_s",  # time inside words
    "voiced_frac",
    "words",
    "words_per_s",
    "pauses_150",  # gaps between words of 150 ms or more
    "pauses_350",  # ... of 350 ms or more: between sentences, or a breath
    "longest_pause_s",
    "first_segment_s",  # up to the first pause of 350 ms or more
    "last_segment_s",  # since the last such pause
    "after_silence_s",  # silence after the greeting so far
    "voice_at_answer",  # the audio was already a voice in the first 50 ms
    "level_std_db",  # spread of the speech's 120 ms energy
    "purity_mean",  # voicing proxy over speech frames
    "peak_hz_std",  # spread of the strongest in-band peak over speech frames (intonation)
)

SEGMENT_PAUSE = 35  # frames


class Word(NamedTuple):
    start: int
    last: int


@dataclass(frozen=True)
class SpeechStats:
    """Sums over the speech frames of the greeting, kept by the detector."""

    frames: int
    level_sum: float
    level_sq: float
    purity_sum: float
    hz_sum: float
    hz_sq: float


def greeting_features(
    words: list[Word],
    greeting_start: int,
    speech_last: int,
    t: int,
    voice_at_answer: bool,
    stats: SpeechStats,
) -> list[float]:
    """The values of :data:`FEATURE_NAMES` at frame ``t`` (the greeting must have started)."""
    span = max(1, speech_last - greeting_start + 1)
    voiced = sum(w.last - w.start + 1 for w in words)
    gaps = [b.start - a.last - 1 for a, b in itertools.pairwise(words)]
    first_seg = span
    last_seg = span
    for i, gap in enumerate(gaps):
        if gap >= SEGMENT_PAUSE:
            first_seg = min(first_seg, words[i].last - greeting_start + 1)
            last_seg = speech_last - words[i + 1].start + 1
    n = max(1, stats.frames)
    level_mean = stats.level_sum / n
    hz_mean = stats.hz_sum / n
    return [
        greeting_start * FRAME_S,
        span * FRAME_S,
        math.log(span * FRAME_S),
        voiced * FRAME_S,
        min(1.0, voiced / span),
        float(len(words)),
        len(words) / (span * FRAME_S),
        float(sum(g >= 15 for g in gaps)),
        float(sum(g >= SEGMENT_PAUSE for g in gaps)),
        max(gaps, default=0) * FRAME_S,
        first_seg * FRAME_S,
        last_seg * FRAME_S,
        max(0, t - speech_last) * FRAME_S,
        1.0 if voice_at_answer else 0.0,
        math.sqrt(max(0.0, stats.level_sq / n - level_mean**2)),
        stats.purity_sum / n,
        math.sqrt(max(0.0, stats.hz_sq / n - hz_mean**2)),
    ]


class AmdModel:
    """A standardised logistic regression or one-hidden-layer MLP (tanh) in numpy."""

    def __init__(self, path: Path = MODEL_PATH) -> None:
        with np.load(path, allow_pickle=False) as z:
            names = tuple(str(n) for n in z["feature_names"])
            if names != FEATURE_NAMES:
                raise ValueError(
                    f"{path}: trained on features {names}, the detector computes {FEATURE_NAMES};"
                    " re-run bench/amd_train.py"
                )
            self.mean: npt.NDArray[np.float64] = z["mean"]
            self.scale: npt.NDArray[np.float64] = z["scale"]
            self.w1: npt.NDArray[np.float64] = z["w1"]
            self.b1: npt.NDArray[np.float64] = z["b1"]
            self.w2: npt.NDArray[np.float64] | None = z["w2"] if "w2" in z.files else None
            self.b2 = float(z["b2"]) if "b2" in z.files else 0.0
            self.corpus = str(z["corpus"])

    def score(self, x: list[float]) -> tuple[float, str]:
        """P(machine) and the features that weighed most (weight x standardised value)."""
        z = (np.asarray(x) - self.mean) / self.scale
        if self.w2 is None:
            contrib = self.w1[:, 0] * z
            logit = float(contrib.sum() + self.b1[0])
        else:
            hidden = np.tanh(z @ self.w1 + self.b1)
            logit = float(hidden @ self.w2 + self.b2)
            # first-order attribution through the hidden layer at this point
            grad = (self.w1 * (1.0 - hidden**2)) @ self.w2
            contrib = grad * z
        p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, logit))))
        top = np.argsort(-np.abs(contrib))[:3]
        why = " ".join(f"{FEATURE_NAMES[i]}{contrib[i]:+.1f}" for i in top)
        return p, why


@lru_cache(maxsize=1)
def shipped_model() -> AmdModel:
    return AmdModel()
