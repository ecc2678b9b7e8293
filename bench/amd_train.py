"""Train the AMD detector's learned model (``amd_model.npz``) from labelled corpora.

    .venv/bin/python bench/amd_train.py /tmp/amd-dev1 /tmp/amd-dev2 /tmp/amd-dev3
    .venv/bin/python bench/amd_train.py CORPUS... --kind mlp --hidden 8 --out model.npz

Every HUMAN and MACHINE clip of the corpora (``labels.csv`` + WAVs, as
``bench/amd.py`` reads them) runs through the detector with the model off and
its timing-rule verdicts held back (``NumpyAmdSession.snapshots``): wherever a
rule would have decided — silence after the greeting, or the greeting passing
``greeting_ms`` — the model's features are recorded, every 100 ms while the rule
holds. Those snapshots, labelled with their clip's truth and weighted so that
every clip counts once per kind of point, train a standardised logistic
regression (or a one-layer tanh MLP) by L-BFGS with an L2 penalty, from a fixed
seed. Only training corpora go here: the held-out ones are for ``bench/amd.py``.

It prints a grouped cross-validation (folds by voice: no voice in both halves)
of the snapshot log-loss and of the policy's verdicts replayed on the
snapshots (``--machine/--human/--threshold``, the parameters of the same
names), then writes the model trained on everything with the feature names,
the standardisation and a description of the corpora.
"""

from __future__ import annotations

import argparse
import csv
import sys
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from opendialer.plugins.amd_numpy.detector import NumpyAmdSession
from opendialer.plugins.amd_numpy.model import FEATURE_NAMES, MODEL_PATH
from opendialer.plugins.amd_numpy.params import parse_params
from opendialer.plugins.amd_numpy.wavio import read_wav

SEED = 19
IDX = {name: i for i, name in enumerate(FEATURE_NAMES)}
Clip = dict[str, Any]


def snapshots_of(job: tuple[str, dict[str, str]]) -> Clip:
    corpus, row = job
    x, rate = read_wav(Path(corpus) / row["file"])
    session = NumpyAmdSession(parse_params({"model": 0}), sample_rate=rate)
    session.snapshots = []
    pcm = np.clip(x, -32768, 32767).astype(np.int16)
    decision = session.feed(pcm) or session.finish()
    return {
        "corpus": corpus,
        "file": row["file"],
        "label": row["label"],
        "voice": f"{row['engine']}:{row['voice'].split('+')[0]}",
        "phrase": phrase_of(row),
        "speech_end_s": float(row["speech_end_s"] or 0),
        "rule_end": (decision.label.value, decision.decision_ms),
        "snaps": [(t, point, feats) for t, point, feats in session.snapshots],
    }


def phrase_of(row: dict[str, str]) -> str:
    """What a phrase-grouped fold holds out: a person's words, a recording's first sentence."""
    text = row["text"].split(" | ")[0]
    return row["label"] + ":" + (text.split(". ")[0] if row["label"] == "MACHINE" else text)


def group_of(clip: Clip, by: str) -> str:
    if by == "engine":
        return str(clip["voice"]).split(":")[0]
    return str(clip[by])


def load(corpora: list[str], workers: int) -> list[Clip]:
    jobs = []
    for corpus in corpora:
        with open(Path(corpus) / "labels.csv", encoding="utf-8") as f:
            jobs += [(corpus, r) for r in csv.DictReader(f) if r["label"] in ("HUMAN", "MACHINE")]
    with Pool(workers) as pool:
        return pool.map(snapshots_of, jobs, chunksize=8)


def design(
    clips: list[Clip], max_silence_s: float = np.inf
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Snapshot matrix, labels, weights (each clip once per kind of point), clip index.

    Snapshots later than ``max_silence_s`` of silence after the greeting are dropped:
    the policy decides by then, and the dev generator's machine clips end 1-2 s after
    their greeting while its humans stay silent for seconds, which would teach that a
    long silence is a person (a recorder stays silent for minutes).
    """
    xs, ys, ws, owner = [], [], [], []
    for c, clip in enumerate(clips):
        clip["snaps"] = [s for s in clip["snaps"] if s[2][IDX["after_silence_s"]] <= max_silence_s]
        counts: dict[str, int] = {}
        for _, point, _ in clip["snaps"]:
            counts[point] = counts.get(point, 0) + 1
        for _, point, feats in clip["snaps"]:
            xs.append(feats)
            ys.append(1.0 if clip["label"] == "MACHINE" else 0.0)
            ws.append(1.0 / counts[point])
            owner.append(c)
    return np.array(xs), np.array(ys), np.array(ws), np.array(owner)


def fit(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, kind: str, hidden: int, l2: float
) -> dict[str, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    d = z.shape[1]
    rng = np.random.default_rng(SEED)
    w = w / w.sum()

    def unpack(theta: np.ndarray) -> tuple[np.ndarray, ...]:
        if kind == "logreg":
            return theta[:d].reshape(d, 1), theta[d : d + 1]
        w1 = theta[: d * hidden].reshape(d, hidden)
        b1 = theta[d * hidden : d * hidden + hidden]
        w2 = theta[d * hidden + hidden : d * hidden + 2 * hidden]
        return w1, b1, w2, theta[-1:]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        parts = unpack(theta)
        if kind == "logreg":
            w1, b1 = parts
            logit = (z @ w1)[:, 0] + b1[0]
        else:
            w1, b1, w2, b2 = parts
            h = np.tanh(z @ w1 + b1)
            logit = h @ w2 + b2[0]
        p = 1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30)))
        nll = -np.sum(w * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)))
        g = w * (p - y)  # d nll / d logit
        if kind == "logreg":
            grad = np.concatenate([z.T @ g, [g.sum()]])
            reg = l2 * np.sum(w1**2)
            grad[:d] += 2 * l2 * w1[:, 0]
        else:
            gw2 = h.T @ g
            gh = np.outer(g, w2) * (1 - h**2)
            gw1 = z.T @ gh
            gb1 = gh.sum(axis=0)
            reg = l2 * (np.sum(w1**2) + np.sum(w2**2))
            grad = np.concatenate([(gw1 + 2 * l2 * w1).ravel(), gb1, gw2 + 2 * l2 * w2, [g.sum()]])
        return float(nll + reg), grad

    size = d + 1 if kind == "logreg" else d * hidden + 2 * hidden + 1
    theta0 = rng.normal(0, 0.1, size)
    res = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    parts = unpack(res.x)
    out = {"mean": mean, "scale": scale, "w1": parts[0], "b1": parts[1]}
    if kind == "mlp":
        out["w2"], out["b2"] = parts[2], parts[3][0]
    return out


def predict(m: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    z = (x - m["mean"]) / m["scale"]
    if "w2" in m:
        logit = np.tanh(z @ m["w1"] + m["b1"]) @ m["w2"] + m["b2"]
    else:
        logit = (z @ m["w1"])[:, 0] + m["b1"][0]
    return 1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30)))


def replay(clip: Clip, probs: list[float], a: argparse.Namespace) -> tuple[str, float]:
    """The detector's policy (detector._judge_silence/_judge_long) on the snapshots."""
    params = parse_params({})
    for (t, point, feats), p in zip(clip["snaps"], probs, strict=True):
        ms = (t + 1) * 10.0
        if point == "long":
            if p >= a.threshold or feats[IDX["span_s"]] * 1000 > params.model_greeting_max_ms:
                return "MACHINE", ms
            continue
        if feats[IDX["voice_at_answer"]]:
            return "MACHINE", ms
        span_ms = feats[IDX["span_s"]] * 1000
        need = (
            params.after_greeting_silence_ms
            if span_ms <= params.short_greeting_ms
            else params.long_greeting_silence_ms
        )
        waited = feats[IDX["after_silence_s"]] * 1000 - need
        if p >= a.machine:
            return "MACHINE", ms
        if p <= a.human:
            return "HUMAN", ms
        wait = a.wait if span_ms > params.short_greeting_ms else a.short_wait
        if waited >= wait:  # no beep, no second utterance
            if wait > 0 and p >= a.silent:
                return "MACHINE", ms  # a recording waiting for its message
            return "HUMAN", ms
    return clip["rule_end"]


def summary(clips: list[Clip], verdicts: list[tuple[str, float]]) -> str:
    humans = [i for i, c in enumerate(clips) if c["label"] == "HUMAN"]
    machines = [i for i, c in enumerate(clips) if c["label"] == "MACHINE"]
    right = sum(verdicts[i][0] == clips[i]["label"] for i in humans + machines)
    h2m = sum(verdicts[i][0] == "MACHINE" for i in humans) / max(1, len(humans))
    m2h = sum(verdicts[i][0] == "HUMAN" for i in machines) / max(1, len(machines))
    released = [
        verdicts[i][1] / 1000 - clips[i]["speech_end_s"]
        for i in humans
        if verdicts[i][0] == "HUMAN"
    ]
    return (
        f"H+M {100 * right / max(1, len(humans) + len(machines)):.1f} %  "
        f"human->machine {100 * h2m:.1f} %  machine->human {100 * m2h:.1f} %  "
        f"released median {np.median(released) if released else float('nan'):.2f} s  "
        f"NOTSURE {sum(v[0] == 'NOTSURE' for v in verdicts)}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("corpora", nargs="+", help="training corpus directories (labels.csv + WAVs)")
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    ap.add_argument("--kind", choices=("logreg", "mlp"), default="mlp")
    ap.add_argument("--hidden", type=int, default=8)
    ap.add_argument("--l2", type=float, default=1e-3)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument(
        "--group",
        choices=("voice", "engine", "phrase"),
        default="voice",
        help="cross-validation folds",
    )
    ap.add_argument(
        "--human-weight", type=float, default=1.0, help="a person hung up on costs more"
    )
    ap.add_argument("--drop", default="", help="comma-separated features to zero (ablation)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=None, help="pickle of the snapshots (reuse)")
    ap.add_argument("--machine", type=float, default=parse_params({}).model_machine)
    ap.add_argument("--human", type=float, default=parse_params({}).model_human)
    ap.add_argument("--threshold", type=float, default=parse_params({}).model_threshold)
    ap.add_argument("--wait", type=float, default=parse_params({}).model_wait_ms)
    ap.add_argument("--short-wait", type=float, default=parse_params({}).model_short_wait_ms)
    ap.add_argument(
        "--max-silence", type=float, default=2.0, help="train on snapshots up to this silence (s)"
    )
    ap.add_argument("--silent", type=float, default=parse_params({}).model_silent_machine)
    a = ap.parse_args()

    import pickle

    if a.cache and a.cache.exists():
        clips = pickle.loads(a.cache.read_bytes())
        if "phrase" not in clips[0]:
            rows = {}
            for corpus in a.corpora:
                with open(Path(corpus) / "labels.csv", encoding="utf-8") as f:
                    rows.update({(corpus, r["file"]): r for r in csv.DictReader(f)})
            for c in clips:
                c["phrase"] = phrase_of(rows[(c["corpus"], c["file"])])
    else:
        clips = load(a.corpora, a.workers)
        if a.cache:
            a.cache.write_bytes(pickle.dumps(clips))
    x, y, w, owner = design(clips, a.max_silence)
    for name in filter(None, a.drop.split(",")):
        x[:, IDX[name]] = 0.0
    print(
        f"{len(clips)} clips ({sum(c['label'] == 'HUMAN' for c in clips)} humans), "
        f"{len(y)} snapshots from {', '.join(a.corpora)}",
        file=sys.stderr,
    )

    # grouped cross-validation: folds by voice
    voices = sorted({c["voice"] for c in clips})
    groups = sorted({group_of(c, a.group) for c in clips})
    folds = min(a.folds, len(groups))
    order = np.random.default_rng(SEED).permutation(len(groups))
    fold_of = {groups[j]: k % folds for k, j in enumerate(order)}
    clip_fold = np.array([fold_of[group_of(c, a.group)] for c in clips])
    w = w * np.where(y == 0, a.human_weight, 1.0)
    oof = np.zeros(len(y))
    for k in range(folds):
        test = clip_fold[owner] == k
        m = fit(x[~test], y[~test], w[~test], a.kind, a.hidden, a.l2)
        oof[test] = predict(m, x[test])
    ll = -np.sum(w * (y * np.log(oof + 1e-12) + (1 - y) * np.log(1 - oof + 1e-12))) / w.sum()
    rule = summary(clips, [rule_only(c) for c in clips])
    by_clip: list[list[float]] = [[] for _ in clips]
    for i, c in enumerate(owner):
        by_clip[c].append(float(oof[i]))
    verdicts = [replay(c, by_clip[i], a) for i, c in enumerate(clips)]
    print(f"cross-validated by {a.group} ({folds} folds of {len(groups)}): log-loss {ll:.3f}")
    print(f"  timing rules only (replayed): {rule}")
    print(f"  with the model (replayed):    {summary(clips, verdicts)}")

    model = fit(x, y, w, a.kind, a.hidden, a.l2)
    corpus = (
        f"trained by bench/amd_train.py --kind {a.kind} --l2 {a.l2}"
        + (f" --hidden {a.hidden}" if a.kind == "mlp" else "")
        + f" (seed {SEED}) on {len(clips)} HUMAN/MACHINE clips, {len(y)} snapshots, "
        + f"from {' '.join(Path(c).name for c in a.corpora)}; voices: {' '.join(voices)}"
    )
    np.savez(
        a.out,
        feature_names=np.array(FEATURE_NAMES),
        corpus=np.array(corpus),
        **model,
    )
    if a.kind == "logreg":
        weights = model["w1"][:, 0]
        for i in np.argsort(-np.abs(weights)):
            print(f"  {FEATURE_NAMES[i]:<18} {weights[i]:+.2f}")
    print(f"wrote {a.out}: {corpus[:160]}...")


def rule_only(clip: Clip) -> tuple[str, float]:
    """The timing rules' verdict: the first snapshot decides as the rule would."""
    for t, point, feats in clip["snaps"]:
        if point == "long" or feats[IDX["voice_at_answer"]]:
            return "MACHINE", (t + 1) * 10.0
        return "HUMAN", (t + 1) * 10.0
    return clip["rule_end"]


if __name__ == "__main__":
    main()
