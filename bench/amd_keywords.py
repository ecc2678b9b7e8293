"""Keyword cues in the greeting with a packaged offline recogniser (pocketsphinx).

    /opt/opendialer-kw/bin/python bench/amd_keywords.py --train /tmp/amd-train2 --heldout /tmp/amd-heldout2

Measures whether spotting "leave a message", "after the tone", "not in service"...
in the first ``--seconds`` of an English greeting (``lang == en``) could tell the
machines the detector calls HUMAN (beepless voicemails, carrier announcements) from
people, fast and cheaply enough. pocketsphinx 5.1.1's wheel ships one model: US
English, 16 kHz (``feat.params``: ``-upperf 6800``), with CMUdict and a 27 MB
trigram LM; no Portuguese or Spanish. So only English clips are spotted; the
others keep the detector's verdict.

Each clip is fed as a call would feed it, ``--chunk-ms`` pieces, to pocketsphinx's
keyphrase search (``kws``: one phrase a line, each with its threshold). The 8 kHz
audio is upsampled to 16 kHz with a polyphase filter (the model's filterbank then
sees nothing above 4 kHz); ``--rate 8000`` instead decodes at 8 kHz with a copy of
the model whose ``feat.params`` says ``-upperf 3500`` (a filterbank the model was
not trained on). A detection's time is the end of its phrase (10 ms frames).

The phrase list and the threshold are tuned on the train split only: for each
threshold of ``--thresholds``, every phrase that fires on a train HUMAN clip is
dropped, and the threshold that then spots the most train machines is kept. The
held-out split is read once, at the end, with that list and threshold.

Printed per split: for MACHINE clips by beep / no beep and by kind, the share with
a phrase spotted in the first ``--seconds`` and before the detector's verdict, and
when (seconds after answer, and after ``greeting_end_s``); for HUMAN clips the
false alarms (a person hung up on if we acted on them); process CPU seconds per
second of audio fed (the detector's whole budget is 0.002); memory per stream
(resident memory added by each extra decoder). Then, from the default detector's
verdicts (``bench/amd.py``'s ``numpy_detector``, 20 ms pieces), what the rule
"a phrase spotted before the verdict -> MACHINE" would do to HUMAN+MACHINE
accuracy, humans called MACHINE and machines called HUMAN, on English clips and
on all clips. docs/amd.md "Keyword cues measured" has the figures.

pocketsphinx is no dependency of OpenDialer: install it into a venv of its own
(the message printed when it is missing says how).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

INSTALL = """pocketsphinx is not installed in this Python ({python}).
It is no dependency of OpenDialer; measure it in a venv of its own:

    python3 -m venv /opt/opendialer-kw
    /opt/opendialer-kw/bin/pip install pocketsphinx==5.1.1 numpy scipy pluggy
    PYTHONPATH=$PWD /opt/opendialer-kw/bin/python bench/amd_keywords.py \\
        --train /tmp/amd-train2 --heldout /tmp/amd-heldout2
"""

# Phrases a greeting says and a person answering the phone does not, by what they
# cue. Every word must be in the wheel's CMUdict.
PHRASES: dict[str, list[str]] = {
    "message": [
        "leave a message",
        "leave your message",
        "leave your name",
        "leave a short message",
        "leave a detailed message",
        "after the tone",
        "after the beep",
        "at the tone",
        "record your message",
        "your message",
        "call you back",
        "get back to you",
    ],
    "carrier": [
        "not in service",
        "no longer in service",
        "is not available",
        "is unavailable",
        "try again",
        "check the number",
        "cannot be completed",
        "switched off",
        "coverage area",
    ],
    "reached": [
        "you have reached",
        "you've reached",
        "thank you for calling",
        "can't come to the phone",
        "take your call",
    ],
}
GROUP = {p: g for g, ps in PHRASES.items() for p in ps}


@dataclass
class Clip:
    row: dict[str, str]
    pcm8k: np.ndarray
    spots: list[tuple[float, str]]  # (seconds after answer, phrase), first per phrase
    verdict: str = ""
    verdict_s: float = 0.0


def machine_kind(row: dict[str, str]) -> tuple[str, str]:
    parts = row["scenario"].split("+")
    beep = "nobeep" if "nobeep" in parts else "beep"
    return beep, parts[0]


class Spotter:
    """One pocketsphinx keyphrase decoder, as one call's stream would hold it."""

    def __init__(self, phrases: dict[str, float], rate: int, hmm8k: str | None) -> None:
        from pocketsphinx import Decoder

        self.rate = rate
        fd, self.kws_path = tempfile.mkstemp(suffix=".kws")
        with os.fdopen(fd, "w") as f:
            for phrase, threshold in phrases.items():
                f.write(f"{phrase} /{threshold:g}/\n")
        extra = {"hmm": hmm8k, "samprate": 8000, "nfft": 256} if rate == 8000 else {}
        self.decoder = Decoder(kws=self.kws_path, loglevel="FATAL", **extra)

    def close(self) -> None:
        os.unlink(self.kws_path)

    def spot(self, pcm8k: np.ndarray, seconds: float, chunk_ms: int) -> list[tuple[float, str]]:
        from scipy.signal import resample_poly

        pcm = pcm8k[: int(seconds * 8000)]
        if self.rate == 16000:
            # Whole-clip polyphase upsampling: a call would run the same filter
            # with state across pieces; its cost is counted with the decoder's.
            pcm = np.clip(resample_poly(pcm.astype(np.float64), 2, 1), -32768, 32767)
            pcm = pcm.astype(np.int16)
        step = self.rate * chunk_ms // 1000
        d = self.decoder
        d.start_utt()
        for start in range(0, len(pcm), step):
            d.process_raw(pcm[start : start + step].tobytes(), False, False)
        d.end_utt()
        first: dict[str, float] = {}
        for seg in d.seg() or []:  # None when nothing was spotted
            phrase = seg.word.strip()
            if phrase in GROUP and phrase not in first:
                first[phrase] = (seg.end_frame + 1) / 100  # 10 ms frames
        return sorted((t, p) for p, t in first.items())


def model_8k() -> str:
    """A copy of the wheel's acoustic model whose filterbank stops below 4 kHz."""
    from pocketsphinx import get_model_path

    src = Path(get_model_path()) / "en-us" / "en-us"
    dst = Path(tempfile.mkdtemp(prefix="kw-hmm8k-"))
    for f in src.iterdir():
        if f.name != "feat.params":
            os.symlink(f, dst / f.name)
    params = (src / "feat.params").read_text().replace("-upperf 6800", "-upperf 3500")
    (dst / "feat.params").write_text(params)
    return str(dst)


def load(corpus: Path) -> list[Clip]:
    from opendialer.plugins.amd_numpy.wavio import read_wav

    clips = []
    with open(corpus / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            x, rate = read_wav(corpus / row["file"])
            assert rate == 8000, f"{row['file']}: {rate} Hz"
            pcm = np.clip(np.asarray(x), -32768, 32767).astype(np.int16)
            clips.append(Clip(row, pcm, []))
    return clips


def detector_verdicts(clips: list[Clip]) -> None:
    from amd import numpy_detector

    detect = numpy_detector({}, 20)
    for c in clips:
        label, ms = detect(c.pcm8k, 8000)
        c.verdict, c.verdict_s = label, ms / 1000


def run_spotter(
    clips: list[Clip], phrases: dict[str, float], args: argparse.Namespace, hmm8k: str | None
) -> tuple[float, float]:
    """Spot every English clip; returns (CPU seconds, audio seconds fed)."""
    spotter = Spotter(phrases, args.rate, hmm8k)
    cpu = audio = 0.0
    for c in clips:
        if c.row["lang"] != "en":
            continue
        t0 = time.process_time()
        c.spots = spotter.spot(c.pcm8k, args.seconds, args.chunk_ms)
        cpu += time.process_time() - t0
        audio += min(len(c.pcm8k) / 8000, args.seconds)
    spotter.close()
    return cpu, audio


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory_per_stream(
    phrases: dict[str, float], args: argparse.Namespace, hmm8k: str | None, pcm: np.ndarray
) -> float:
    """Resident memory each extra decoder adds (pocketsphinx shares no model between them)."""
    first = Spotter(phrases, args.rate, hmm8k)
    first.spot(pcm, 2.0, args.chunk_ms)
    before = rss_mb()
    more = [Spotter(phrases, args.rate, hmm8k) for _ in range(args.streams)]
    for s in more:
        s.spot(pcm, 2.0, args.chunk_ms)
    per = (rss_mb() - before) / args.streams
    for s in [first, *more]:
        s.close()
    return per


def kept(c: Clip, allowed: set[str], before_verdict: bool) -> list[tuple[float, str]]:
    return [
        (t, p)
        for t, p in c.spots
        if p in allowed and (not before_verdict or t <= c.verdict_s or c.verdict == "")
    ]


def tune(
    clips: list[Clip], args: argparse.Namespace, hmm8k: str | None
) -> tuple[float, set[str], dict[float, tuple[float, float, set[str]]]]:
    """The threshold and phrases that spot most train machines once every phrase that
    fired on a train person is dropped."""
    results: dict[float, tuple[float, float, set[str]]] = {}
    en = [c for c in clips if c.row["lang"] == "en"]
    humans = [c for c in en if c.row["label"] == "HUMAN"]
    machines = [c for c in en if c.row["label"] == "MACHINE"]
    for threshold in args.thresholds:
        run_spotter(clips, dict.fromkeys(GROUP, threshold), args, hmm8k)
        fired = {p for c in humans for _, p in c.spots}
        allowed = set(GROUP) - fired
        hit = sum(bool(kept(c, allowed, False)) for c in machines) / max(1, len(machines))
        hit_before = sum(bool(kept(c, allowed, True)) for c in machines) / max(1, len(machines))
        results[threshold] = (hit, hit_before, allowed)
        print(
            f"  threshold {threshold:g}: dropped (fired on a train person): "
            f"{', '.join(sorted(fired)) or '-'}; machines spotted {100 * hit:.1f} %, "
            f"before the verdict {100 * hit_before:.1f} %",
            flush=True,
        )
    best = max(results, key=lambda th: (results[th][1], results[th][0]))
    return best, results[best][2], results


def pct(n: int, d: int) -> str:
    return f"{100 * n / d:5.1f} %" if d else "   -   "


def med(xs: list[float]) -> str:
    return f"{np.median(xs):+.2f}" if xs else "  -  "


def spot_table(name: str, clips: list[Clip], allowed: set[str]) -> list[str]:
    """Lines: per machine kind, per human kind, the shares and times."""
    out = [f"  {name}"]
    en = [c for c in clips if c.row["lang"] == "en"]
    groups: dict[tuple[str, str], list[Clip]] = defaultdict(list)
    for c in en:
        if c.row["label"] == "MACHINE":
            beep, kind = machine_kind(c.row)
            groups[("MACHINE " + beep, kind)].append(c)
            groups[("MACHINE " + beep, "all")].append(c)
            groups[("MACHINE", "all")].append(c)
        elif c.row["label"] == "HUMAN":
            groups[("HUMAN", c.row["scenario"])].append(c)
            groups[("HUMAN", "all")].append(c)
    out.append(
        f"    {'group':<16}{'kind':<16}{'n':>4}  {'spotted':>8}  {'before verdict':>14}"
        f"  {'called HUMAN: spotted before':>28}  {'first spot s after answer':>25}"
        f"  {'after greeting end':>18}"
    )
    for key in sorted(groups, key=lambda k: (k[0].startswith("HUMAN"), k)):
        cs = groups[key]
        any_spot = [c for c in cs if kept(c, allowed, False)]
        before = [c for c in cs if kept(c, allowed, True)]
        as_human = [c for c in cs if c.verdict == "HUMAN"]
        rescued = [c for c in as_human if kept(c, allowed, True)]
        times = [kept(c, allowed, False)[0][0] for c in any_spot]
        rel = [
            kept(c, allowed, False)[0][0] - float(c.row["greeting_end_s"])
            for c in any_spot
            if c.row["greeting_end_s"]
        ]
        out.append(
            f"    {key[0]:<16}{key[1]:<16}{len(cs):>4}  {pct(len(any_spot), len(cs)):>8}"
            f"  {pct(len(before), len(cs)):>14}"
            f"  {len(rescued):>3} of {len(as_human):<3} {pct(len(rescued), len(as_human)):>17}"
            f"  {'median ' + med(times):>25}  {'median ' + med(rel):>18}"
        )
    counts: dict[str, int] = defaultdict(int)
    for c in en:
        for _, p in kept(c, allowed, False):
            counts[("H " if c.row["label"] == "HUMAN" else "M ") + p] += 1
    out.append(
        "    spots per phrase (M machine clips, H human clips): "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    )
    return out


def headline(clips: list[Clip], allowed: set[str], before_verdict: bool) -> dict[str, tuple]:
    """(H+M accuracy, humans->MACHINE, machines->HUMAN) for English and all clips,
    the detector's verdicts alone and with the rule applied."""
    res: dict[str, tuple] = {}
    for scope in ("en", "all"):
        sel = [
            c
            for c in clips
            if c.row["label"] in ("HUMAN", "MACHINE") and (scope == "all" or c.row["lang"] == "en")
        ]
        for rule in (False, True):
            labels = []
            for c in sel:
                v = c.verdict
                if (
                    rule
                    and v != "MACHINE"
                    and c.row["lang"] == "en"
                    and kept(c, allowed, before_verdict)
                ):
                    v = "MACHINE"
                labels.append(v)
            truth = [c.row["label"] for c in sel]
            h = [i for i, t in enumerate(truth) if t == "HUMAN"]
            m = [i for i, t in enumerate(truth) if t == "MACHINE"]
            acc = sum(labels[i] == truth[i] for i in h + m) / len(sel)
            h2m = sum(labels[i] == "MACHINE" for i in h) / len(h)
            m2h = sum(labels[i] == "HUMAN" for i in m) / len(m)
            res[f"{scope} {'rule' if rule else 'detector'}"] = (acc, h2m, m2h, len(h), len(m))
    return res


def main() -> int:
    try:
        import pocketsphinx  # noqa: F401
        import scipy  # noqa: F401
    except ImportError:
        print(INSTALL.format(python=sys.executable))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--heldout", type=Path, required=True)
    ap.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        help="audio spotted per clip (10: the detector's cap)",
    )
    ap.add_argument("--chunk-ms", type=int, default=20)
    ap.add_argument("--rate", type=int, choices=(16000, 8000), default=16000)
    ap.add_argument(
        "--thresholds",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[1e-10, 1e-20, 1e-30, 1e-40],
        help="keyphrase thresholds tried on the train split",
    )
    ap.add_argument("--streams", type=int, default=8, help="decoders opened to measure memory")
    args = ap.parse_args()
    hmm8k = model_8k() if args.rate == 8000 else None

    print(
        f"pocketsphinx {pocketsphinx_version()}, {args.rate} Hz, {args.chunk_ms} ms pieces, "
        f"first {args.seconds:g} s of each English clip"
    )
    train = load(args.train)
    detector_verdicts(train)
    print(f"\n=== tuning on {args.train} (English clips only)")
    threshold, allowed, _ = tune(train, args, hmm8k)
    print(
        f"  chosen: threshold {threshold:g}, {len(allowed)} phrases: {', '.join(sorted(allowed))}"
    )
    phrases = dict.fromkeys(sorted(allowed), threshold)
    cpu_train, audio_train = run_spotter(train, phrases, args, hmm8k)

    heldout = load(args.heldout)  # read once, after tuning
    detector_verdicts(heldout)
    cpu_ho, audio_ho = run_spotter(heldout, phrases, args, hmm8k)
    mem = memory_per_stream(phrases, args, hmm8k, train[0].pcm8k)

    print(
        "\n=== spotted (English clips; 'before verdict' = at or before the default detector's verdict)"
    )
    for name, clips in (("train", train), ("held-out", heldout)):
        print("\n".join(spot_table(f"{name}:", clips, allowed)))
    print(
        f"\n  CPU per second of audio fed (upsampling + decoder, one stream): "
        f"train {cpu_train / audio_train:.4f} s, held-out {cpu_ho / audio_ho:.4f} s "
        f"= {cpu_ho / audio_ho / 0.002:.0f} x the detector's whole budget (0.002)"
    )
    print(f"  memory per stream: {mem:.1f} MB resident ({args.streams} decoders opened)")

    print(
        "\n=== headline figures, default detector vs 'phrase spotted before the verdict -> MACHINE'"
    )
    print(f"    {'':<52}{'H+M acc':>8}{'humans->MACHINE':>17}{'machines->HUMAN':>17}")
    for name, clips in (("train", train), ("held-out", heldout)):
        for before_verdict, label in ((True, "before verdict"), (False, "any time in the window")):
            res = headline(clips, allowed, before_verdict)
            for scope in ("en", "all"):
                for which in ("detector", "rule"):
                    if which == "detector" and not before_verdict:
                        continue
                    acc, h2m, m2h, nh, nm = res[f"{scope} {which}"]
                    tag = "detector" if which == "detector" else f"+ rule ({label})"
                    print(
                        f"    {name + ' ' + scope + ' ' + tag:<52}{100 * acc:6.1f} %"
                        f"{100 * h2m:15.1f} %{100 * m2h:15.1f} %   ({nh} humans, {nm} machines)"
                    )
    if hmm8k:
        shutil.rmtree(hmm8k)
    return 0


def pocketsphinx_version() -> str:
    from importlib.metadata import version

    return version("pocketsphinx")


if __name__ == "__main__":
    sys.exit(main())
