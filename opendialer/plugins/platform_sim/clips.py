"""The answer clips the simulator plays to AMD (made by ``contrib/make_sim_clips.py``)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

CLIPS_DIR = Path(__file__).resolve().parent / "clips"
SAMPLE_RATE = 8000


def load_clips(directory: Path = CLIPS_DIR) -> dict[str, list[npt.NDArray[np.int16]]]:
    """``{"human": [...], "machine": [...]}`` — blocking file I/O: call it in a thread."""
    found: dict[str, list[npt.NDArray[np.int16]]] = {"human": [], "machine": []}
    for path in sorted(directory.glob("*.wav")):
        kind = path.stem.split("_", 1)[0]
        if kind not in found:
            continue
        with wave.open(str(path)) as reader:
            if reader.getframerate() != SAMPLE_RATE or reader.getsampwidth() != 2:
                raise ValueError(
                    f"{path}: the simulator needs 8 kHz 16-bit mono WAVs; "
                    "regenerate with python -m opendialer.contrib.make_sim_clips"
                )
            found[kind].append(np.frombuffer(reader.readframes(reader.getnframes()), "<i2"))
    return found


__all__ = ["SAMPLE_RATE", "load_clips"]
