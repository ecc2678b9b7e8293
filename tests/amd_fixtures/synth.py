"""Speech-like signals, tones and noise at 8 kHz, int16 scale, from a seeded generator.

"Speech" is voiced: a glottal-like harmonic series whose pitch glides and
jitters, shaped by three formants that move from syllable to syllable, cut into
150-300 ms syllables with raised-cosine envelopes and short gaps, with a noise
burst (a fricative) now and then. It is not intelligible, but to an energy and
tone analyser it behaves like speech: syllabic modulation, no stable pure tone.
"""

from __future__ import annotations

import numpy as np

RATE = 8000
SPEECH_RMS = 3000.0  # about -21 dBFS


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def silence(seconds: float, gen: np.random.Generator, level_dbfs: float = -65.0) -> np.ndarray:
    return gen.standard_normal(int(seconds * RATE)) * 32768 * 10 ** (level_dbfs / 20)


def _syllable(seconds: float, gen: np.random.Generator, f0: float) -> np.ndarray:
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    glide = f0 * (1 + gen.uniform(-0.15, 0.15) * t / max(seconds, 1e-3))
    pitch = glide * (1 + 0.02 * np.sin(2 * np.pi * gen.uniform(4, 7) * t))
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    formants = (gen.uniform(350, 800), gen.uniform(900, 2000), gen.uniform(2200, 3000))
    y = np.zeros(n)
    for k in range(1, int(3400 / f0)):
        fk = k * f0
        gain = sum(1.0 / (1 + ((fk - f) / 120.0) ** 2) for f in formants) / np.sqrt(k)
        y += gain * np.sin(k * phase + gen.uniform(0, 2 * np.pi))
    if gen.random() < 0.3:  # a fricative onset
        m = min(n, int(0.05 * RATE))
        y[:m] += gen.standard_normal(m) * np.std(y) * 0.8
    env = np.sin(np.pi * np.linspace(0, 1, n)) ** 0.6
    return y * env


def speech(
    seconds: float, gen: np.random.Generator, f0: float = 140.0, pause_max: float = 0.08
) -> np.ndarray:
    """Syllables of 150-300 ms separated by gaps of up to ``pause_max`` s."""
    parts: list[np.ndarray] = []
    total = 0
    n = int(seconds * RATE)
    while total < n:
        syl = _syllable(gen.uniform(0.15, 0.3), gen, f0 * gen.uniform(0.9, 1.1))
        gap = np.zeros(int(gen.uniform(0.02, pause_max) * RATE))
        parts += [syl, gap]
        total += len(syl) + len(gap)
    y = np.concatenate(parts)[:n]
    active = y[np.abs(y) > 1e-9]
    return y / (np.sqrt(np.mean(active**2)) + 1e-12) * SPEECH_RMS


def tone(
    freq: float, seconds: float, level_dbfs: float = -18.0, harmonics: bool = False
) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    y = np.sin(2 * np.pi * freq * t)
    if harmonics:
        y += 0.3 * np.sin(4 * np.pi * freq * t) + 0.2 * np.sin(6 * np.pi * freq * t)
    fade = min(40, len(y) // 2)
    ramp = np.linspace(0, 1, fade)
    y[:fade] *= ramp
    y[len(y) - fade :] *= ramp[::-1]
    return y / np.sqrt(np.mean(y**2)) * 32768 * 10 ** (level_dbfs / 20)


def white(seconds: float, gen: np.random.Generator, level_dbfs: float) -> np.ndarray:
    return gen.standard_normal(int(seconds * RATE)) * 32768 * 10 ** (level_dbfs / 20)


def pink(seconds: float, gen: np.random.Generator, level_dbfs: float) -> np.ndarray:
    n = int(seconds * RATE)
    spectrum = np.fft.rfft(gen.standard_normal(n))
    f = np.arange(len(spectrum), dtype=float)
    f[0] = 1
    y = np.fft.irfft(spectrum / np.sqrt(f), n)
    return y / np.std(y) * 32768 * 10 ** (level_dbfs / 20)


def join(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate(parts)


def pcm(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def human(
    gen: np.random.Generator, onset: float = 0.6, hello: float = 0.5, after: float = 3.0
) -> np.ndarray:
    """A live answer: a short "Hello?" then silence while the person waits."""
    return join(silence(onset, gen), speech(hello, gen), silence(after, gen))


def machine(gen: np.random.Generator, greeting: float = 6.0) -> np.ndarray:
    """A recorded greeting: sentences with short pauses, longer than any live answer."""
    parts = [silence(0.4, gen)]
    left = greeting
    while left > 0:
        sentence = min(left, gen.uniform(1.2, 2.0))
        parts += [speech(sentence, gen), silence(0.25, gen)]
        left -= sentence + 0.25
    parts.append(silence(1.0, gen))
    return join(*parts)


def babble(
    seconds: float, gen: np.random.Generator, level_dbfs: float, talkers: int = 5
) -> np.ndarray:
    """Several talkers at once (a busy room): it fluctuates like speech but never pauses."""
    y = sum(
        speech(seconds, gen, f0=gen.uniform(90, 240)) * gen.uniform(0.5, 1.0)
        for _ in range(talkers)
    )
    assert isinstance(y, np.ndarray)
    return y / np.sqrt(np.mean(y**2)) * 32768 * 10 ** (level_dbfs / 20)
