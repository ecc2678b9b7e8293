"""``opendialer amd analyze|listen`` as a user runs them, on WAVs written at test time."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from amd_fixtures import synth as s
from helpers import run_cli

from opendialer.plugins.amd_numpy.wavio import read_wav, write_wav


def beep_clip() -> np.ndarray:
    g = s.rng(40)
    return s.join(
        s.silence(0.4, g), s.speech(1.2, g), s.silence(0.3, g), s.tone(1000, 0.5), s.silence(2, g)
    )


@pytest.fixture(scope="module")
def wavs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("amd_wavs")
    human = s.human(s.rng(41))
    beep = beep_clip()
    files = {
        "human": (human, 8000, "pcm16"),
        "beep_ulaw": (beep, 8000, "ulaw"),
        "beep_alaw": (beep, 8000, "alaw"),
        "beep_pcm8": (beep, 8000, "pcm8"),
        "beep_16k": (
            np.interp(np.arange(2 * len(beep)) / 2, np.arange(len(beep)), beep),
            16000,
            "pcm16",
        ),
    }
    out = {}
    for name, (x, rate, enc) in files.items():
        out[name] = d / f"{name}.wav"
        write_wav(out[name], x, rate, enc)
    out["bad"] = d / "bad.wav"
    out["bad"].write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    return out


def test_wav_reader_decodes_g711_and_pcm8_close_to_the_original(wavs: dict[str, Path]) -> None:
    ref, rate = read_wav(wavs["human"])
    assert rate == 8000 and len(ref) == len(s.human(s.rng(41)))
    for name in ("beep_ulaw", "beep_alaw", "beep_pcm8"):
        x, rate = read_wav(wavs[name])
        clean = beep_clip()
        assert rate == 8000 and len(x) == len(clean)
        loud = np.abs(clean) > 1000
        # G.711 and 8-bit PCM are lossy, but only by a few percent on loud samples
        assert np.median(np.abs(x[loud] - clean[loud]) / np.abs(clean[loud])) < 0.05


def test_analyze_prints_one_line_per_file(wavs: dict[str, Path]) -> None:
    r = run_cli("amd", "analyze", str(wavs["human"]), str(wavs["beep_ulaw"]))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{wavs['human']}: HUMAN at ")
    assert "beep 1000 Hz at 1.90 s" in lines[1] and ": MACHINE at" in lines[1]


def test_analyze_json_accepts_every_encoding_and_rate(wavs: dict[str, Path]) -> None:
    names = ["beep_ulaw", "beep_alaw", "beep_pcm8", "beep_16k"]
    r = run_cli("amd", "analyze", "--json", *[str(wavs[n]) for n in names])
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.strip().splitlines()]
    assert [row["file"] for row in rows] == [str(wavs[n]) for n in names]
    for row in rows:
        assert list(row) == ["file", "label", "decision_ms", "reasons"]
        assert row["label"] == "MACHINE", row
        assert "beep 1000 Hz" in row["reasons"]
        assert isinstance(row["decision_ms"], float)


def test_bad_file_is_one_line_error_and_the_others_are_still_analysed(
    wavs: dict[str, Path],
) -> None:
    missing = wavs["human"].parent / "missing.wav"
    r = run_cli("amd", "analyze", "--json", str(wavs["bad"]), str(wavs["human"]), str(missing))
    assert r.returncode == 1
    rows = [json.loads(line) for line in r.stdout.strip().splitlines()]
    assert [row["label"] for row in rows] == ["HUMAN"]
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert str(wavs["bad"]) in errors[0] and "no fmt chunk" in errors[0]
    assert str(missing) in errors[1]


def test_params_presets_and_their_errors(wavs: dict[str, Path]) -> None:
    r = run_cli(
        "amd", "analyze", "--json", "--param", "afterGreetingSilence=1500", str(wavs["human"])
    )
    slow = json.loads(r.stdout)
    r = run_cli("amd", "analyze", "--json", "--preset", "fast", str(wavs["human"]))
    fast = json.loads(r.stdout)
    assert slow["label"] == fast["label"] == "HUMAN"
    assert slow["decision_ms"] - fast["decision_ms"] >= 900
    r = run_cli("amd", "analyze", "--param", "greting_ms=3", str(wavs["human"]))
    assert (
        r.returncode == 2
        and "unknown AMD parameter 'greting_ms'" in r.stderr
        and "greeting_ms" in r.stderr
    )
    r = run_cli("amd", "analyze", "--param", "greeting_ms=1", str(wavs["human"]))
    assert r.returncode == 2 and "out of range" in r.stderr
    r = run_cli("amd", "analyze", "--preset", "slow", str(wavs["human"]))
    assert r.returncode == 2 and "unknown AMD preset 'slow'" in r.stderr


def test_plot_draws_a_png_or_names_the_missing_extra(wavs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    r = run_cli("amd", "analyze", str(wavs["beep_ulaw"]), "--plot", str(out))
    if importlib.util.find_spec("matplotlib") is None:
        assert r.returncode == 2
        assert "opendialer[plot]" in r.stderr
        assert not out.exists()
    else:
        assert r.returncode == 0, r.stderr
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_listen_without_pyaudio_names_the_extra(wavs: dict[str, Path]) -> None:
    r = run_cli("amd", "listen", str(wavs["human"]))
    if importlib.util.find_spec("pyaudio") is None:
        assert r.returncode == 2
        assert r.stderr.strip().splitlines()[-1] == (
            "error: amd listen needs PyAudio: pip install 'opendialer[audio]'"
        )
    else:  # with PyAudio but maybe no sound card: it must at least not crash on import
        assert "needs PyAudio" not in r.stderr


def test_plugin_is_listed_with_its_hooks() -> None:
    r = run_cli("plugins", "list", "--json")
    assert r.returncode == 0, r.stderr
    plugins = {p["name"]: p for p in json.loads(r.stdout)}
    assert plugins["amd_numpy"]["source"] == "builtin"
    assert plugins["amd_numpy"]["hooks"] == ["register_amd_strategies", "register_commands"]
