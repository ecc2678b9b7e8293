"""Recordings for the safe-harbour message tests: tones as WAV (stdlib ``wave`` + numpy)
and MP3 (lameenc), and what a stored µ-law message sounds like (its main frequency)."""

from __future__ import annotations

import io
import wave

import numpy as np
import numpy.typing as npt


def tone(
    seconds: float, rate: int, *, hz: float = 1000.0, level: float = 0.5, channels: int = 1
) -> npt.NDArray[np.int16]:
    """A sine of ``hz`` at ``level`` of full scale, interleaved over ``channels``."""
    t = np.arange(round(seconds * rate)) / rate
    mono = np.round(level * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return np.repeat(mono, channels)


def wav_bytes(samples: npt.NDArray[np.int16], rate: int, channels: int = 1) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()


def tone_wav(seconds: float, rate: int = 16000, channels: int = 1, **kw: float) -> bytes:
    return wav_bytes(tone(seconds, rate, channels=channels, **kw), rate, channels)


def tone_mp3(seconds: float, rate: int = 44100, channels: int = 2, **kw: float) -> bytes:
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(64)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(channels)
    encoder.set_quality(2)
    pcm = tone(seconds, rate, channels=channels, **kw).astype("<i2").tobytes()
    return bytes(encoder.encode(pcm) + encoder.flush())


def main_frequency(pcm: npt.NDArray[np.int16], rate: int) -> float:
    """The strongest frequency of ``pcm`` (Hz)."""
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(pcm.size)))
    return float(np.argmax(spectrum) * rate / pcm.size)


def read_wav(data: bytes) -> tuple[int, int, int, npt.NDArray[np.int16]]:
    """(rate, channels, sample width, samples) of a WAV."""
    with wave.open(io.BytesIO(data)) as w:
        frames = w.readframes(w.getnframes())
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), np.frombuffer(frames, "<i2")
