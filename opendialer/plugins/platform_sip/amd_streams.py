"""Whether answering-machine detection keeps up: AMD streams running and their lag.

A call's AMD stream runs from the answer to the verdict. A far end sends its audio
in real time, so audio time ``t`` arrives at ``start + t``; when the detector is
fed audio up to ``t`` at wall time ``now``, ``now - t - start`` is how long the
newest audio waited (socket queue, a busy event loop) before it was analysed: its
*processing lag*. ``start`` is not known exactly (the far end starts its audio
when it sees our ACK, itself perhaps late), so it is taken as the earliest the
stream has ever been, ``min(now - t)`` over its batches so far: a far end that
started late does not count, a node that falls behind does. It stays near 0
(packet jitter) while the node keeps up. The platform's 200 ms RTP batches and
the detector's 100 ms blocks are not in it: they delay a verdict by at most
300 ms of audio, the same offline. A far end that sends late after its start
(it is short of CPU) shows as lag too.
"""

from __future__ import annotations

import bisect
import math
import time
from dataclasses import dataclass, field
from typing import Any

#: processing lag buckets (seconds): jitter is a few ms, a node that cannot keep up
#: falls behind by whole batches (200 ms) and more
LAG_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
SAMPLE_RATE = 8000


@dataclass
class AmdStreams:
    """The platform's AMD streams: how many run now, and the lag of every feed so far."""

    active: int = 0
    lag_counts: list[int] = field(default_factory=lambda: [0] * (len(LAG_BUCKETS) + 1))
    lag_sum_s: float = 0.0

    def observe(self, lag_s: float) -> None:
        self.lag_counts[bisect.bisect_left(LAG_BUCKETS, lag_s)] += 1
        self.lag_sum_s += lag_s

    def snapshot(self) -> dict[str, Any]:
        """``active``, and the lag histogram: ``buckets`` (upper bound → cumulative
        count, ``inf`` last), ``count`` and ``sum_s``, as Prometheus expects it."""
        cumulative, running = [], 0
        for bound, count in zip((*LAG_BUCKETS, float("inf")), self.lag_counts, strict=True):
            running += count
            cumulative.append((bound, running))
        return {
            "active": self.active,
            "buckets": cumulative,
            "count": running,
            "sum_s": self.lag_sum_s,
        }


class StreamClock:
    """One call's AMD stream: the audio fed against the wall clock."""

    def __init__(self, streams: AmdStreams) -> None:
        self.streams = streams
        self.start = math.inf  # wall time of audio time 0, the earliest seen
        self.samples = 0
        self.worst_lag_s = 0.0
        self.verdict_delay_s: float | None = None

    def fed(self, samples: int) -> None:
        self.samples += samples
        behind = time.monotonic() - self.samples / SAMPLE_RATE
        self.start = min(self.start, behind)
        lag = behind - self.start
        self.worst_lag_s = max(self.worst_lag_s, lag)
        self.streams.observe(lag)

    def decided(self, decision_ms: float) -> None:
        """The verdict came now, for the audio up to ``decision_ms``: how much later than
        that audio arrived (the processing lag plus the batch and block it waited in)."""
        self.verdict_delay_s = time.monotonic() - self.start - decision_ms / 1000
