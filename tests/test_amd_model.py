"""The learned model inside the numpy AMD strategy, through the SDK and the CLI.

The two WAVs come from a held-out draw of the earlier ``bench/amd_heldout_corpus.py`` (since replaced by
``bench/amd_corpus``; seed
707: engines, voices and phrases the model was not trained on):

- ``heldout_long_live_greeting.wav``: a person (espeak-ng New York accent) who
  answers "Hi, front desk, Linda speaking, can I help you?" at 0.86 s — 4.1 s of
  speech, longer than ``greeting_ms``, so the timing rules hang up on her;
- ``heldout_carrier_nobeep.wav``: a carrier announcement without a beep (SVOX
  pico en-GB), "All circuits are busy now. Please try your call again later.",
  ending at 4.62 s, then silence — by length and pause a long live greeting to
  the timing rules, which release it after 1 s of silence. Here a beep is added
  1.5 s after it: the model, unsure, waits for it instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from amd_fixtures import synth as s
from helpers import run_cli

from opendialer.core.plugins import PluginManager
from opendialer.plugins.amd_numpy.model import FEATURE_NAMES, shipped_model
from opendialer.plugins.amd_numpy.wavio import read_wav, write_wav
from opendialer.sdk.contracts import AmdDecision, AmdLabel

FIXTURES = Path(__file__).parent / "amd_fixtures"
LIVE = FIXTURES / "heldout_long_live_greeting.wav"
RECORDING = FIXTURES / "heldout_carrier_nobeep.wav"


GREETING_END_S = 4.62


def late_beep(path: Path) -> Path:
    """The recording with a beep 1.5 s after its greeting, the line's noise around it."""
    x, rate = read_wav(RECORDING)
    noise = x[int((GREETING_END_S + 0.2) * rate) :]
    line = np.tile(noise, 3)
    at = int((GREETING_END_S + 1.5) * rate)
    y = np.concatenate([x[:at], s.tone(1000, 0.4, level_dbfs=-20.0) + line[: int(0.4 * rate)]])
    write_wav(path, np.concatenate([y, line[: 2 * rate]]), rate, "pcm16")
    return path


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


def test_an_unsure_recording_waits_for_its_late_beep(tmp_path: Path) -> None:
    clip = late_beep(tmp_path / "late_beep.wav")
    d = detect(clip)
    assert d.label is AmdLabel.MACHINE and "beep 1000 Hz" in d.reasons, d.reasons
    assert d.decision_ms / 1000 > GREETING_END_S + 1.5
    # the timing rules alone released it to an agent after 1 s of silence
    rules = detect(clip, {"model": 0})
    assert rules.label is AmdLabel.HUMAN
    assert rules.decision_ms / 1000 < GREETING_END_S + 1.5


def test_the_reasons_add_the_score_and_the_weightiest_features() -> None:
    strategy = PluginManager().load_all().factories("amd_strategies")["numpy"](context=None)
    x, rate = read_wav(RECORDING)
    session = strategy.new_session({}, sample_rate=rate)
    session.feed(np.clip(x[: int((GREETING_END_S + 1.2) * rate)], -32768, 32767).astype(np.int16))
    # unsure, waiting: what it says meanwhile (amd listen shows this)
    said = session.describe()
    assert said.startswith("initial_silence=") and "greeting=" in said  # today's reasons
    model = said.split("P(machine)=")[1]
    assert 0.0 < float(model.split()[0]) < 1.0
    named = model.split("(")[1].split(")")[0].split()
    assert len(named) == 3  # "voiced_s+0.8": name, weight x standardised value
    assert all(n[: max(n.rfind("+"), n.rfind("-"))] in FEATURE_NAMES for n in named)


def test_the_verdict_does_not_depend_on_how_the_audio_is_cut() -> None:
    for path in (LIVE, RECORDING):
        assert detect(path, piece_ms=20) == detect(path, piece_ms=1000)
    assert detect(RECORDING).label is AmdLabel.NOTSURE  # the file ends while it waits


def test_the_shipped_model_says_what_it_was_trained_on() -> None:
    model = shipped_model()
    assert "bench/amd_train.py" in model.corpus and "amd-train2" in model.corpus
    assert model.mean.shape == model.scale.shape == (len(FEATURE_NAMES),)


def test_analyze_shows_the_model_and_can_turn_it_off() -> None:
    r = run_cli("amd", "analyze", "--json", str(LIVE))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["label"] == "HUMAN" and "model P(machine)=" in out["reasons"]
    r = run_cli("amd", "analyze", "--json", "--param", "model=0", str(LIVE))
    assert json.loads(r.stdout)["label"] == "MACHINE"


def test_plot_draws_the_score(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "live.png"
    r = run_cli("amd", "analyze", str(LIVE), "--plot", str(png))
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "model P(machine)" in r.stdout


def with_line_after(path: Path, out: Path, end_s: float, seconds: float, again: bool) -> Path:
    """The clip up to ``end_s``, then its own line noise for ``seconds``; with ``again``,
    the clip's speech from 0.9 to 1.5 s said once more 1.3 s into that silence ("Hello?")."""
    x, rate = read_wav(path)
    line = np.tile(x[int((end_s + 0.2) * rate) :], 20)[: int(seconds * rate)]
    y = np.concatenate([x[: int(end_s * rate)], line])
    if again:
        hello = x[int(0.9 * rate) : int(1.5 * rate)]  # both fixtures speak from ~0.86 s
        at = int((end_s + 1.3) * rate)
        y[at : at + len(hello)] = hello
    write_wav(out, y, rate, "pcm16")
    return out


LIVE_END_S = 4.75  # her "... can I help you?" ends


def test_a_second_utterance_after_the_silence_is_a_person(tmp_path: Path) -> None:
    clip = with_line_after(LIVE, tmp_path / "again.wav", LIVE_END_S, 4.0, again=True)
    d = detect(clip, {"model_human": 0.0})  # the model may not release her before
    assert d.label is AmdLabel.HUMAN and "second utterance after" in d.reasons, d.reasons
    assert LIVE_END_S + 1.3 < d.decision_ms / 1000 < LIVE_END_S + 1.3 + 0.4  # at once
    # without the rule her "Hello?" is more greeting: past the live length, a machine
    off = detect(clip, {"model_human": 0.0, "second_utterance_ms": 0})
    assert off.label is not AmdLabel.HUMAN or "second utterance" not in off.reasons


def test_a_recording_that_stays_silent_is_a_machine(tmp_path: Path) -> None:
    clip = with_line_after(RECORDING, tmp_path / "silent.wav", GREETING_END_S + 0.3, 6.0, False)
    d = detect(clip)
    assert d.label is AmdLabel.MACHINE, d.reasons
    assert d.decision_ms / 1000 < GREETING_END_S + 2.5
    # a model never sure enough to decide alone: the silence after the wait decides
    unsure = {"model_machine": 1.0}
    d = detect(clip, unsure)
    assert d.label is AmdLabel.MACHINE and "silent after model_wait" in d.reasons, d.reasons
    # with the old rule (unsure goes to a person) it reached an agent
    assert detect(clip, unsure | {"model_silent_machine": 1.0}).label is AmdLabel.HUMAN
