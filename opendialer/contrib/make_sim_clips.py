"""Make the simulator's answer clips with a TTS engine (espeak-ng).

    python -m opendialer.contrib.make_sim_clips [--out DIR]

Writes 8 kHz 16-bit mono WAVs into ``opendialer/plugins/platform_sim/clips/``:
``human_*.wav`` (a short "hello?" then the silence of someone waiting) and
``machine_*.wav`` (a voicemail greeting, then a beep). The simulator plays them
to the campaign's AMD detector. Needs ``espeak-ng`` (``apt-get install espeak-ng``).
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

RATE = 8000
OUT = Path(__file__).resolve().parent.parent / "plugins" / "platform_sim" / "clips"

#: name → (voice, speed wpm, pitch, text, silence before s, silence after s, beep)
CLIPS: dict[str, tuple[str, int, int, str, float, float, bool]] = {
    "human_hello": ("en-us", 170, 50, "Hello?", 0.4, 2.6, False),
    "human_yes": ("en-gb", 180, 40, "Yes, hello?", 0.3, 2.4, False),
    "human_hi_who": ("en-us+f3", 175, 60, "Hi. Who is this?", 0.5, 2.2, False),
    "machine_away": (
        "en-us",
        165,
        50,
        "Hi, you have reached the Smith family. We can't take your call right now. "
        "Please leave a message after the tone.",
        0.3,
        0.3,
        True,
    ),
    "machine_office": (
        "en-gb+f2",
        170,
        55,
        "Thank you for calling. Our office is closed. Please leave your name and number "
        "and we will call you back.",
        0.4,
        0.3,
        True,
    ),
    "machine_carrier": (
        "en-us+m3",
        160,
        45,
        "The person you are calling is not available. At the tone, please record your message.",
        0.2,
        0.3,
        True,
    ),
}


def speak(voice: str, speed: int, pitch: int, text: str) -> tuple[npt.NDArray[np.float64], int]:
    exe = shutil.which("espeak-ng")
    if exe is None:
        sys.exit("espeak-ng not found: install it (apt-get install espeak-ng) and run again")
    wav = subprocess.run(
        [exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
        capture_output=True,
        check=True,
    ).stdout
    with wave.open(io.BytesIO(wav)) as reader:
        rate = reader.getframerate()
        frames = reader.readframes(reader.getnframes())
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float64)
    return samples, rate


def resample(samples: npt.NDArray[np.float64], rate: int, to: int) -> npt.NDArray[np.float64]:
    """Band-limited resampling in the frequency domain (no SciPy needed)."""
    n_out = round(len(samples) * to / rate)
    spectrum = np.fft.rfft(samples)
    keep = n_out // 2 + 1
    return np.fft.irfft(spectrum[:keep], n_out) * (n_out / len(samples))


def build(name: str) -> npt.NDArray[np.int16]:
    voice, speed, pitch, text, before, after, beep = CLIPS[name]
    speech, rate = speak(voice, speed, pitch, text)
    speech = resample(speech, rate, RATE)
    speech *= 0.7 * 32767 / max(1.0, float(np.max(np.abs(speech))))
    rng = np.random.default_rng(len(name))  # a little line noise, the same every run
    parts = [np.zeros(int(before * RATE)), speech]
    if beep:
        t = np.arange(int(0.5 * RATE)) / RATE
        parts += [np.zeros(int(0.3 * RATE)), 0.5 * 32767 * np.sin(2 * np.pi * 1000 * t)]
    parts.append(np.zeros(int(after * RATE)))
    audio = np.concatenate(parts) + rng.normal(0, 30, sum(len(p) for p in parts))
    return np.clip(audio, -32768, 32767).astype(np.int16)


def write(path: Path, pcm: npt.NDArray[np.int16]) -> None:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes(pcm.astype("<i2").tobytes())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for name in CLIPS:
        pcm = build(name)
        path = args.out / f"{name}.wav"
        write(path, pcm)
        total += path.stat().st_size
        print(f"{path}  {len(pcm) / RATE:.2f} s")
    print(f"{len(CLIPS)} clips, {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
