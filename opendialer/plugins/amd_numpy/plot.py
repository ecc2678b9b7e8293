"""``amd analyze --plot``: waveform, energy, noise floor, segments, tones, decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from opendialer.sdk import AmdDecision

from .detector import NumpyAmdSession
from .features import FRAME_S


class PlotUnavailable(RuntimeError):
    pass


def check_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotUnavailable("--plot needs matplotlib: pip install 'opendialer[plot]'") from None


def draw(
    out: Path,
    samples: npt.NDArray[np.float64],
    rate: int,
    session: NumpyAmdSession,
    decision: AmdDecision,
) -> None:
    """Write :func:`figure` of the analysis to ``out`` (PNG, 1100 x 500 pixels)."""
    import matplotlib.pyplot as plt

    fig = figure(samples, rate, session, decision)
    fig.savefig(out, dpi=100)
    plt.close(fig)


def figure(
    samples: npt.NDArray[np.float64],
    rate: int,
    session: NumpyAmdSession,
    decision: AmdDecision,
) -> Any:
    """Waveform above; 120 ms energy, noise floor and threshold below; speech
    segments green, tones orange (labelled), the learned model's P(machine)
    purple (right axis), the decision point a red line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trace = session.trace
    assert trace is not None, "the session must be created with trace=True"
    fig: Any
    fig, (ax_wave, ax_energy) = plt.subplots(2, 1, sharex=True, figsize=(11, 5))
    t = np.arange(len(samples)) / rate
    ax_wave.plot(t, samples, linewidth=0.4, color="0.3")
    ax_wave.set_ylabel("sample")
    frames = np.arange(len(trace.energy_db)) * FRAME_S + FRAME_S
    ax_energy.plot(frames, trace.energy_db, linewidth=0.8, label="energy (120 ms)")
    ax_energy.plot(frames, trace.floor_db, linewidth=0.8, label="noise floor")
    ax_energy.plot(frames, trace.threshold_db, linewidth=0.8, linestyle="--", label="threshold")
    speech = np.asarray(trace.speech, dtype=bool)
    if speech.any():
        edges = np.flatnonzero(np.diff(np.concatenate([[0], speech.astype(int), [0]])))
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            for ax in (ax_wave, ax_energy):
                ax.axvspan(start * FRAME_S, end * FRAME_S, color="tab:green", alpha=0.15)
    for start_s, end_s, hz, kind in trace.tones:
        for ax in (ax_wave, ax_energy):
            ax.axvspan(start_s, end_s, color="tab:orange", alpha=0.3)
        ax_energy.annotate(f"{kind} {hz:.0f} Hz", (start_s, max(trace.energy_db)), fontsize=8)
    if trace.scores:
        ax_score = ax_energy.twinx()
        times, probs = zip(*trace.scores, strict=True)
        ax_score.step(times, probs, where="post", color="tab:purple", linewidth=1.0)
        ax_score.set_ylim(0, 1)
        ax_score.set_ylabel("model P(machine)", color="tab:purple")
    at = decision.decision_ms / 1000
    for ax in (ax_wave, ax_energy):
        ax.axvline(at, color="tab:red")
    ax_wave.set_title(f"{decision.label.value} at {at:.2f} s — {decision.reasons}", fontsize=9)
    ax_energy.set_ylabel("dB")
    ax_energy.set_xlabel("seconds since answer")
    ax_energy.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
