"""A decision's CPU time: the thread's CPU clock around the call, less the clock's cost.

Not wall time: on a busy machine other processes' turns land inside the interval
and inflate it (by 2-3× at a load of 5 on 2 cores); the thread's CPU clock counts
only this thread's work. Reading it costs ~1 µs, measured once and subtracted.
"""

from __future__ import annotations

from time import thread_time_ns as cpu_ns


def _overhead_ns() -> int:
    pairs = []
    for _ in range(2001):
        started = cpu_ns()
        pairs.append(cpu_ns() - started)
    return sorted(pairs)[len(pairs) // 2]


OVERHEAD_NS = _overhead_ns()


def spent_ns(started: int) -> int:
    """CPU nanoseconds since ``started`` (a :func:`cpu_ns` reading), at least 1."""
    return max(1, cpu_ns() - started - OVERHEAD_NS)


__all__ = ["OVERHEAD_NS", "cpu_ns", "spent_ns"]
