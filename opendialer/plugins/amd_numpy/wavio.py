"""Read the WAV files people record from phone lines: PCM 8/16-bit, G.711 µ-law and A-law.

The RIFF chunks are parsed here (the stdlib ``wave`` module refuses format
tags 6 and 7). Multi-channel files are mixed down to mono. The result is
int16-scaled float samples and the file's sample rate; the detector resamples.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt

PCM, ALAW, MULAW, EXTENSIBLE = 1, 6, 7, 0xFFFE


class WavError(ValueError):
    """The file is not a WAV this reader understands; the message says why."""


def _mulaw_table() -> npt.NDArray[np.int16]:
    u = ~np.arange(256, dtype=np.int64) & 0xFF
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> npt.NDArray[np.int16]:
    a = np.arange(256, dtype=np.int64) ^ 0x55
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    return np.where(a & 0x80, magnitude, -magnitude).astype(np.int16)


MULAW_DECODE = _mulaw_table()
ALAW_DECODE = _alaw_table()


def read_wav(path: str | Path) -> tuple[npt.NDArray[np.float64], int]:
    """``(samples, rate)``; raises :class:`WavError` (or OSError) with the reason."""
    data = Path(path).read_bytes()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError("not a WAV file (no RIFF/WAVE header)")
    fmt: tuple[int, int, int, int] | None = None
    payload: bytes | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        if chunk_id == b"fmt ":
            if len(body) < 16:
                raise WavError("fmt chunk is too short")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == EXTENSIBLE and len(body) >= 26:
                (tag,) = struct.unpack("<H", body[24:26])
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            payload = body
            break
        pos += 8 + size + (size & 1)
    if fmt is None:
        raise WavError("no fmt chunk")
    if payload is None:
        raise WavError("no data chunk")
    tag, channels, rate, bits = fmt
    if channels < 1 or rate < 1:
        raise WavError(f"bad header: {channels} channels at {rate} Hz")
    if tag == PCM and bits == 16:
        samples = np.frombuffer(payload[: len(payload) // 2 * 2], dtype="<i2").astype(np.float64)
    elif tag == PCM and bits == 8:
        samples = (np.frombuffer(payload, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
    elif tag == MULAW and bits == 8:
        samples = MULAW_DECODE[np.frombuffer(payload, dtype=np.uint8)].astype(np.float64)
    elif tag == ALAW and bits == 8:
        samples = ALAW_DECODE[np.frombuffer(payload, dtype=np.uint8)].astype(np.float64)
    else:
        raise WavError(
            f"unsupported encoding (format tag {tag}, {bits} bits): "
            "use 8/16-bit PCM, µ-law or A-law"
        )
    if channels > 1:
        frames = len(samples) // channels
        samples = samples[: frames * channels].reshape(frames, channels).mean(axis=1)
    if len(samples) == 0:
        raise WavError("the data chunk holds no audio")
    return samples, rate


def write_wav(
    path: str | Path, samples: npt.ArrayLike, rate: int = 8000, encoding: str = "pcm16"
) -> None:
    """Write mono audio (int16 scale) as ``pcm16``, ``pcm8``, ``ulaw`` or ``alaw``."""
    x = np.clip(np.rint(np.asarray(samples, dtype=np.float64)), -32768, 32767).astype(np.int16)
    if encoding == "pcm16":
        tag, bits, body = PCM, 16, x.astype("<i2").tobytes()
    elif encoding == "pcm8":
        tag, bits, body = PCM, 8, ((x.astype(np.int32) >> 8) + 128).astype(np.uint8).tobytes()
    elif encoding in ("ulaw", "alaw"):
        table = MULAW_DECODE if encoding == "ulaw" else ALAW_DECODE
        # nearest code by value: encode through the sorted decode table
        order = np.argsort(table)
        values = table[order].astype(np.int64)
        idx = np.clip(np.searchsorted(values, x.astype(np.int64)), 1, 255)
        nearer_left = np.abs(values[idx - 1] - x) <= np.abs(values[idx] - x)
        codes = order[np.where(nearer_left, idx - 1, idx)].astype(np.uint8)
        tag, bits, body = (MULAW if encoding == "ulaw" else ALAW), 8, codes.tobytes()
    else:
        raise ValueError(f"unknown encoding {encoding!r}")
    block = bits // 8
    fmt = struct.pack("<HHIIHH", tag, 1, rate, rate * block, block, bits)
    riff = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
    riff += b"data" + struct.pack("<I", len(body)) + body + (b"\0" if len(body) & 1 else b"")
    Path(path).write_bytes(b"RIFF" + struct.pack("<I", len(riff)) + riff)
