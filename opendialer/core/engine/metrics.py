"""What the engine measures: outcomes, launches, abandons, and agent-free → originate latency."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class EngineMetrics:
    """In-process counters; ``snapshot()`` is what Diagnostics and the bench read."""

    launched: int = 0
    originated: int = 0
    #: handed to the platform but refused before anything was sent (undone, dialed later)
    refused: int = 0
    #: a person answered and no agent freed in time: safe-harbour message, hung up
    abandoned: int = 0
    #: a machine answered and the campaign's voicemail message was left (voicemail drop)
    messages_left: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    #: Seconds from "capacity seen free" (an agent freed, a call ended, a pacing tick) to
    #: the platform's originate call, one sample per call (the last 100,000).
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))

    def snapshot(self) -> dict[str, Any]:
        samples = list(self.latencies)
        p50 = percentile(samples, 50)
        p99 = percentile(samples, 99)
        return {
            "launched": self.launched,
            "originated": self.originated,
            "refused": self.refused,
            "abandoned": self.abandoned,
            "messages_left": self.messages_left,
            "outcomes": dict(self.outcomes),
            "latency_p50_ms": None if p50 is None else round(p50 * 1000, 2),
            "latency_p99_ms": None if p99 is None else round(p99 * 1000, 2),
            "latency_samples": len(samples),
        }


__all__ = ["EngineMetrics", "percentile"]
