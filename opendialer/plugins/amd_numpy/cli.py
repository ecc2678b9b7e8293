"""``opendialer amd analyze|listen``: run the detector on recorded calls."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import typer

from opendialer.sdk import AmdDecision

from .detector import NumpyAmdSession
from .params import parse_params
from .strategy import resolve_params
from .wavio import WavError, read_wav

amd_app = typer.Typer(
    help="Answering-machine detection on WAV files (the 'numpy' strategy).",
    no_args_is_help=True,
)


def _err(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")


def _parse_overrides(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--param {pair!r}: expected NAME=VALUE, e.g. greeting_ms=3500")
        out[name.strip()] = value.strip()
    return out


def _params_or_exit(preset: str | None, param: list[str]) -> dict[str, Any]:
    try:
        return resolve_params(preset, _parse_overrides(param))
    except ValueError as exc:
        _err(str(exc))
        raise typer.Exit(2) from None


@amd_app.command("analyze")
def analyze_command(
    files: list[Path] = typer.Argument(
        ..., help="WAV files (any rate; PCM 8/16-bit, µ-law, A-law)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    param: list[str] = typer.Option([], "--param", help="NAME=VALUE (ours or app_amd's name)."),
    preset: str | None = typer.Option(None, "--preset", help="fast | accurate"),
    plot: Path | None = typer.Option(None, "--plot", help="Draw the analysis to this PNG."),
) -> None:
    """Print each file's verdict, decision time and reasons."""
    values = _params_or_exit(preset, param)
    if plot is not None:
        from .plot import PlotUnavailable, check_matplotlib

        try:
            check_matplotlib()
        except PlotUnavailable as exc:
            _err(str(exc))
            raise typer.Exit(2) from None
        if len(files) > 1:
            _err("--plot draws one file: give exactly one FILE with --plot")
            raise typer.Exit(2)
    params = parse_params(values)
    failed = 0
    for path in files:
        try:
            samples, rate = read_wav(path)
            session = NumpyAmdSession(params, sample_rate=rate, trace=plot is not None)
        except (OSError, WavError, ValueError) as exc:
            _err(f"{path}: {exc}")
            failed += 1
            continue
        decision = session.feed(np.asarray(samples)) or session.finish()
        if as_json:
            line = {
                "file": str(path),
                "label": decision.label.value,
                "decision_ms": decision.decision_ms,
                "reasons": decision.reasons,
            }
            sys.stdout.write(json.dumps(line) + "\n")
        else:
            sys.stdout.write(
                f"{path}: {decision.label.value} at {decision.decision_ms / 1000:.2f} s "
                f"({decision.reasons})\n"
            )
        if plot is not None:
            from .plot import draw

            draw(plot, samples, rate, session, decision)
            sys.stderr.write(f"plot written to {plot}\n")
    if failed:
        raise typer.Exit(1)


LIVE_EVERY_S = 0.1  # the detector works in 100 ms blocks: show each one


def live_line(seconds: float, session: NumpyAmdSession, decision: AmdDecision | None) -> str:
    """One line of ``amd listen``: where the detector stands after ``seconds`` of audio."""
    at = f"{seconds:6.2f} s"
    if decision is not None:  # the analysis is over: the levels would be stale
        when = decision.decision_ms / 1000
        return f"{at}  {decision.label.value} at {when:.2f} s ({decision.reasons})"
    trace = session.trace
    levels = ""
    if trace is not None and trace.energy_db:
        levels = (
            f"{'speech' if trace.speech[-1] else 'quiet '}  energy {trace.energy_db[-1]:5.1f} dB"
            f"  threshold {trace.threshold_db[-1]:5.1f}  floor {trace.floor_db[-1]:5.1f}  "
        )
    return f"{at}  {levels}listening: {session.describe()}"


@amd_app.command("listen")
def listen_command(
    file: Path = typer.Argument(..., help="A WAV file to play."),
    param: list[str] = typer.Option([], "--param", help="NAME=VALUE (ours or app_amd's name)."),
    preset: str | None = typer.Option(None, "--preset", help="fast | accurate"),
) -> None:
    """Play FILE while showing the detector's state live (needs the 'audio' extra).

    Every 100 ms of audio: speech or quiet, the 120 ms energy against the
    threshold and the noise floor and the greeting so far; once the detector
    has decided (a tone decides at once), the verdict and its reasons. On a
    terminal the line updates in place; piped, each update is a line of its own.
    """
    values = _params_or_exit(preset, param)
    try:
        import pyaudio  # type: ignore[import-not-found]
    except ImportError:
        _err("amd listen needs PyAudio: pip install 'opendialer[audio]'")
        raise typer.Exit(2) from None
    try:
        samples, rate = read_wav(file)
    except (OSError, WavError) as exc:
        _err(f"{file}: {exc}")
        raise typer.Exit(1) from None
    session = NumpyAmdSession(parse_params(values), sample_rate=rate, trace=True)
    pcm = np.clip(samples, -32768, 32767).astype(np.int16)
    audio = pyaudio.PyAudio()
    try:
        stream = audio.open(format=pyaudio.paInt16, channels=1, rate=rate, output=True)
    except OSError as exc:  # no sound card, or the default device refuses the format
        audio.terminate()
        _err(f"{file}: cannot open an audio output device ({exc})")
        raise typer.Exit(1) from None
    in_place = sys.stdout.isatty()
    chunk = max(1, rate // 50)  # 20 ms, like RTP
    every = max(chunk, round(rate * LIVE_EVERY_S))
    try:
        for start in range(0, len(pcm), chunk):
            piece = pcm[start : start + chunk]
            stream.write(piece.tobytes())
            decision = session.feed(piece)
            end = start + len(piece)
            if end % every < chunk or end == len(pcm):
                line = live_line(end / rate, session, decision)
                sys.stdout.write(f"\r{line}\x1b[K" if in_place else f"{line}\n")
                sys.stdout.flush()
        final = session.finish()
        sys.stdout.write("\n" if in_place else "")
        sys.stdout.write(
            f"verdict: {final.label.value} at {final.decision_ms / 1000:.2f} s ({final.reasons})\n"
        )
    finally:
        stream.stop_stream()
        stream.close()
        audio.terminate()
