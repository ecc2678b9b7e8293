"""G.711 µ-law / A-law with numpy lookup tables: one table index per sample, no Python loop.

Decoding is a 256-entry table (code → int16); encoding is a 65,536-entry table
(int16 → code) built once at import from the vectorised ITU-T G.711 formulas.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

PCMU = 0  # RTP payload type of µ-law (RFC 3551)
PCMA = 8  # RTP payload type of A-law


def _ulaw_decode_table() -> npt.NDArray[np.int16]:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(code & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_decode_table() -> npt.NDArray[np.int16]:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    segment = (code & 0x70) >> 4
    value = (code & 0x0F) << 4
    value = np.where(segment == 0, value + 8, value + 0x108)
    value = np.where(segment > 1, value << np.maximum(segment - 1, 0), value)
    return np.where(code & 0x80, value, -value).astype(np.int16)


def _ulaw_encode_table() -> npt.NDArray[np.uint8]:
    # The 14-bit formulation of the reference g711.c (same codes as audioop/sox).
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.where(pcm < 0, -pcm, pcm), 8159) + 33
    segment = np.maximum(np.floor(np.log2(magnitude)).astype(np.int32) - 5, 0)
    code = (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F)
    code = np.where(segment >= 8, 0x7F, code)  # clipped: the loudest code
    return (code ^ mask).astype(np.uint8)


def _alaw_encode_table() -> npt.NDArray[np.uint8]:
    pcm = np.arange(-32768, 32768, dtype=np.int32)
    sign = np.where(pcm >= 0, 0x80, 0)
    magnitude = np.where(pcm >= 0, pcm, -pcm - 1) >> 3  # 13-bit magnitude
    magnitude = np.minimum(magnitude, 0xFFF)
    # segment = number of significant bits above the 5 lowest, 0..7
    bits = np.floor(np.log2(np.maximum(magnitude, 1))).astype(np.int32)
    segment = np.clip(bits - 4, 0, 7)
    mantissa = np.where(segment == 0, magnitude >> 1, magnitude >> segment) & 0x0F
    return ((sign | (segment << 4) | mantissa) ^ 0x55).astype(np.uint8)


ULAW_TO_PCM = _ulaw_decode_table()
ALAW_TO_PCM = _alaw_decode_table()
PCM_TO_ULAW = _ulaw_encode_table()
PCM_TO_ALAW = _alaw_encode_table()

_DECODE = {PCMU: ULAW_TO_PCM, PCMA: ALAW_TO_PCM}
_ENCODE = {PCMU: PCM_TO_ULAW, PCMA: PCM_TO_ALAW}


def decode(payload: bytes | bytearray | memoryview, payload_type: int) -> npt.NDArray[np.int16]:
    """G.711 bytes (any number of packets joined) → 16-bit PCM samples."""
    codes = np.frombuffer(payload, dtype=np.uint8)
    return _DECODE[payload_type][codes]


def encode(pcm: npt.NDArray[np.int16], payload_type: int) -> bytes:
    """16-bit PCM samples → G.711 bytes of the payload type (0 µ-law, 8 A-law)."""
    index = pcm.astype(np.int32) + 32768
    return bytes(_ENCODE[payload_type][index])


def transcode(payload: bytes, from_type: int, to_type: int) -> bytes:
    """G.711 of one law → the other (decode, then encode: what a gateway does)."""
    if from_type == to_type:
        return payload
    return encode(decode(payload, from_type), to_type)
