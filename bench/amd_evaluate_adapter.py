"""The ``detect`` interface of ``../shared/amd-corpus/evaluate.py`` over the numpy detector.

    python3 ../shared/amd-corpus/evaluate.py bench/amd_evaluate_adapter.py /tmp/amd-dev --by scenario

Set ``OPENDIALER_AMD_PRESET=fast|accurate`` to evaluate a preset instead of the defaults.
Needs numpy and pluggy in the interpreter that runs evaluate.py (plus scipy for evaluate.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opendialer.plugins.amd_numpy.detector import NumpyAmdSession
from opendialer.plugins.amd_numpy.params import PRESETS, parse_params

_PARAMS = parse_params(PRESETS.get(os.environ.get("OPENDIALER_AMD_PRESET", ""), {}))


def detect_with_info(samples: Any, rate: int) -> tuple[str, float, str]:
    session = NumpyAmdSession(_PARAMS, sample_rate=rate)
    decision = session.feed(samples) or session.finish()
    return decision.label.value, decision.decision_ms, decision.reasons


def detect(samples: Any, rate: int) -> tuple[str, float]:
    label, ms, _ = detect_with_info(samples, rate)
    return label, ms
