"""PyAudio for ``opendialer amd listen``'s tests, and ALSA devices that need no sound card.

PyAudio is the ``audio`` extra, not a test requirement: it builds against
PortAudio's headers, which a fresh machine lacks, so ``pip install '.[test]'``
could not install it. ``ensure_pyaudio(directory)`` makes it importable for the
CLI's child processes without touching the test environment: ``pip install --target
directory pyaudio`` against Debian's ``portaudio19-dev`` (which
``scripts/setup-test-deps`` installs; without its header the test skips, or fails
under ``CI=true``); the caller puts ``directory`` on ``PYTHONPATH``.

``alsa_config(path, ...)`` writes an ALSA configuration for
``ALSA_CONFIG_PATH``: a default device that writes what is played to a file
(ALSA's ``file`` plugin over its ``null`` device), or one that names a sound
card that does not exist.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from system_deps import missing

PORTAUDIO_HEADER = Path("/usr/include/portaudio.h")


class PyAudioUnavailable(RuntimeError):
    pass


def ensure_pyaudio(directory: Path) -> Path | None:
    """A directory to add to ``PYTHONPATH`` so that ``import pyaudio`` works, or None
    when the test environment already has PyAudio."""
    if importlib.util.find_spec("pyaudio") is not None:
        return None
    if (directory / "pyaudio").is_dir():
        return directory
    if not PORTAUDIO_HEADER.exists():
        missing(f"PortAudio's header {PORTAUDIO_HEADER}", "portaudio19-dev")
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(directory)]
    done = subprocess.run(
        [*pip, "pyaudio>=0.2.14"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise PyAudioUnavailable(f"pip install pyaudio failed: {done.stderr[-1500:]}")
    return directory


def alsa_config(path: Path, *, record_to: Path | None = None, missing_card: int = 9) -> Path:
    """Write an ALSA configuration whose default device records to ``record_to``
    (raw samples as played) or, without it, is a sound card that does not exist."""
    if record_to is not None:
        device = f'type file\n  slave.pcm {{ type null }}\n  file "{record_to}"\n  format "raw"'
    else:
        device = f"type hw\n  card {missing_card}"
    path.write_text(f"pcm.!default {{\n  {device}\n}}\n", encoding="utf-8")
    return path
