"""The learned model inside the numpy AMD strategy, through the SDK and the CLI.

The two WAVs come from a held-out draw of ``bench/amd_heldout_corpus.py`` (seed
707: engines, voices and phrases the model was not trained on):

- ``heldout_long_live_greeting.wav``: a person (espeak-ng New York accent) who
  answers "Hi, front desk, Linda speaking, can I help you?" at 0.86 s — 4.1 s of
  speech, longer than ``greeting_ms``, so the timing rules hang up on her;
- ``heldout_carrier_nobeep.wav``: a carrier announcement without a beep (SVOX
  pico en-GB), "All circuits are busy now. Please try your call again later.",
  then silence — by length and pause a long live greeting to the timing rules.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

from opendialer.core.plugins import PluginManager
from opendialer.plugins.amd_numpy.model import FEATURE_NAMES, shipped_model
from opendialer.plugins.amd_numpy.wavio import read_wav
from opendialer.sdk.contracts import AmdDecision, AmdLabel

FIXTURES = Path(__file__).parent / "amd_fixtures"
LIVE = FIXTURES / "heldout_long_live_greeting.wav"
RECORDING = FIXTURES / "heldout_carrier_nobeep.wav"


def detect(path: Path, params: dict | None = None, piece_ms: int = 20) -> AmdDecision:
    """Feed the file as RTP brings it, through the strategy the plugin registers."""
    strategy = PluginManager().load_all().factories("amd_strategies")["numpy"](context=None)
    x, rate = read_wav(path)
    session = strategy.new_session(params or {}, sample_rate=rate)
    pcm = np.clip(x, -32768, 32767).astype(np.int16)
    step = rate * piece_ms // 1000
    for start in range(0, len(pcm), step):
        decision = session.feed(pcm[start : start + step])
        if decision is not None:
            return decision
    return session.finish()


def test_a_long_live_greeting_is_released_to_an_agent() -> None:
    d = detect(LIVE)
    assert d.label is AmdLabel.HUMAN, d.reasons
    assert "model P(machine)=" in d.reasons
    assert d.decision_ms < 7500  # released once her silence is heard, before the cap
    # the timing rules alone hang up on her: the model is what releases her
    rules = detect(LIVE, {"model": 0})
    assert rules.label is AmdLabel.MACHINE and "> greeting_ms" in rules.reasons


def test_a_recording_without_beep_is_a_machine() -> None:
    d = detect(RECORDING)
    assert d.label is AmdLabel.MACHINE, d.reasons
    assert ">= model_machine" in d.reasons
    # today's reasons stay, the model's score and its weightiest features follow
    assert d.reasons.startswith("initial_silence=") and "greeting=" in d.reasons
    model = d.reasons.split("P(machine)=")[1]
    assert float(model.split()[0]) >= 0.9
    named = model.split("(")[1].split(")")[0].split()
    assert len(named) == 3  # "voiced_s+0.8": name, weight x standardised value
    assert all(n[: max(n.rfind("+"), n.rfind("-"))] in FEATURE_NAMES for n in named)
    assert detect(RECORDING, {"model": 0}).label is AmdLabel.HUMAN


def test_the_verdict_does_not_depend_on_how_the_audio_is_cut() -> None:
    for path in (LIVE, RECORDING):
        assert detect(path, piece_ms=20) == detect(path, piece_ms=1000)


def test_the_shipped_model_says_what_it_was_trained_on() -> None:
    model = shipped_model()
    assert "bench/amd_train.py" in model.corpus and "amd-dev1" in model.corpus
    assert model.mean.shape == model.scale.shape == (len(FEATURE_NAMES),)


def test_analyze_shows_the_model_and_can_turn_it_off() -> None:
    r = run_cli("amd", "analyze", "--json", str(LIVE), str(RECORDING))
    assert r.returncode == 0, r.stderr
    out = {Path(o["file"]).name: o for o in map(json.loads, r.stdout.splitlines())}
    assert out[LIVE.name]["label"] == "HUMAN"
    assert out[RECORDING.name]["label"] == "MACHINE"
    assert all("model P(machine)=" in o["reasons"] for o in out.values())
    r = run_cli("amd", "analyze", "--json", "--param", "model=0", str(LIVE))
    assert json.loads(r.stdout)["label"] == "MACHINE"


def test_plot_draws_the_score(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "live.png"
    r = run_cli("amd", "analyze", str(LIVE), "--plot", str(png))
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "model P(machine)" in r.stdout
