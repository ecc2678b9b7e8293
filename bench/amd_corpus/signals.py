"""Signals of the AMD corpus: levels, tones, noises, music, fax, G.711 and the channel's faults.

Everything is 8 kHz float64 unless said otherwise; ``tone``, the noises and ``music``
return unit RMS, scaled by the clip builder.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

SR = 8000
FRAME = 160  # one 20 ms RTP packet
TELEPHONE_BAND = signal.butter(4, [300, 3400], btype="bandpass", fs=SR, output="sos")


def db2lin(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def frame_rms(x: np.ndarray, n: int = 80) -> np.ndarray:
    m = len(x) // n
    if m == 0:
        return np.zeros(0)
    return np.sqrt(np.mean(x[: m * n].reshape(m, n) ** 2, axis=1) + 1e-20)


def trim(x: np.ndarray, rel_db: float = -40.0) -> np.ndarray:
    """Cut leading and trailing 10 ms frames below ``rel_db`` of the loudest."""
    r = frame_rms(x)
    if len(r) == 0:
        return x
    idx = np.nonzero(r > r.max() * 10 ** (rel_db / 20))[0]
    if len(idx) == 0:
        return x[:0]
    return x[idx[0] * 80 : (idx[-1] + 1) * 80]


def active_rms(x: np.ndarray, rel_db: float = -30.0) -> float:
    r = frame_rms(x)
    a = r[r > r.max() * 10 ** (rel_db / 20)]
    return float(np.sqrt(np.mean(a**2))) if len(a) else 1e-9


def unit_rms(y: np.ndarray) -> np.ndarray:
    return y / (np.sqrt(np.mean(y**2)) + 1e-12)


def tone(
    freq: float,
    dur: float,
    rng: np.random.Generator,
    harmonics: list[tuple[int, float]] | None = None,
    fade: float = 0.005,
) -> np.ndarray:
    n = round(dur * SR)
    t = np.arange(n) / SR
    ph = rng.uniform(0, 2 * np.pi)
    y = np.sin(2 * np.pi * freq * t + ph)
    for k, a in harmonics or []:
        if freq * k < SR / 2 - 100:
            y += a * np.sin(2 * np.pi * freq * k * t + ph * k)
    nf = min(int(fade * SR), n // 2)
    if nf > 0:
        w = np.linspace(0, 1, nf)
        y[:nf] *= w
        y[n - nf :] *= w[::-1]
    return unit_rms(y)


def coloured_noise(n: int, rng: np.random.Generator, power: float) -> np.ndarray:
    """1/f^power noise: 1 pink, 2 brown."""
    spectrum = np.fft.rfft(rng.standard_normal(n + 1))
    f = np.arange(len(spectrum), dtype=float)
    f[0] = 1.0
    return unit_rms(np.fft.irfft(spectrum / f ** (power / 2), n + 1)[:n])


def swinging(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A slow 0.2-1 Hz level swing of 2-6 dB: noise that waxes and wanes."""
    t = np.arange(len(y)) / SR
    swing_db = rng.uniform(2.0, 6.0) * np.sin(
        2 * np.pi * rng.uniform(0.2, 1.0) * t + rng.uniform(0, 6.3)
    )
    return unit_rms(y * 10 ** (swing_db / 20))


def fsk_v21_flags(dur: float) -> np.ndarray:
    """V.21 channel-2 HDLC flags (0x7E), 300 bd, mark 1650 Hz / space 1850 Hz."""
    bits = np.tile([0, 1, 1, 1, 1, 1, 1, 0], int(dur * 300 / 8) + 2)
    n = int(dur * SR)
    idx = np.minimum((np.arange(n) / (SR / 300.0)).astype(int), len(bits) - 1)
    f = np.where(bits[idx] == 1, 1650.0, 1850.0)
    return np.sin(2 * np.pi * np.cumsum(f) / SR) * np.sqrt(2)


def music(dur: float, rng: np.random.Generator) -> np.ndarray:
    """Music-on-hold-like melody: pentatonic notes with harmonics and decay."""
    base = rng.uniform(200, 400)
    scale = [0, 2, 4, 7, 9, 12, 14, 16]
    out = np.zeros(int(dur * SR))
    pos = 0
    while pos < len(out):
        n = min(int(rng.uniform(0.15, 0.5) * SR), len(out) - pos)
        f = base * 2 ** (scale[rng.integers(len(scale))] / 12.0)
        t = np.arange(n) / SR
        env = np.exp(-t * rng.uniform(2, 6)) * np.minimum(1, t / 0.01)
        y = (
            np.sin(2 * np.pi * f * t)
            + 0.5 * np.sin(4 * np.pi * f * t)
            + 0.25 * np.sin(6 * np.pi * f * t)
        ) * env
        if rng.random() < 0.5:  # a chord note
            y += 0.6 * np.sin(2 * np.pi * f * 2 ** (4 / 12.0) * t) * env
        out[pos : pos + n] += y
        pos += n
    return unit_rms(out)


# -- G.711 (ITU-T G.711, as in the classic Sun reference code) ----------------------------


def _mulaw_tables() -> tuple[np.ndarray, np.ndarray]:
    s = np.arange(-32768, 32768, dtype=np.int64)
    sign = np.where(s < 0, 0x80, 0)
    mag = np.minimum(np.abs(s), 32635) + 0x84
    exp = np.clip(np.floor(np.log2(mag)).astype(np.int64) - 7, 0, 7)
    enc = (~(sign | (exp << 4) | ((mag >> (exp + 3)) & 0x0F))) & 0xFF
    v = (~np.arange(256, dtype=np.int64)) & 0xFF
    e = (v >> 4) & 0x07
    dec = ((((v & 0x0F) << 3) + 0x84) << e) - 0x84
    return enc.astype(np.uint8), np.where(v & 0x80, -dec, dec).astype(np.int16)


def _alaw_tables() -> tuple[np.ndarray, np.ndarray]:
    s = np.arange(-32768, 32768, dtype=np.int64) >> 3
    mask = np.where(s >= 0, 0xD5, 0x55)
    mag = np.where(s >= 0, s, -s - 1)
    seg = np.searchsorted(np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF]), mag)
    shift = np.where(seg < 2, 1, seg)
    aval = (np.minimum(seg, 7) << 4) | ((mag >> shift) & 0x0F)
    enc = np.where(seg >= 8, 0x7F, aval) ^ mask
    a = np.arange(256, dtype=np.int64) ^ 0x55
    seg_d = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg_d == 0, t + 8, (t + 0x108) << np.maximum(seg_d - 1, 0))
    return enc.astype(np.uint8), np.where(a & 0x80, t, -t).astype(np.int16)


_CODECS = {"ulaw": _mulaw_tables(), "alaw": _alaw_tables()}


def g711_roundtrip(x16: np.ndarray, codec: str) -> np.ndarray:
    """Encode and decode int16 samples with G.711 µ-law (``ulaw``) or A-law (``alaw``)."""
    enc, dec = _CODECS[codec]
    return dec[enc[x16.astype(np.int64) + 32768]]


# -- the channel's faults ---------------------------------------------------------------


def lose_packets(y: np.ndarray, rng: np.random.Generator, rate: float, conceal: bool) -> float:
    """Drop 20 ms packets in bursts of 1-3 (in place); returns the share lost.

    Without concealment a lost packet is silence; with it, the last good packet is
    played again, 6 dB quieter each time (what simple phones and gateways do).
    """
    nf = len(y) // FRAME
    lost = np.zeros(nf, dtype=bool)
    k = 0
    while k < nf:
        if rng.random() < rate / 2:
            burst = int(rng.integers(1, 4))
            lost[k : k + burst] = True
            k += burst
        k += 1
    last = np.zeros(FRAME)
    run = 0
    for k in range(nf):
        part = slice(k * FRAME, (k + 1) * FRAME)
        if lost[k]:
            run += 1
            y[part] = last * db2lin(-6.0 * run) if conceal else 0.0
        else:
            run = 0
            last = y[part].copy()
    return float(lost.mean()) if nf else 0.0


def time_warp(y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A clock that drifts by up to ±0.5 % (a jitter buffer stretching and squeezing).

    Returns the warped signal (same length) and the largest time shift in seconds.
    """
    n = len(y)
    knots = rng.uniform(-0.005, 0.005, size=max(2, n // SR + 2))
    rate = 1.0 + np.interp(np.arange(n), np.linspace(0, n - 1, len(knots)), knots)
    read = np.cumsum(rate) - rate[0]
    return np.interp(read, np.arange(n), y, right=0.0), float(
        np.max(np.abs(read - np.arange(n)))
    ) / SR


def repeat_frames(y: np.ndarray, rng: np.random.Generator) -> int:
    """A jitter buffer under late packets: a packet played twice, one skipped 0.2-1 s later.

    In place, same length; each pair shifts the audio between them by 20 ms.
    Returns the number of pairs.
    """
    nf = len(y) // FRAME
    pairs = int(rng.integers(1, 5))
    done = 0
    for _ in range(pairs):
        i = int(rng.integers(1, max(2, nf - 60)))
        j = min(nf - 1, i + int(rng.integers(10, 51)))
        if j <= i + 1:
            continue
        seg = y[i * FRAME : j * FRAME].copy()
        # frame i-1 again, then frames i.. j-2; frame j-1 is the one skipped
        y[i * FRAME : j * FRAME] = np.concatenate([y[(i - 1) * FRAME : i * FRAME], seg[:-FRAME]])
        done += 1
    return done


def level_step(y: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """A level change mid-clip (a gateway's AGC, a handset moved): ±3-10 dB over 50 ms.

    In place; returns (time s, change dB).
    """
    at = float(rng.uniform(0.5, max(0.6, len(y) / SR - 0.5)))
    change = float(rng.uniform(3, 10)) * (1 if rng.random() < 0.5 else -1)
    start = int(at * SR)
    ramp = np.linspace(0, 1, min(int(0.05 * SR), max(0, len(y) - start)))
    gain = np.ones(len(y))
    gain[start : start + len(ramp)] = db2lin(change * 1.0) ** ramp
    gain[start + len(ramp) :] = db2lin(change)
    y *= gain
    return at, change
