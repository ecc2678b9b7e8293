"""One line per measured figure, for ``bench/run_all.py``'s table.

A bench calls :func:`report` next to the line where it prints a figure. Under
``run_all.py`` the environment variable :data:`FIGURES_ENV` names a file and each
call appends one JSON object to it; run on its own, a bench prints as before and
``report`` does nothing. The bench's own printed output stays the reference.

    from figures import report      # bench/ is on sys.path when a bench runs
    report("leads list p95, page 1..100", p95, "ms", goal="< 50", met=p95 < 50)

``baseline``: the same kind of figure for a reference measured in the same run
(``psql \\copy``, SIPp's own UAC, app_amd…), so the table can show the ratio; a
string names another figure this bench reports (measured later, say), and
``run_all.py`` takes its value.
``goal``: the target as text (``"<= 2.0"``, ``"< 50 ms"``); ``met``: whether this
run reached it (``None``: no verdict, e.g. a quick-size run of a full-size goal).
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

FIGURES_ENV = "OPENDIALER_BENCH_FIGURES"


def bench_name() -> str:
    """The running bench's name: ``bench/leads_list.py`` → ``leads_list``."""
    return Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else "unknown"


def report(
    name: str,
    value: float | None,
    unit: str,
    *,
    baseline: float | str | None = None,
    baseline_name: str | None = None,
    goal: str | None = None,
    met: bool | None = None,
    note: str | None = None,
) -> None:
    """Record one figure (no-op unless ``$OPENDIALER_BENCH_FIGURES`` names a file)."""
    path = os.environ.get(FIGURES_ENV)
    if not path:
        return
    row: dict[str, Any] = {
        "bench": bench_name(),
        "name": name,
        "value": _number(value),
        "unit": unit,
        "baseline": baseline if isinstance(baseline, str) else _number(baseline),
        "baseline_name": baseline_name,
        "goal": goal,
        "met": None if met is None else bool(met),  # numpy comparisons give numpy.bool_
        "note": note,
    }
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")


def _number(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
