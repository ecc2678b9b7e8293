"""An uploaded recording (WAV or MP3) → 8 kHz mono G.711 µ-law, checked; and back to a
WAV to listen to.

Every engine node plays the stored bytes as they are (``CallRequest.safe_harbour_ulaw``),
so everything is done once, here, on upload:

1. the format is recognised by its first bytes (RIFF/WAVE, or an MP3 frame or ID3 tag);
   anything else is refused, and so is a file the decoder cannot read;
2. the length is checked before decoding (the WAV header, the MP3's frames: an MP3's
   size bounds its length, so a small file cannot claim hours) and again after;
3. miniaudio (its own WAV and MP3 decoders, no system library) decodes it at its own
   rate and mixes the channels to mono;
4. it is resampled to 8 kHz in the frequency domain, keeping the telephone band: the
   spectrum is cut with a raised-cosine edge from 3.4 to 3.9 kHz, below the 4 kHz
   Nyquist frequency (miniaudio's linear resampler lets 5-6 kHz through at only
   -9 to -16 dB when it comes down from 44.1 kHz: sibilants alias into the band);
5. a recording whose loudest 50 ms stay below -40 dBFS is refused as silent;
6. G.711 µ-law (ITU-T, the reference g711.c's 14-bit formulation, as the SIP
   platform's encoder).

CPU-bound: callers run :func:`convert` in a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import io
import math
import wave
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from opendialer.core.services.errors import ValidationFailed

SAMPLE_RATE = 8000
#: Shortest and longest message accepted (a safe-harbour message names the caller and
#: a number to call back: a few seconds; the person is waiting on the line).
MIN_MS = 1_000
MAX_MS = 30_000
#: Largest upload (a 30 s 48 kHz stereo 24-bit WAV is 8.6 MB).
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
#: Loudest 50 ms window below this: nothing a person would hear.
SILENCE_DBFS = -40.0
#: The telephone band kept by the resampler: full up to PASS_HZ, nothing above STOP_HZ.
PASS_HZ = 3400.0
STOP_HZ = 3900.0
#: Highest MP3 bitrate (MPEG-1 layer III): its audio bytes bound its length.
MP3_MAX_BYTES_PER_S = 320_000 // 8

WAV = "WAV"
MP3 = "MP3"
FIELD = "file"


@dataclass(frozen=True, slots=True)
class ConvertedAudio:
    """The message as stored: µ-law bytes at 8 kHz mono (one byte per sample)."""

    ulaw: bytes
    duration_ms: int
    #: What was uploaded: ``WAV`` or ``MP3``, its sample rate and channels.
    source_format: str
    source_rate: int
    source_channels: int
    #: Level of the loudest 50 ms, in dB below full scale.
    loudest_dbfs: float


def sniff(data: bytes) -> str | None:
    """``WAV``, ``MP3`` or None, by the file's first bytes."""
    if len(data) >= 12 and data[:4] in (b"RIFF", b"RIFX", b"RF64") and data[8:12] == b"WAVE":
        return WAV
    if data[:3] == b"ID3" or (len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return MP3
    return None


def _id3_size(data: bytes) -> int:
    """Bytes of a leading ID3v2 tag (cover art may be megabytes), 0 without one."""
    if len(data) < 10 or data[:3] != b"ID3":
        return 0
    size = 0
    for byte in data[6:10]:  # "syncsafe": 7 bits per byte
        size = (size << 7) | (byte & 0x7F)
    return 10 + size + (10 if data[5] & 0x10 else 0)


def _too_long(duration_ms: float) -> ValidationFailed:
    return ValidationFailed(
        "safe_harbour.too_long",
        field=FIELD,
        seconds=math.ceil(duration_ms / 1000),
        high=MAX_MS // 1000,
    )


def _check_length(duration_ms: float) -> None:
    if duration_ms < MIN_MS:
        raise ValidationFailed(
            "safe_harbour.too_short", field=FIELD, ms=round(duration_ms), low=MIN_MS // 1000
        )
    if duration_ms > MAX_MS + 50:  # an MP3's encoder padding is not the author's fault
        raise _too_long(duration_ms)


def _decode(data: bytes, kind: str) -> tuple[npt.NDArray[np.float64], int, int]:
    """Mono samples in [-1, 1] at the file's own rate, its rate and channels."""
    import miniaudio

    try:
        if kind == MP3 and len(data) - _id3_size(data) > MP3_MAX_BYTES_PER_S * (MAX_MS / 1000 + 2):
            raise _too_long(1000 * (len(data) - _id3_size(data)) / MP3_MAX_BYTES_PER_S)
        info = miniaudio.wav_get_info(data) if kind == WAV else miniaudio.mp3_get_info(data)
        if info.num_frames <= 0 or info.sample_rate <= 0 or info.nchannels <= 0:
            raise ValidationFailed("safe_harbour.no_audio", field=FIELD, kind=kind)
        _check_length(1000 * info.num_frames / info.sample_rate)
        decoded = miniaudio.decode(
            data,
            output_format=miniaudio.SampleFormat.FLOAT32,
            nchannels=1,
            sample_rate=info.sample_rate,
        )
    except miniaudio.MiniaudioError as exc:
        raise ValidationFailed(
            "safe_harbour.unreadable", field=FIELD, kind=kind, reason=str(exc)
        ) from None
    samples = np.frombuffer(decoded.samples, dtype=np.float32).astype(np.float64)
    if not samples.size:
        raise ValidationFailed("safe_harbour.no_audio", field=FIELD, kind=kind)
    return np.clip(samples, -1.0, 1.0), info.sample_rate, info.nchannels


def resample(samples: npt.NDArray[np.float64], rate: int) -> npt.NDArray[np.float64]:
    """``samples`` at ``rate`` → :data:`SAMPLE_RATE`, band-limited to the telephone band.

    One FFT of the whole (zero-padded) message: the spectrum up to the new Nyquist
    frequency, with a raised-cosine edge between PASS_HZ and STOP_HZ, is transformed
    back at the new length. Exact for any ratio (44.1 kHz → 8 kHz is 80/441)."""
    n_out = max(1, round(samples.size * SAMPLE_RATE / rate))
    pad = int(0.1 * rate)  # silence around: the FFT's wrap-around stays inaudible
    padded = np.concatenate([np.zeros(pad), samples, np.zeros(pad)])
    n_in = padded.size
    n_new = max(2, round(n_in * SAMPLE_RATE / rate))
    spectrum = np.fft.rfft(padded)
    kept = np.zeros(n_new // 2 + 1, dtype=complex)
    bins = min(kept.size, spectrum.size)
    kept[:bins] = spectrum[:bins]
    freqs = np.arange(kept.size) * rate / n_in
    edge = np.clip((freqs - PASS_HZ) / (STOP_HZ - PASS_HZ), 0.0, 1.0)
    kept *= 0.5 * (1.0 + np.cos(np.pi * edge))
    out = np.fft.irfft(kept, n_new) * (n_new / n_in)
    start = round(pad * SAMPLE_RATE / rate)
    return out[start : start + n_out]


def loudest_dbfs(samples: npt.NDArray[np.float64], window: int = SAMPLE_RATE // 20) -> float:
    """RMS level of the loudest ``window`` samples (50 ms at 8 kHz), in dBFS."""
    frames = samples[: samples.size - samples.size % window].reshape(-1, window)
    if not frames.size:
        frames = samples.reshape(1, -1)
    rms = float(np.sqrt(np.max(np.mean(frames**2, axis=1))))
    return 20 * math.log10(rms) if rms > 0 else -math.inf


# -- G.711 µ-law -------------------------------------------------------------------


def _ulaw_encode_table() -> npt.NDArray[np.uint8]:
    # ITU-T G.711 µ-law, 14-bit magnitude with the bias of 33 (reference g711.c).
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.where(pcm < 0, -pcm, pcm), 8159) + 33
    segment = np.maximum(np.floor(np.log2(magnitude)).astype(np.int32) - 5, 0)
    code = (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F)
    code = np.where(segment >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _ulaw_decode_table() -> npt.NDArray[np.int16]:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (code >> 4) & 0x07
    magnitude = ((((code & 0x0F) << 3) + 0x84) << exponent) - 0x84
    return np.where(code & 0x80, -magnitude, magnitude).astype(np.int16)


PCM_TO_ULAW = _ulaw_encode_table()
ULAW_TO_PCM = _ulaw_decode_table()


def ulaw_encode(pcm: npt.NDArray[np.int16]) -> bytes:
    return bytes(PCM_TO_ULAW[pcm.astype(np.int32) + 32768])


def ulaw_decode(ulaw: bytes) -> npt.NDArray[np.int16]:
    return ULAW_TO_PCM[np.frombuffer(ulaw, dtype=np.uint8)]


def convert(data: bytes) -> ConvertedAudio:
    """The uploaded file as the message to store, or a ValidationFailed (field ``file``)
    saying what is wrong with it."""
    if not data:
        raise ValidationFailed("safe_harbour.empty", field=FIELD)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed(
            "safe_harbour.too_large", field=FIELD, size=len(data), mb=MAX_UPLOAD_BYTES >> 20
        )
    kind = sniff(data)
    if kind is None:
        raise ValidationFailed("safe_harbour.not_audio", field=FIELD)
    samples, rate, channels = _decode(data, kind)
    at_8k = resample(samples, rate) if rate != SAMPLE_RATE else samples
    duration_ms = 1000 * at_8k.size / SAMPLE_RATE
    _check_length(duration_ms)
    level = loudest_dbfs(at_8k)
    if level < SILENCE_DBFS:
        raise ValidationFailed(
            "safe_harbour.silent",
            field=FIELD,
            dbfs="-inf" if math.isinf(level) else f"{level:.0f}",
            limit=f"{SILENCE_DBFS:.0f}",
        )
    pcm = np.clip(np.round(at_8k * 32767.0), -32768, 32767).astype(np.int16)
    return ConvertedAudio(
        ulaw=ulaw_encode(pcm),
        duration_ms=round(duration_ms),
        source_format=kind,
        source_rate=rate,
        source_channels=channels,
        loudest_dbfs=round(level, 1),
    )


def wav_from_ulaw(ulaw: bytes) -> bytes:
    """A 16-bit PCM WAV (8 kHz mono) of stored µ-law, for a browser to play: browsers
    play PCM WAV, not every one plays µ-law WAV."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(ulaw_decode(ulaw).astype("<i2").tobytes())
    return out.getvalue()


__all__ = [
    "MAX_MS",
    "MAX_UPLOAD_BYTES",
    "MIN_MS",
    "SAMPLE_RATE",
    "ConvertedAudio",
    "convert",
    "resample",
    "sniff",
    "ulaw_decode",
    "ulaw_encode",
    "wav_from_ulaw",
]
