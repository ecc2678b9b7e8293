"""The issue's goals for pacing, judged on a run's summaries.

* **abandon**, for each product mode that over-dials (``power``, ``predictive``),
  with the 3 % target: no seed's 30-day abandon rate above 3 % and no day above
  5 % (US definition, on every scenario run). A run of fewer than 30 days cannot
  show a 30-day window: there it is judged *met* only when every simulated day
  stayed at or under 3 % (then every window made of such days does too), and left
  unjudged otherwise (run ``--days 30``);
* **occupancy** of ``predictive`` at N=25, p=0.15, talk 120 s ≥ 0.87;
* ``predictive`` ≥ VICIdial + 0.05 occupancy at an equal or lower abandon rate
  (mean window rate, US) on every scenario with N ≥ 10;
* ``predictive`` never below ``progressive`` in occupancy (means), and at N=5 not
  worse in abandons (mean window rate, US; progressive's is 0 by construction).

Plus a check of the simulator (not a goal of the product): at the headline
scenario, progressive ≈ 0.56 and the state-based reference ≈ 0.87 (±0.02), the
reference figures of the issue's plain simulation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .scenario import HEADLINE, Scenario
from .summary import Summary

OVER_DIALING_MODES = ("power", "predictive")


@dataclass(frozen=True, slots=True)
class Goal:
    name: str
    met: bool | None  # None: this run cannot judge it
    detail: str

    def line(self) -> str:
        verdict = {True: "met", False: "NOT MET", None: "not judged"}[self.met]
        return f"- {self.name}: **{verdict}** — {self.detail}"


def judge(
    summaries: Mapping[tuple[str, str], Summary], scenarios: Sequence[Scenario], days: int
) -> list[Goal]:
    goals: list[Goal] = []
    names = [s.name for s in scenarios]

    def get(scenario: str, policy: str) -> Summary | None:
        return summaries.get((scenario, policy))

    for mode in OVER_DIALING_MODES:
        rows = [x for n in names if (x := get(n, mode)) is not None]
        if not rows:
            continue
        worst_day = max(rows, key=lambda x: x.worst_day_us)
        worst_window = max(rows, key=lambda x: x.worst_window_us)
        if days >= 30:
            met: bool | None = worst_window.worst_window_us <= 3.0
            detail = f"worst seed's {days}-day rate {worst_window.worst_window_us:.2f} % ({worst_window.scenario})"
        elif worst_day.worst_day_us <= 3.0:
            met = True
            detail = f"every simulated day ≤ 3 % (worst {worst_day.worst_day_us:.2f} %, {worst_day.scenario}), so every 30-day window of such days is too"
        else:
            met = None
            detail = f"a {days}-day run: a day above 3 % ({worst_day.worst_day_us:.2f} %, {worst_day.scenario}); a 30-day window needs --days 30"
        goals.append(Goal(f"{mode}: no seed's 30-day abandon rate above 3 %", met, detail))
        goals.append(
            Goal(
                f"{mode}: no day's abandon rate above 5 %",
                worst_day.worst_day_us <= 5.0,
                f"worst day {worst_day.worst_day_us:.2f} % ({worst_day.scenario})",
            )
        )

    head = get(HEADLINE.name, "predictive")
    if head is not None:
        goals.append(
            Goal(
                f"predictive occupancy at {HEADLINE.name} ≥ 0.87",
                head.occupancy.mean >= 0.87,
                f"{head.occupancy.text()}",
            )
        )

    versus, failed = 0, []
    for s in scenarios:
        pred, vici = get(s.name, "predictive"), get(s.name, "vicidial")
        if s.agents < 10 or pred is None or vici is None:
            continue
        versus += 1
        margin = pred.occupancy.mean - vici.occupancy.mean
        if margin < 0.05 or pred.us_window.mean > vici.us_window.mean:
            failed.append(
                f"{s.name}: {margin:+.3f} occupancy, abandons {pred.us_window.mean:.2f} % vs {vici.us_window.mean:.2f} %"
            )
    if versus:
        goals.append(
            Goal(
                "predictive ≥ VICIdial + 0.05 occupancy at ≤ its abandon rate (N ≥ 10)",
                not failed,
                f"{versus - len(failed)} of {versus} scenarios"
                + (f"; short: {'; '.join(failed)}" if failed else ""),
            )
        )

    below, compared, small = [], 0, []
    for s in scenarios:
        pred, prog = get(s.name, "predictive"), get(s.name, "progressive")
        if pred is None or prog is None:
            continue
        compared += 1
        if pred.occupancy.mean < prog.occupancy.mean:
            below.append(f"{s.name}: {pred.occupancy.mean:.3f} < {prog.occupancy.mean:.3f}")
        if s.agents <= 5 and pred.us_window.mean > prog.us_window.mean:
            small.append(f"{s.name}: {pred.us_window.mean:.2f} % vs {prog.us_window.mean:.2f} %")
    if compared:
        goals.append(
            Goal(
                "predictive never below progressive in occupancy",
                not below,
                f"{compared - len(below)} of {compared} scenarios"
                + (f"; below: {'; '.join(below)}" if below else ""),
            )
        )
    if any(s.agents <= 5 for s in scenarios) and compared:
        goals.append(
            Goal(
                "N=5: predictive not worse than progressive in abandons (US)",
                not small,
                "; ".join(small) if small else "no N=5 scenario with more abandons",
            )
        )
    return goals


def validation(summaries: Mapping[tuple[str, str], Summary]) -> list[Goal]:
    """The simulator against the issue's plain-simulation reference figures."""
    out = []
    for policy, reference in (("progressive", 0.56), ("state-based", 0.87)):
        row = summaries.get((HEADLINE.name, policy))
        if row is not None:
            out.append(
                Goal(
                    f"simulator check: {policy} at {HEADLINE.name} ≈ {reference:.2f}",
                    abs(row.occupancy.mean - reference) <= 0.02,
                    row.occupancy.text(),
                )
            )
    return out


__all__ = ["Goal", "judge", "validation"]
