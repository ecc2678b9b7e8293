"""Streaming sample-rate conversion to 8 kHz with numpy only.

A windowed-sinc low-pass (cut-off 3.6 kHz) is applied with carried-over
state, then the filtered signal is read at the 8 kHz instants by linear
interpolation. The read positions come from absolute sample counts, so feeding
a signal in pieces gives exactly the samples that feeding it whole gives.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

TARGET_RATE = 8000
_TAPS = 63


def _lowpass(rate: int) -> npt.NDArray[np.float64]:
    cutoff = min(3600.0, 0.45 * rate) / rate  # cycles per input sample
    n = np.arange(_TAPS) - (_TAPS - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(_TAPS)
    return np.asarray(h / h.sum(), dtype=np.float64)


class StreamResampler:
    """``process(chunk)`` returns the 8 kHz samples that chunk completes."""

    def __init__(self, rate: int) -> None:
        if not 4000 <= rate <= 384000:
            raise ValueError(f"sample rate {rate} Hz is not supported (4000-384000 Hz)")
        self.rate = rate
        self._taps = _lowpass(rate) if rate > TARGET_RATE else None
        self._history = np.zeros(_TAPS - 1)
        self._filtered = np.zeros(0)  # filtered input not yet consumed
        self._base = 0  # absolute input index of _filtered[0]
        self._next_out = 0  # index of the next 8 kHz sample

    def process(self, chunk: npt.ArrayLike) -> npt.NDArray[np.float64]:
        x = np.asarray(chunk, dtype=np.float64).ravel()
        if self._taps is not None:
            padded = np.concatenate([self._history, x])
            filtered = np.convolve(padded, self._taps, mode="valid")
            self._history = padded[len(padded) - (_TAPS - 1) :]
        else:
            filtered = x
        self._filtered = np.concatenate([self._filtered, filtered])
        available = self._base + len(self._filtered)  # absolute end (exclusive)
        step = self.rate / TARGET_RATE
        # sample j sits at input position j * step; it needs floor(pos) + 1 < available
        last = int(np.floor((available - 2) / step)) if available >= 2 else -1
        if last < self._next_out:
            return np.zeros(0)
        j = np.arange(self._next_out, last + 1)
        pos = j * step - self._base
        left = np.floor(pos).astype(np.int64)
        frac = pos - left
        out = self._filtered[left] * (1 - frac) + self._filtered[left + 1] * frac
        self._next_out = last + 1
        keep_from = int(np.floor(self._next_out * step)) - self._base
        keep_from = max(0, min(keep_from, len(self._filtered)))
        self._filtered = self._filtered[keep_from:]
        self._base += keep_from
        return np.asarray(out, dtype=np.float64)


def to_8k(samples: npt.ArrayLike, rate: int) -> npt.NDArray[np.float64]:
    """A whole signal at ``rate`` as float samples at 8 kHz (int16 scale kept)."""
    if rate == TARGET_RATE:
        return np.asarray(samples, dtype=np.float64)
    return StreamResampler(rate).process(samples)
