"""``bench/amd_vad.py`` as a developer runs it, on a three-clip corpus written at test time.

Only the detector's own VAD is asked for (the packaged ones are optional installs):
its per-frame decisions, read from the trace, must find the live "Hello?" and the
recorded greeting where the labels put them and call nothing speech on the silent line.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from amd_fixtures import synth as s

from opendialer.plugins.amd_numpy.wavio import write_wav

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ["file", "label", "duration_s", "speech_onset_s", "greeting_end_s", "speech_end_s"]
COLUMNS += ["noise_type", "snr_bin"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("amd_vad_corpus")
    g = s.rng(61)
    clips = [  # (label, audio, onset s, end of the first utterance s)
        ("HUMAN", s.human(g, onset=0.6, hello=0.5), 0.6, 1.1),
        ("MACHINE", s.machine(g, greeting=3.0), 0.4, 3.4),
        ("SILENCE", s.silence(4.0, g), None, None),
    ]
    with open(d / "labels.csv", "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(COLUMNS)
        for i, (label, audio, onset, end) in enumerate(clips):
            name = f"clip_{i}.wav"
            write_wav(d / name, audio)
            out.writerow([name, label, len(audio) / s.RATE, onset, end, end, "line", "clean"])
    return d


def test_the_energy_vad_is_measured_from_the_detectors_trace(corpus: Path) -> None:
    script = ROOT / "bench" / "amd_vad.py"
    done = subprocess.run(
        [sys.executable, str(script), str(corpus), "--only", "energy", "--cpu-clips", "3"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    row = next(line for line in out.splitlines() if line.startswith("| energy |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # recall, false speech, false speech on SILENCE, SILENCE clips with a word, judged, CPU
    assert float(cells[1].rstrip(" %")) > 50.0
    assert float(cells[2].rstrip(" %")) < 5.0
    assert cells[3] == "0.0 %" and cells[4] == "0 of 1"
    assert float(cells[6].split()[0]) > 0  # CPU per second of audio, the whole detector
    onset = next(line for line in out.splitlines() if line.startswith("- energy:"))
    assert "100.0 % within 100 ms" in onset and "0 missed" in onset
    assert "| energy | 0.0 % |" in out.split("by noise")[1]  # the clean line: no speech
