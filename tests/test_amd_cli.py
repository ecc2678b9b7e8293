"""``opendialer amd analyze|listen`` as a user runs them, on WAVs written at test time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from amd_fixtures import synth as s
from audio_support import PyAudioUnavailable, alsa_config, ensure_pyaudio
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


def run_cli_without(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process where ``import module`` fails, as without its extra."""
    code = (
        f"import sys; sys.modules[{module!r}] = None; sys.argv = ['opendialer', *sys.argv[1:]]; "
        "from opendialer.cli import main; main()"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_plot_writes_a_png(wavs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    r = run_cli("amd", "analyze", str(wavs["beep_ulaw"]), "--plot", str(out))
    assert r.returncode == 0, r.stderr
    assert ": MACHINE at" in r.stdout and f"plot written to {out}" in r.stderr
    assert png_size(out) == (1100, 500)
    r = run_cli("amd", "analyze", str(wavs["human"]), str(wavs["beep_ulaw"]), "--plot", str(out))
    assert r.returncode == 2 and "exactly one FILE" in r.stderr


def test_plot_shows_energy_floor_segments_tones_and_the_decision(wavs: dict[str, Path]) -> None:
    from matplotlib.colors import to_rgba

    from opendialer.plugins.amd_numpy.detector import NumpyAmdSession
    from opendialer.plugins.amd_numpy.params import parse_params
    from opendialer.plugins.amd_numpy.plot import figure

    samples, rate = read_wav(wavs["beep_ulaw"])  # 0.4 s quiet, 1.2 s speech, beep at 1.9 s
    session = NumpyAmdSession(parse_params({}), sample_rate=rate, trace=True)
    decision = session.feed(samples) or session.finish()
    fig = figure(samples, rate, session, decision)
    wave, energy, score = fig.axes  # score: the learned model's P(machine), right axis
    assert score.get_ylim() == (0, 1) and "P(machine)" in score.get_ylabel()
    (probs,) = score.get_lines()
    assert len(probs.get_xdata()) >= 10  # one per 100 ms block since the greeting began
    assert all(0 <= p <= 1 for p in probs.get_ydata())
    assert decision.label.value in wave.get_title() and "beep 1000 Hz" in wave.get_title()
    labels = [line.get_label() for line in energy.get_lines()]
    assert labels[:3] == ["energy (120 ms)", "noise floor", "threshold"]

    def spans(ax, colour: str) -> list[tuple[float, float]]:
        return [
            (p.get_x(), p.get_x() + p.get_width())
            for p in ax.patches
            if p.get_facecolor()[:3] == to_rgba(colour)[:3]
        ]

    (tone,) = spans(energy, "tab:orange")
    assert tone[0] == pytest.approx(1.9, abs=0.05) and tone[1] == pytest.approx(2.4, abs=0.05)
    speech = spans(energy, "tab:green")
    assert speech == spans(wave, "tab:green")
    # the speech segments cover the 1.2 s of speech (a beep's first 30 ms pass for
    # speech until the tone tracker holds it)
    before_tone = [span for span in speech if span[1] <= tone[0]]
    assert before_tone[0][0] == pytest.approx(0.4, abs=0.05)
    assert before_tone[-1][1] == pytest.approx(1.6, abs=0.1)
    assert sum(end - start for start, end in before_tone) > 1.0
    assert all(end <= tone[0] + 0.05 for _, end in speech)
    assert [t.get_text() for t in energy.texts] == ["beep 1000 Hz"]
    decided = [ln for ln in energy.get_lines() if ln.get_color() == "tab:red"]
    assert [ln.get_xdata()[0] for ln in decided] == [decision.decision_ms / 1000]


def test_plot_without_matplotlib_names_the_extra(wavs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    r = run_cli_without("matplotlib", "amd", "analyze", str(wavs["beep_ulaw"]), "--plot", str(out))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "error: --plot needs matplotlib: pip install 'opendialer[plot]'"
    )
    assert not out.exists()


def test_listen_without_pyaudio_names_the_extra(wavs: dict[str, Path]) -> None:
    r = run_cli_without("pyaudio", "amd", "listen", str(wavs["human"]))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "error: amd listen needs PyAudio: pip install 'opendialer[audio]'"
    )


@pytest.fixture(scope="module")
def pyaudio_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a child process that can ``import pyaudio``."""
    try:
        directory = ensure_pyaudio(tmp_path_factory.mktemp("pyaudio"))
    except PyAudioUnavailable as exc:
        pytest.fail(str(exc))
    env = dict(os.environ)
    if directory is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(directory), env.get("PYTHONPATH")]))
    return env


def test_listen_plays_the_file_and_shows_the_detector_live(
    wavs: dict[str, Path], pyaudio_env: dict[str, str], tmp_path: Path
) -> None:
    played = tmp_path / "played.raw"
    env = dict(
        pyaudio_env, ALSA_CONFIG_PATH=str(alsa_config(tmp_path / "alsa.conf", record_to=played))
    )
    r = run_cli("amd", "listen", str(wavs["beep_ulaw"]), env=env)
    assert r.returncode == 0, r.stderr

    # every sample reached the sound device, in order
    samples, _ = read_wav(wavs["beep_ulaw"])
    assert played.read_bytes() == np.clip(samples, -32768, 32767).astype("<i2").tobytes()

    # one line per 100 ms of audio (stdout is not a terminal), then the verdict
    lines = r.stdout.strip().splitlines()
    times = [float(line.split()[0]) for line in lines[:-1]]
    assert times == pytest.approx([0.1 * (i + 1) for i in range(len(times) - 1)] + [times[-1]])
    assert times[-1] == pytest.approx(len(samples) / 8000)
    at = {round(t, 1): line for t, line in zip(times, lines, strict=False)}
    assert " quiet " in at[0.3] and "listening: no speech in 0.30s" in at[0.3]
    assert " speech " in at[1.0] and "listening: initial_silence=0.4" in at[1.0]
    assert "energy" in at[1.0] and "threshold" in at[1.0] and "floor" in at[1.0]
    analyze = run_cli("amd", "analyze", "--json", str(wavs["beep_ulaw"]))
    expected = json.loads(analyze.stdout)
    decided_s = expected["decision_ms"] / 1000
    assert lines[-1] == (
        f"verdict: {expected['label']} at {decided_s:.2f} s ({expected['reasons']})"
    )
    after = [line for t, line in zip(times, lines, strict=False) if t >= decided_s]
    verdict = f"MACHINE at {decided_s:.2f} s ({expected['reasons']})"
    assert after and all(line.endswith(verdict) for line in after)
    assert "beep 1000 Hz at 1.90 s" in verdict


def test_listen_without_a_sound_card_is_a_one_line_error(
    wavs: dict[str, Path], pyaudio_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(pyaudio_env, ALSA_CONFIG_PATH=str(alsa_config(tmp_path / "alsa.conf")))
    r = run_cli("amd", "listen", str(wavs["human"]), env=env)
    assert r.returncode == 1
    assert r.stdout == ""
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {wavs['human']}: cannot open an audio output device "
        "([Errno -9996] Invalid output device (no default output device))"
    ]
    assert "Traceback" not in r.stderr


def test_plugin_is_listed_with_its_hooks() -> None:
    r = run_cli("plugins", "list", "--json")
    assert r.returncode == 0, r.stderr
    plugins = {p["name"]: p for p in json.loads(r.stdout)}
    assert plugins["amd_numpy"]["source"] == "builtin"
    assert plugins["amd_numpy"]["hooks"] == ["register_amd_strategies", "register_commands"]
