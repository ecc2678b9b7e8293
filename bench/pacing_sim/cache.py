"""A directory of finished campaign-runs, so a long grid (30 seeds: about 100 minutes
on 2 cores) can be stopped and resumed, and its report re-printed without running a
seed again. A run is found again by its task and by a fingerprint of the code that
computes it (the simulator, the pacing modes and the SDK's pacing contract): change
any of it and nothing cached is reused."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .results import SeedResult
    from .runner import Task

_REPO = Path(__file__).resolve().parents[2]
#: What a campaign-run's result depends on besides its task.
_CODE = (
    "bench/pacing_sim/*.py",
    "opendialer/plugins/pacing_*.py",
    "opendialer/plugins/pacing_predictive/*.py",
    "opendialer/sdk/pacing.py",
)


def code_fingerprint() -> str:
    digest = hashlib.sha256()
    for pattern in _CODE:
        for path in sorted(_REPO.glob(pattern)):
            digest.update(str(path.relative_to(_REPO)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class RunCache:
    """``DIR/<code fingerprint>/<task digest>.pkl``, one file per finished run, written
    whole (a temporary file renamed) so a run killed mid-write leaves nothing half."""

    def __init__(self, root: Path) -> None:
        self.dir = root / code_fingerprint()
        self.dir.mkdir(parents=True, exist_ok=True)

    def _path(self, task: Task) -> Path:
        return self.dir / (hashlib.sha256(repr(task).encode()).hexdigest()[:24] + ".pkl")

    def has(self, task: Task) -> bool:
        return self._path(task).exists()

    def get(self, task: Task) -> SeedResult | None:
        path = self._path(task)
        if not path.exists():
            return None
        with path.open("rb") as f:
            return pickle.load(f)  # our own files, written by put()

    def put(self, task: Task, result: SeedResult) -> None:
        path = self._path(task)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(pickle.dumps(result))
        partial.replace(path)
