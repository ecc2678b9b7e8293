"""Voicemail drop on a labelled corpus: where the message would start.

    python bench/amd_voicemail_drop.py CORPUS_DIR [--silence-ms 2000]

For every MACHINE clip of ``CORPUS_DIR/labels.csv`` (columns ``greeting_end_s``,
``beep_start_s``, ``beep_end_s``) the built-in strategy's session is fed 20 ms chunks
as the SIP platform feeds it; on its MACHINE verdict the engine's capped message point
tracker (``core/engine/message_point.tracker_for``) takes over, as on a call. A clip
ends 1 s after its greeting or beep: the line goes on as that last second of line
noise, repeated (every other copy reversed, so no click joins them), up to the cap.

Prints, for clips with a beep: the message's start after the beep's end (median, p95,
share within 300 ms, share started before the beep ended); for all: the share started
while the greeting was still playing (before ``greeting_end_s``), the start after the
greeting's end for clips without a beep, the share with no point before the cap, and
the clips the detector did not call MACHINE (no message would be left).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opendialer.core.engine.message_point import CAP_MS, tracker_for
from opendialer.plugins.amd_numpy import message_point
from opendialer.plugins.amd_numpy.strategy import NumpyAmdStrategy
from opendialer.plugins.amd_numpy.wavio import read_wav
from opendialer.sdk import AmdLabel

CHUNK_MS = 20
TAIL_S = 1.0


def _line_after(x: np.ndarray, rate: int, seconds: float) -> np.ndarray:
    """The clip followed by its last second of line noise, repeated, to ``seconds`` more."""
    tail = x[-int(TAIL_S * rate) :]
    copies = [tail[::-1] if i % 2 == 0 else tail for i in range(int(seconds / TAIL_S) + 1)]
    return np.concatenate([x, *copies])


def start_of_message(x: np.ndarray, rate: int) -> tuple[str, float | None, str]:
    """(verdict, the message's start in s since answer or None, reasons)."""
    session = NumpyAmdStrategy().new_session({}, sample_rate=rate)
    pcm = np.clip(np.round(x * 32767 if np.abs(x).max() <= 1.0 else x), -32768, 32767)
    audio = _line_after(pcm.astype(np.int16), rate, CAP_MS / 1000 + 1)
    chunk = rate * CHUNK_MS // 1000
    tracker = None
    for start in range(0, len(audio), chunk):
        piece = audio[start : start + chunk]
        if tracker is None:
            decision = session.feed(piece)
            if decision is None:
                continue
            if decision.label is not AmdLabel.MACHINE:
                return decision.label.value, None, decision.reasons
            tracker = tracker_for(session, sample_rate=rate)
            continue
        point = tracker.feed(piece)
        if point is not None:
            at = (start + len(piece)) / rate if point.found else None
            return "MACHINE", at, point.reasons
    return "MACHINE", None, "audio ended"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} % ({part}/{whole})" if whole else "–"


def _s(values: list[float], q: float) -> str:
    return f"{np.quantile(values, q):.3f} s" if values else "–"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--silence-ms", type=float, default=message_point.SILENCE_AFTER_GREETING_MS)
    args = parser.parse_args()
    message_point.SILENCE_AFTER_GREETING_MS = args.silence_ms
    with open(args.corpus / "labels.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["label"] == "MACHINE"]
    after_beep: list[float] = []
    after_greeting: list[float] = []
    before_beep_end = early = no_point = not_machine = started = with_beep = 0
    for row in rows:
        x, rate = read_wav(args.corpus / row["file"])
        verdict, at, _why = start_of_message(x, rate)
        if verdict != "MACHINE":
            not_machine += 1
            continue
        if at is None:
            no_point += 1
            continue
        started += 1
        greeting_end = float(row["greeting_end_s"] or 0)
        if at < greeting_end:
            early += 1
        if row["beep_end_s"]:
            with_beep += 1
            after_beep.append(at - float(row["beep_end_s"]))
            before_beep_end += at < float(row["beep_end_s"])
        else:
            after_greeting.append(at - greeting_end)
    machines = len(rows) - not_machine
    print(f"corpus {args.corpus}: {len(rows)} MACHINE clips, silence {args.silence_ms:.0f} ms")
    print(f"  called MACHINE by the detector: {_pct(machines, len(rows))}")
    print(f"  no message point before the cap ({CAP_MS / 1000:.0f} s): {_pct(no_point, machines)}")
    print(f"  started while the greeting still played: {_pct(early, started)}")
    ok = sum(1 for d in after_beep if 0 <= d <= 0.3)
    print(
        f"  with a beep: start after its end median {_s(after_beep, 0.5)}, "
        f"p95 {_s(after_beep, 0.95)}, within 300 ms {_pct(ok, with_beep)}, "
        f"before it ended {_pct(before_beep_end, with_beep)}"
    )
    print(
        f"  without a beep: start after the greeting's end median {_s(after_greeting, 0.5)}, "
        f"p95 {_s(after_greeting, 0.95)} ({len(after_greeting)} clips)"
    )


if __name__ == "__main__":
    main()
