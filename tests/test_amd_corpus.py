"""The AMD corpus generator (bench/amd_corpus/make.py): labels, the split by voice and phrase, seeds.

Tiny corpora of each split with espeak-ng only (``--engines espeak``), the one TTS
engine ``scripts/setup-test-deps`` installs for this.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from system_deps import missing

ROOT = Path(__file__).resolve().parents[1]
MAKE = ROOT / "bench" / "amd_corpus" / "make.py"
SHARED_COLUMNS = (
    "file,label,duration_s,speech_onset_s,greeting_end_s,speech_end_s,beep_start_s,beep_end_s,"
    "beep_freq_hz,tone_start_s,n_utterances,scenario,lang,engine,voice,speed,music,noise_type,"
    "snr_db,snr_bin,gain_db,loss_pct,text"
).split(",")


def make(split: str, out: Path, cache: Path, seed: int = 7) -> list[dict[str, str]]:
    if shutil.which("espeak-ng") is None:
        missing("espeak-ng", "espeak-ng")
    cmd = [sys.executable, str(MAKE), "--split", split, "--seed", str(seed), "--out", str(out)]
    cmd += ["--clips", "8", "--engines", "espeak", "--jobs", "1", "--cache", str(cache)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    with open(out / "labels.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("amd")
    out = {split: base / split for split in ("train", "heldout")}
    for split, path in out.items():
        make(split, path, base / "cache")
    return out


def rows_of(path: Path) -> list[dict[str, str]]:
    with open(path / "labels.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_labels_csv_has_the_shared_columns_and_one_wav_per_row(corpora: dict[str, Path]) -> None:
    for split, path in corpora.items():
        rows = rows_of(path)
        assert len(rows) == 8
        assert list(rows[0])[: len(SHARED_COLUMNS)] == SHARED_COLUMNS
        assert {"split", "codec", "early_media_s"} <= set(rows[0])
        assert {r["label"] for r in rows} <= {"HUMAN", "MACHINE", "SILENCE", "FAX"}
        assert sorted(r["label"] for r in rows).count("HUMAN") == 4  # 45 % of 8
        for r in rows:
            assert r["split"] == split and r["codec"] in ("ulaw", "alaw")
            with wave.open(str(path / r["file"])) as w:
                assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
                assert abs(w.getnframes() - float(r["duration_s"]) * 8000) <= 4  # 3 decimals
            if r["label"] in ("HUMAN", "MACHINE"):
                assert r["engine"] == "espeak" and r["text"]
                assert (
                    0
                    <= float(r["speech_onset_s"])
                    < float(r["speech_end_s"])
                    <= float(r["duration_s"])
                )
        meta = json.loads((path / "meta.json").read_text())
        assert meta["split"] == split and meta["engines"] == ["espeak"]
        assert sum(meta["counts"].values()) == 8


def test_no_voice_and_no_phrase_is_in_both_splits(corpora: dict[str, Path]) -> None:
    voices = {
        split: {(r["engine"], r["voice"].split("+")[0]) for r in rows_of(p) if r["engine"]}
        for split, p in corpora.items()
    }
    assert voices["train"] and voices["heldout"]
    assert not voices["train"] & voices["heldout"]
    metas = {s: json.loads((p / "meta.json").read_text()) for s, p in corpora.items()}
    listed = {s: {v for vs in m["voices"].values() for v in vs} for s, m in metas.items()}
    assert not listed["train"] & listed["heldout"]
    assert not set(metas["train"]["espeak_variants"]) & set(metas["heldout"]["espeak_variants"])
    texts = {
        split: {piece for r in rows_of(p) for piece in r["text"].split(" | ") if piece}
        for split, p in corpora.items()
    }
    assert not texts["train"] & texts["heldout"]
    # the whole table and both banks, not only what 8 clips drew
    sys.path.insert(0, str(ROOT / "bench"))
    from amd_corpus.phrases import shared_phrases
    from amd_corpus.voices import VOICES

    splits_of: dict[tuple[str, str], set[str]] = {}
    for v in VOICES:
        splits_of.setdefault((v.engine, v.voice), set()).add(v.split)
    assert all(len(s) == 1 for s in splits_of.values())
    assert shared_phrases() == set()


def test_the_seed_reproduces_the_same_files(corpora: dict[str, Path], tmp_path: Path) -> None:
    # a fresh TTS cache: the engine runs again, not the cache
    again = make("heldout", tmp_path / "again", tmp_path / "cache")
    assert (tmp_path / "again" / "labels.csv").read_bytes() == (
        corpora["heldout"] / "labels.csv"
    ).read_bytes()
    for r in again:
        assert (tmp_path / "again" / r["file"]).read_bytes() == (
            corpora["heldout"] / r["file"]
        ).read_bytes()
    other = make("heldout", tmp_path / "other", tmp_path / "cache", seed=8)
    assert [r["text"] for r in other] != [r["text"] for r in again]
