"""Seeds → figures: means with 95 % intervals, one table per scenario, JSON lines."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .results import SeedResult

Z975 = 1.959963984540054


def t975(df: int) -> float:
    """Student's t 97.5 % quantile (Cornish-Fisher expansion; exact enough for df ≥ 3)."""
    if df <= 0:
        return math.inf
    z = Z975
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean over seeds and the half-width of its 95 % confidence interval."""

    mean: float
    half: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Estimate:
        n = len(values)
        if n == 0:
            return cls(math.nan, math.nan, 0)
        mean = statistics.fmean(values)
        half = t975(n - 1) * statistics.stdev(values) / math.sqrt(n) if n > 1 else math.nan
        return cls(mean, half, n)

    def text(self, digits: int = 3) -> str:
        if math.isnan(self.half):
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ±{self.half:.{digits}f}"

    def as_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "ci95": [self.mean - self.half, self.mean + self.half]}  # type: ignore[dict-item]


@dataclass(frozen=True, slots=True)
class Summary:
    scenario: str
    policy: str
    seeds: int
    days: int
    occupancy: Estimate
    talk_min_per_agent_hour: Estimate
    gain: Estimate | None  # occupancy ÷ progressive's, seed by seed
    us_day: Estimate  # mean of the daily rates (%)
    us_window: Estimate  # each seed's rate over its days (%)
    uk_day: Estimate
    uk_window: Estimate
    worst_day_us: float
    worst_window_us: float
    violations_pct: Estimate
    attempts_per_lead: Estimate
    us_per_decision: float
    extra: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "policy": self.policy,
            "seeds": self.seeds,
            "days": self.days,
            "worst_day_abandon_us_pct": self.worst_day_us,
            "worst_window_abandon_us_pct": self.worst_window_us,
            "cpu_us_per_decision": self.us_per_decision,
        }
        for name in (
            "occupancy", "talk_min_per_agent_hour", "gain", "us_day", "us_window", "uk_day",
            "uk_window", "violations_pct", "attempts_per_lead",
        ):  # fmt: skip
            value = getattr(self, name)
            out[JSON_NAMES.get(name, name)] = value.as_dict() if value is not None else None
        out.update(self.extra)
        return out


JSON_NAMES = {
    "gain": "gain_over_progressive",
    "us_day": "abandon_us_day_pct",
    "us_window": "abandon_us_window_pct",
    "uk_day": "abandon_uk_day_pct",
    "uk_window": "abandon_uk_window_pct",
    "violations_pct": "violations_2s_pct_of_connected",
}


def summarize(results: Sequence[SeedResult], progressive: Sequence[SeedResult] | None) -> Summary:
    first = results[0]
    days = [d for r in results for d in r.days]
    gain = None
    if progressive:
        base = {r.seed: r.occupancy for r in progressive}
        ratios = [r.occupancy / base[r.seed] for r in results if base.get(r.seed)]
        gain = Estimate.of(ratios) if ratios else None
    extra: dict[str, Any] = {}
    levels = [d.extra["mean_dial_level"] for d in days if "mean_dial_level" in d.extra]
    if levels:
        extra["mean_dial_level"] = statistics.fmean(levels)
    vici = [d.extra for d in days if "level_min" in d.extra]
    if vici:
        extra["vicidial_level_range"] = [
            min(x["level_min"] for x in vici),
            max(x["level_max"] for x in vici),
        ]
        extra["vicidial_level_mean"] = statistics.fmean(x["level_mean"] for x in vici)
    return Summary(
        scenario=first.scenario,
        policy=first.policy,
        seeds=len(results),
        days=len(first.days),
        occupancy=Estimate.of([r.occupancy for r in results]),
        talk_min_per_agent_hour=Estimate.of([r.talk_min_per_agent_hour for r in results]),
        gain=gain,
        us_day=Estimate.of([d.abandon_us for d in days]),
        us_window=Estimate.of([r.window_us for r in results]),
        uk_day=Estimate.of([d.abandon_uk for d in days]),
        uk_window=Estimate.of([r.window_uk for r in results]),
        worst_day_us=max(r.worst_day_us for r in results),
        worst_window_us=max(r.window_us for r in results),
        violations_pct=Estimate.of([r.violations_pct for r in results]),
        attempts_per_lead=Estimate.of([r.attempts_per_lead for r in results]),
        us_per_decision=statistics.fmean(r.us_per_decision for r in results),
        extra=extra,
    )


HEADER = (
    "policy", "occupancy", "talk min/agent-h", "gain vs prog.", "US day %", "US window %",
    "UK day %", "UK window %", "worst day US %", "2-s rule viol. %", "attempts/lead/day",
    "µs/decision",
)  # fmt: skip


def table(rows: Sequence[Summary]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for s in rows:
        cells = [
            s.policy,
            s.occupancy.text(3),
            s.talk_min_per_agent_hour.text(1),
            s.gain.text(2) if s.gain else "—",
            s.us_day.text(2),
            s.us_window.text(2),
            s.uk_day.text(2),
            s.uk_window.text(2),
            f"{s.worst_day_us:.2f}",
            s.violations_pct.text(2),
            s.attempts_per_lead.text(2),
            f"{s.us_per_decision:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


__all__ = ["Estimate", "Summary", "summarize", "t975", "table"]
