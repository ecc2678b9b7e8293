"""Make a labelled AMD corpus of one split: WAVs, labels.csv and meta.json.

    python bench/amd_corpus/make.py --split train   --seed 1 --out /tmp/amd-train1 [--clips 800]
    python bench/amd_corpus/make.py --split heldout --seed 1 --out /tmp/amd-heldout1

Writes 8 kHz mono 16-bit WAVs (after a G.711 µ-law or A-law round trip) named
``SPLIT_NNNN.wav``, ``labels.csv`` (one row per clip) and ``meta.json`` (the
split's engines, voices and phrase bank, counts, tool versions). Classes:
HUMAN, MACHINE, SILENCE, FAX at 45/45/5/5 %.

Every (engine, voice) belongs to one split (``voices.py``) and every sentence
to one split's phrase bank (``phrases.py``): nothing of the held-out split is
heard in training. The same (--split, --seed, --clips) gives the same files,
whatever --jobs. TTS output is cached in --cache (default
``$TMPDIR/amd_tts_cache``); the engines come from ``bench/amd_corpus/setup.sh``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from scipy.io import wavfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amd_corpus.clips import Split, build_clip
from amd_corpus.phrases import BANKS, shared_phrases
from amd_corpus.signals import SR
from amd_corpus.voices import SPLITS, VOICES, variants_of

GENERATOR_VERSION = "2.1"
FIELDS = [
    "file", "label", "duration_s", "speech_onset_s", "greeting_end_s", "speech_end_s",
    "beep_start_s", "beep_end_s", "beep_freq_hz", "tone_start_s", "n_utterances",
    "scenario", "lang", "engine", "voice", "speed", "music", "noise_type", "snr_db", "snr_bin",
    "gain_db", "loss_pct", "text",
    # added by this generator
    "split", "codec", "plc", "jitter", "level_step_s", "level_step_db", "early_media_s",
    "again_s",
]  # fmt: skip
SHARES = {"HUMAN": 0.45, "MACHINE": 0.45, "SILENCE": 0.05}


def labels_for(split: Split, clips: int) -> list[str]:
    counts = {label: round(clips * share) for label, share in SHARES.items()}
    counts["FAX"] = clips - sum(counts.values())
    labels = [label for label, k in counts.items() for _ in range(k)]
    order = np.random.default_rng([split.seed, split.code, 10**6]).permutation(len(labels))
    return [labels[i] for i in order]


def _make_one(job: tuple[str, int, str, tuple[str, ...], int, str, str]) -> dict[str, Any]:
    split_name, seed, cache, engines, idx, label, out = job
    y, meta = build_clip(Split(split_name, seed, Path(cache), engines), idx, label)
    meta["file"] = f"{split_name}_{idx:04d}.wav"
    wavfile.write(os.path.join(out, meta["file"]), SR, y)
    return meta


def tool_versions() -> dict[str, Any]:
    packages = ["espeak-ng", "mbrola", "festival", "flite", "libttspico-utils"]
    done = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", *packages],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return {"dpkg": done.stdout.decode().split("\n")[:-1]}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--split", choices=SPLITS, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--clips", type=int, default=800, help="number of clips (default 800)")
    ap.add_argument(
        "--engines",
        default="",
        help="comma-separated engines to keep, e.g. espeak (a quick corpus; default: all)",
    )
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "amd_tts_cache")
    a = ap.parse_args(argv)
    if shared := shared_phrases():
        raise SystemExit(f"phrases in both splits' banks: {sorted(shared)}")

    a.out.mkdir(parents=True, exist_ok=True)
    a.cache.mkdir(parents=True, exist_ok=True)
    for old in a.out.glob("*.wav"):
        old.unlink()
    engines = tuple(e for e in a.engines.split(",") if e)
    split_engines = {v.engine for v in VOICES if v.split == a.split}
    if unknown := set(engines) - split_engines:
        raise SystemExit(
            f"no {a.split} voices of {sorted(unknown)}; its engines: {sorted(split_engines)}"
        )
    split = Split(a.split, a.seed, a.cache, engines)
    jobs = [
        (a.split, a.seed, str(a.cache), engines, i, label, str(a.out))
        for i, label in enumerate(labels_for(split, a.clips))
    ]
    t0 = time.time()
    if a.jobs > 1:
        with get_context("fork").Pool(a.jobs) as pool:
            rows = pool.map(_make_one, jobs, chunksize=4)
    else:
        rows = [_make_one(job) for job in jobs]
    with open(a.out / "labels.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for m in rows:
            writer.writerow({k: m.get(k, "") for k in FIELDS})
    counts: dict[str, int] = {}
    for m in rows:
        counts[m["label"]] = counts.get(m["label"], 0) + 1
    voices = [v for v in VOICES if v.split == a.split and (not engines or v.engine in engines)]
    meta = {
        "generator": "bench/amd_corpus",
        "generator_version": GENERATOR_VERSION,
        "split": a.split,
        "seed": a.seed,
        "clips": a.clips,
        "counts": counts,
        "sample_rate": SR,
        "format": "PCM16 mono after a G.711 µ-law or A-law round trip",
        "engines": sorted({v.engine for v in voices}),
        "voices": {
            lang: [f"{v.engine}:{v.voice}" for v in voices if v.lang == lang]
            for lang in ("en", "pt", "es")
        },
        "espeak_variants": variants_of(a.split),
        "phrase_bank": a.split,
        "phrases": sum(len(lst) for cats in BANKS[a.split].values() for lst in cats.values()),
        "total_audio_s": round(sum(m["duration_s"] for m in rows), 1),
        "tools": tool_versions(),
    }
    (a.out / "meta.json").write_text(
        json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8"
    )
    print(
        f"wrote {len(rows)} clips {counts} of the {a.split} split to {a.out} "
        f"in {time.time() - t0:.0f} s; {meta['total_audio_s'] / 60:.1f} min of audio"
    )


if __name__ == "__main__":
    main()
