"""Packaged voice-activity detectors against the AMD detector's energy VAD.

    .venv/bin/python bench/amd_vad.py /tmp/amd-dev1 /tmp/amd-ho202 [--limit N] [--cpu-clips 40]

Every VAD gives one speech/non-speech decision per 10 ms frame of each clip of
each corpus (labels.csv + 8 kHz WAVs from ``../shared/amd-corpus``):

- ``energy``: the detector's own decision, read from its trace
  (``NumpyAmdSession(trace=True)``, the per-frame ``speech`` that ``--plot``
  draws), run with its verdict rules pushed to their limits so it analyses as
  much of the clip as it can (the per-frame decision does not depend on them);
  a tone verdict (beep, fax) still ends it, and every VAD is then judged on the
  frames the detector analysed;
- ``silero``: Silero VAD's ONNX model as shipped in the ``silero-vad`` wheel,
  through onnxruntime (1 thread), 8 kHz, 32 ms windows, threshold 0.5;
- ``webrtc-N``: WebRTC's GMM VAD (``webrtcvad-wheels``), mode N, 10 ms frames;
- ``ten``: TEN VAD (``ten-vad`` wheel; needs libc++1), 16 kHz (our audio
  upsampled linearly), 10 ms hops, its own threshold 0.5.

What the labels can tell: before ``speech_onset_s`` and after ``speech_end_s``
there is no speech (noise, music, tones, beeps); from ``speech_onset_s`` to
``greeting_end_s`` the first utterance runs, *pauses between its words
included* (they are not labelled), so "speech recall" there is a lower bound
for a perfect VAD, and a VAD that bridges pauses scores higher; between
``greeting_end_s`` and ``speech_end_s`` (a second utterance) nothing is known
and those frames are left out. Frames within ``EDGE_S`` of a labelled boundary
are left out of the frame figures (the onset error measures the boundary).

Printed per VAD and corpus: speech recall in the first utterance, false speech
in the labelled non-speech, onset error (the first run of >= 100 ms of speech,
the detector's minimum word, against ``speech_onset_s``), false speech on the
SILENCE clips (frames, and clips with a 100 ms run: what would start a
"word"), false speech in noise by noise type and SNR, and CPU per second of
audio for one stream fed 20 ms pieces (process time; ``energy`` is the whole
detector, the others the VAD alone, which would come on top of it).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from opendialer.plugins.amd_numpy.detector import NumpyAmdSession
from opendialer.plugins.amd_numpy.params import parse_params
from opendialer.plugins.amd_numpy.wavio import read_wav

RATE = 8000
FRAME = 80  # 10 ms
PIECE = 160  # the platform's 20 ms RTP payloads
EDGE_S = 0.05
WORD_FRAMES = 10  # the detector's minimum word: 100 ms
GAP_FRAMES = 5  # ... bridging gaps up to 50 ms

# The verdict rules at their limits: the detector keeps analysing (same per-frame VAD).
STRETCHED = {
    "initial_silence_ms": 30000,
    "greeting_ms": 30000,
    "after_greeting_silence_ms": 5000,
    "long_greeting_silence_ms": 5000,
    "short_greeting_ms": 0,
    "total_analysis_time_ms": 60000,
    "maximum_word_length_ms": 60000,
    "fax_detection": 0,
}

Frames = npt.NDArray[np.bool_]
#: a VAD: given a clip's int16 samples fed in 20 ms pieces, one decision per 10 ms frame
Vad = Callable[[npt.NDArray[np.int16]], Frames]


def pieces(pcm: npt.NDArray[np.int16]) -> Iterator[npt.NDArray[np.int16]]:
    for start in range(0, len(pcm), PIECE):
        yield pcm[start : start + PIECE]


def energy_vad() -> Vad:
    params = parse_params(STRETCHED)

    def run(pcm: npt.NDArray[np.int16]) -> Frames:
        session = NumpyAmdSession(params, sample_rate=RATE, trace=True)
        for piece in pieces(pcm):
            if session.feed(piece) is not None:
                break
        else:
            session.finish()
        assert session.trace is not None
        return np.asarray(session.trace.speech, dtype=bool)

    return run


def silero_session() -> Any:
    """Silero's 8/16 kHz ONNX model from the ``silero-vad`` wheel, on one onnxruntime thread."""
    import importlib.util

    import onnxruntime as ort

    # the wheel's ONNX file, without importing the package (its __init__ imports torch)
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("silero-vad is not installed")
    model = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def silero_vad(threshold: float = 0.5) -> Vad:
    session = silero_session()
    window, context = 256, 32  # at 8 kHz (the wrapper in silero_vad.utils_vad)
    sr = np.array(RATE, dtype=np.int64)

    def run(pcm: npt.NDArray[np.int16]) -> Frames:
        state = np.zeros((2, 1, 128), dtype=np.float32)
        buffer = np.zeros(context, dtype=np.float32)  # the context, then queued audio
        probs: list[float] = []
        for piece in pieces(pcm):
            buffer = np.concatenate((buffer, piece.astype(np.float32) / 32768.0))
            while len(buffer) >= context + window:
                x = buffer[None, : context + window]
                out, state = session.run(None, {"input": x, "state": state, "sr": sr})
                probs.append(float(out[0, 0]))
                buffer = buffer[window:]
        # frame i (samples 80i..80i+79) takes the window holding its centre
        n = len(pcm) // FRAME
        index = np.minimum((np.arange(n) * FRAME + FRAME // 2) // window, len(probs) - 1)
        return np.asarray(probs)[index] >= threshold if probs else np.zeros(n, dtype=bool)

    return run


def webrtc_vad(mode: int) -> Vad:
    import webrtcvad

    def run(pcm: npt.NDArray[np.int16]) -> Frames:
        vad = webrtcvad.Vad(mode)
        out: list[bool] = []
        for piece in pieces(pcm):
            for start in range(0, len(piece) - FRAME + 1, FRAME):
                out.append(vad.is_speech(piece[start : start + FRAME].tobytes(), RATE))
        return np.asarray(out, dtype=bool)

    return run


def ten_vad() -> Vad:
    from ten_vad import TenVad

    def run(pcm: npt.NDArray[np.int16]) -> Frames:
        vad = TenVad(hop_size=2 * FRAME)  # 10 ms at 16 kHz
        previous = 0.0
        out: list[bool] = []
        for piece in pieces(pcm):
            x = piece.astype(np.float64)
            up = np.empty(2 * len(x))
            up[0::2] = (np.concatenate(([previous], x[:-1])) + x) / 2
            up[1::2] = x
            previous = float(x[-1])
            up16 = up.astype(np.int16)
            for start in range(0, len(up16) - 2 * FRAME + 1, 2 * FRAME):
                _, flag = vad.process(np.ascontiguousarray(up16[start : start + 2 * FRAME]))
                out.append(flag == 1)
        return np.asarray(out, dtype=bool)

    return run


def vads() -> dict[str, Vad]:
    found: dict[str, Vad] = {"energy": energy_vad()}
    for name, make in (
        ("silero", silero_vad),
        ("webrtc-1", lambda: webrtc_vad(1)),
        ("webrtc-3", lambda: webrtc_vad(3)),
        ("ten", ten_vad),
    ):
        try:
            found[name] = make()
        except (ImportError, OSError) as error:  # not installed (ten-vad: libc++1 missing)
            print(f"# {name}: not measured ({error})", file=sys.stderr)
    return found


# -- labels ------------------------------------------------------------------------


def _f(row: dict[str, str], key: str) -> float | None:
    value = row.get(key, "")
    return float(value) if value else None


@dataclass
class Truth:
    """Per frame: 1 speech, 0 non-speech, -1 unknown or too near a boundary."""

    frames: npt.NDArray[np.int8]
    onset_s: float | None
    group: str  # where its non-speech frames count: noise type/SNR, music, tones


def truth_of(row: dict[str, str], n: int) -> Truth:
    t = (np.arange(n) + 0.5) * FRAME / RATE
    frames = np.zeros(n, dtype=np.int8)
    onset, greeting_end, speech_end = (
        _f(row, "speech_onset_s"),
        _f(row, "greeting_end_s"),
        _f(row, "speech_end_s"),
    )
    if onset is not None and greeting_end is not None:
        frames[(t >= onset) & (t < greeting_end)] = 1
        frames[(t >= greeting_end) & (t < (speech_end or greeting_end))] = -1
        for edge in (onset, greeting_end, speech_end or greeting_end):
            frames[np.abs(t - edge) < EDGE_S] = -1
    if row["label"] == "FAX" or row.get("tone_start_s"):
        group = "tones (fax, SIT)"
    elif row.get("music"):
        group = f"music ({row['music']})"
    else:
        group = f"{row.get('noise_type') or 'none'} {row.get('snr_bin', '')}".strip()
    return Truth(frames, onset, group)


def first_word(speech: Frames) -> int | None:
    """Start frame of the first run of >= WORD_FRAMES speech frames (gaps <= GAP_FRAMES)."""
    start, last = -1, -(10**9)
    for i in np.flatnonzero(speech):
        if i - last > GAP_FRAMES + 1:
            start = int(i)
        last = int(i)
        if last - start + 1 >= WORD_FRAMES:
            return start
    return None


# -- measuring -----------------------------------------------------------------------


@dataclass
class Tally:
    speech: list[int] = field(default_factory=lambda: [0, 0])  # called speech, speech frames
    silent: list[int] = field(default_factory=lambda: [0, 0])  # called speech, non-speech
    onset_errors: list[float] = field(default_factory=list)
    missed_onsets: int = 0
    silence_frames: list[int] = field(default_factory=lambda: [0, 0])
    silence_words: list[int] = field(default_factory=lambda: [0, 0])
    groups: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    covered: list[int] = field(default_factory=lambda: [0, 0])


def measure(corpus: Path, vad_set: dict[str, Vad], limit: int | None) -> dict[str, Tally]:
    rows = list(csv.DictReader(open(corpus / "labels.csv")))[:limit]
    tallies = {name: Tally() for name in vad_set}
    for row in rows:
        x, rate = read_wav(corpus / row["file"])
        assert rate == RATE, f"{row['file']}: {rate} Hz (the corpus is 8 kHz)"
        pcm = np.clip(x, -32768, 32767).astype(np.int16)
        n_all = len(pcm) // FRAME
        decisions = {name: vad(pcm) for name, vad in vad_set.items()}
        n = min(len(d) for d in decisions.values())  # the frames the detector analysed
        truth = truth_of(row, n)
        for name, speech in decisions.items():
            tally = tallies[name]
            speech = speech[:n]
            tally.covered[0] += n
            tally.covered[1] += n_all
            is_speech, not_speech = truth.frames == 1, truth.frames == 0
            tally.speech[0] += int(speech[is_speech].sum())
            tally.speech[1] += int(is_speech.sum())
            tally.silent[0] += int(speech[not_speech].sum())
            tally.silent[1] += int(not_speech.sum())
            group = tally.groups[truth.group]
            group[0] += int(speech[not_speech].sum())
            group[1] += int(not_speech.sum())
            word = first_word(speech)
            if truth.onset_s is not None:
                if word is None:
                    tally.missed_onsets += 1
                else:
                    tally.onset_errors.append(word * FRAME / RATE - truth.onset_s)
            if row["label"] == "SILENCE":
                tally.silence_frames[0] += int(speech.sum())
                tally.silence_frames[1] += n
                tally.silence_words[0] += word is not None
                tally.silence_words[1] += 1
    return tallies


def cpu_per_second(vad: Vad, corpus: Path, clips: int) -> float:
    rows = list(csv.DictReader(open(corpus / "labels.csv")))[:clips]
    audio = [np.clip(read_wav(corpus / r["file"])[0], -32768, 32767).astype(np.int16) for r in rows]
    seconds = sum(len(a) for a in audio) / RATE
    start = time.process_time()
    for pcm in audio:
        vad(pcm)
    return (time.process_time() - start) / seconds


def silero_batched_cpu(corpus: Path, streams: int) -> float:
    """Silero run once per 32 ms for ``streams`` calls at a time (batch dimension):
    what one engine would pay per stream if all its AMD sessions shared one model call."""
    session = silero_session()
    rows = list(csv.DictReader(open(corpus / "labels.csv")))[:streams]
    audio = [read_wav(corpus / r["file"])[0] / 32768.0 for r in rows]
    windows = min(len(a) for a in audio) // 256
    batch = np.stack([a[: windows * 256] for a in audio]).astype(np.float32)
    state = np.zeros((2, len(audio), 128), dtype=np.float32)
    sr = np.array(RATE, dtype=np.int64)
    context = np.zeros((len(audio), 32), dtype=np.float32)
    start = time.process_time()
    for w in range(windows):
        x = np.concatenate((context, batch[:, w * 256 : (w + 1) * 256]), axis=1)
        _, state = session.run(None, {"input": x, "state": state, "sr": sr})
        context = x[:, -32:]
    return (time.process_time() - start) / (len(audio) * windows * 256 / RATE)


def whole_detector_cpu(corpus: Path, clips: int) -> float:
    """The detector with its default rules, as the platform runs it (stops at its verdict)."""
    params = parse_params({})
    rows = list(csv.DictReader(open(corpus / "labels.csv")))[:clips]
    audio = [np.clip(read_wav(corpus / r["file"])[0], -32768, 32767).astype(np.int16) for r in rows]
    seconds = sum(len(a) for a in audio) / RATE
    start = time.process_time()
    for pcm in audio:
        session = NumpyAmdSession(params, sample_rate=RATE)
        for piece in pieces(pcm):
            if session.feed(piece) is not None:
                break
    return (time.process_time() - start) / seconds


# -- printing ------------------------------------------------------------------------


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"


def onset_text(t: Tally) -> str:
    if not t.onset_errors:
        return "–"
    e = np.asarray(t.onset_errors)
    return (
        f"{1000 * np.median(e):+.0f} / {1000 * np.percentile(np.abs(e), 90):.0f} ms; "
        f"{pct(int((np.abs(e) <= 0.1).sum()), len(e) + t.missed_onsets)} within 100 ms; "
        f"{pct(int((e < -0.2).sum()), len(e) + t.missed_onsets)} early; {t.missed_onsets} missed"
    )


def side_by_side(columns: list[str], rows: list[tuple[str, list[str]]]) -> None:
    print("| VAD | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, cells in rows:
        print(f"| {name} | " + " | ".join(cells) + " |")


def report(names: list[str], results: dict[str, dict[str, Tally]], cpu: dict[str, str]) -> None:
    corpora = list(results)
    label = " / ".join(corpora)
    print(f"\n## Frame figures ({label})\n")
    rows = []
    for vad in names:
        per = [results[c][vad] for c in corpora]
        rows.append(
            (
                vad,
                [
                    " / ".join(pct(*t.speech) for t in per),
                    " / ".join(pct(*t.silent) for t in per),
                    " / ".join(pct(*t.silence_frames) for t in per),
                    " / ".join(f"{t.silence_words[0]} of {t.silence_words[1]}" for t in per),
                    " / ".join(pct(*t.covered) for t in per),
                    cpu.get(vad, "–"),
                ],
            )
        )
    side_by_side(
        [
            "speech recall, 1st utterance",
            "false speech, labelled non-speech",
            "false speech, SILENCE clips",
            "SILENCE clips with a 100 ms run",
            "frames judged",
            "CPU s per s of audio, 1 stream",
        ],
        rows,
    )
    for corpus in corpora:
        print(f"\n## Onset error, {corpus}: median / p90 |error|; within 100 ms; early; missed\n")
        for vad in names:
            print(f"- {vad}: {onset_text(results[corpus][vad])}")
    for corpus in corpora:
        print(f"\n## False speech in labelled non-speech by noise, {corpus}\n")
        groups = sorted(results[corpus][names[0]].groups)
        side_by_side(
            groups, [(v, [pct(*results[corpus][v].groups[g]) for g in groups]) for v in names]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="+", type=Path)
    parser.add_argument("--limit", type=int, help="first N clips of each corpus")
    parser.add_argument("--cpu-clips", type=int, default=40, help="clips timed for CPU")
    parser.add_argument("--only", help="comma-separated VAD names (energy is always run)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    vad_set = vads()
    if args.only:
        keep = {"energy", *args.only.split(",")}
        vad_set = {k: v for k, v in vad_set.items() if k in keep}
    names = list(vad_set)
    cpu: dict[str, str] = {}
    first = args.corpora[0]
    cpu["energy"] = f"{whole_detector_cpu(first, args.cpu_clips):.4f} (whole detector)"
    for name, vad in vad_set.items():
        if name != "energy":  # its trace run is not what the platform runs
            cpu[name] = f"{cpu_per_second(vad, first, args.cpu_clips):.4f}"
        print(f"# CPU {name}: {cpu[name]} s per s of audio", flush=True)
    if "silero" in vad_set:
        for streams in (16, 64):
            per_s = silero_batched_cpu(first, streams)
            cpu["silero"] += f"; {per_s:.4f} batched x{streams}"
            print(
                f"# CPU silero, {streams} streams per model call: {per_s:.4f} s per s", flush=True
            )
    results: dict[str, dict[str, Tally]] = {}
    for corpus in args.corpora:
        t0 = time.monotonic()
        results[corpus.name] = measure(corpus, vad_set, args.limit)
        print(f"# {corpus}: {time.monotonic() - t0:.0f} s", flush=True)
    report(names, results, cpu)


if __name__ == "__main__":
    main()
