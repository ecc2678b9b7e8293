"""Running seeds: one campaign per (scenario, policy, seed), its days in a row; seeds
in parallel over processes; and the search of the best fixed ratio."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .cache import RunCache
from .campaign import Campaign
from .policies import FixedRatio, ModePolicy, Policy, VirtualClock, product_settings
from .reference import StateBased
from .results import SeedResult
from .scenario import Scenario
from .sim import DaySim
from .vicidial import Vicidial

#: The fixed ratios searched (total lines per logged-on agent).
RATIOS = tuple(round(1.0 + 0.05 * i, 2) for i in range(61))  # 1.00 … 4.00
#: The day's abandon rate the best fixed ratio must keep on every seed (%).
FIXED_DAY_LIMIT_PCT = 3.0


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """A policy to build for each campaign: ``kind`` is ``mode`` (a product pacing
    mode, by ``mode`` name; ``value``: power's lines per agent), ``vicidial``
    (``method``; ``value``: the Adapt Intensity Modifier; ``diff``: the Dial Level
    Difference Target), ``fixed`` (``value``: the
    ratio), ``state`` or ``state-counts`` (``value``: ε)."""

    label: str
    kind: str
    mode: str = ""
    value: float = 0.0
    method: str = "ADAPT_TAPERED"
    #: VICIdial's Dial Level Difference Target.
    diff: float = 0.0


def mode(name: str, lines_per_agent: float = 1.5) -> PolicySpec:
    return PolicySpec(name, "mode", mode=name, value=lines_per_agent)


VICIDIAL = PolicySpec("vicidial", "vicidial")
STATE = PolicySpec("state-based", "state", value=0.03)


def state_based(name: str) -> PolicySpec:
    """``state-based[:EPS]`` or ``state-based-counts[:EPS]`` (ε as a fraction, 0.03)."""
    base, _, eps = name.partition(":")
    kind = "state-counts" if base == "state-based-counts" else "state"
    return PolicySpec(name, kind, value=float(eps) if eps else 0.03)


def fixed(ratio: float) -> PolicySpec:
    return PolicySpec(f"fixed {ratio:.2f}", "fixed", value=ratio)


def build(
    spec: PolicySpec, scenario: Scenario, clock: VirtualClock, *, full_info: bool, target_pct: float
) -> Policy:
    if spec.kind == "mode":
        settings = product_settings(spec.mode, spec.value or 1.5, target_pct, scenario)
        return ModePolicy(spec.mode, settings, clock, full_info=full_info)
    if spec.kind == "vicidial":
        return Vicidial(
            spec.method, intensity=spec.value, dl_diff_target=spec.diff, drop_limit_pct=target_pct
        )
    if spec.kind == "fixed":
        return FixedRatio(spec.value)
    if spec.kind in ("state", "state-counts"):
        return StateBased(scenario, spec.value, counts_only=spec.kind == "state-counts")
    raise ValueError(f"unknown policy kind {spec.kind!r}")


@dataclass(frozen=True, slots=True)
class Task:
    scenario: Scenario
    spec: PolicySpec
    seed: int
    days: int = 1
    full_info: bool = False
    target_pct: float = 3.0


def run_seed(task: Task) -> SeedResult:
    """One campaign: ``task.days`` consecutive days, one policy instance, budget carried."""
    started = time.process_time()
    clock = VirtualClock()
    policy = build(
        task.spec, task.scenario, clock, full_info=task.full_info, target_pct=task.target_pct
    )
    campaign = Campaign(task.scenario, task.seed, policy, clock, target_pct=task.target_pct)
    days = [DaySim(campaign, day, full_info=task.full_info).run() for day in range(task.days)]
    cpu_s = time.process_time() - started
    return SeedResult(task.scenario.name, task.spec.label, task.seed, days, cpu_s)


def run_all(
    tasks: Sequence[Task], processes: int | None = None, cache: RunCache | None = None
) -> list[SeedResult]:
    """Every task's result, in the tasks' order; over ``processes`` (default: the cores).
    With a ``cache``, runs found there are not run again and each new one is stored as
    soon as it ends (a stopped grid resumes where it was)."""
    processes = processes or os.cpu_count() or 1
    results: list[SeedResult | None] = [cache.get(t) if cache else None for t in tasks]
    todo = [i for i, r in enumerate(results) if r is None]

    def keep(i: int, result: SeedResult) -> None:
        results[i] = result
        if cache is not None:
            cache.put(tasks[i], result)

    if processes <= 1 or len(todo) <= 1:
        for i in todo:
            keep(i, run_seed(tasks[i]))
    else:
        # Long tasks first keeps both cores busy to the end.
        order = sorted(todo, key=lambda i: -cost(tasks[i]))
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            for i, result in pool.imap_unordered(_indexed_run, [(i, tasks[i]) for i in order]):
                keep(i, result)
    return [r for r in results if r is not None]


def _indexed_run(item: tuple[int, Task]) -> tuple[int, SeedResult]:
    return item[0], run_seed(item[1])


def cost(task: Task) -> float:
    """A rough guess of a task's CPU, to start the long ones first: attempts ∝ agents ÷
    (answer rate × talk), decisions ∝ the day (a product mode's cost more)."""
    s = task.scenario
    per_decision = 10.0 if task.spec.kind == "mode" and task.spec.mode != "progressive" else 1.0
    return task.days * (per_decision + s.agents / (s.answer_rate * (s.talk_mean_s + 30.0)))


def search_fixed(
    scenarios: Sequence[Scenario],
    seeds: Mapping[str, Sequence[int]],
    run: Callable[[Sequence[Task]], list[SeedResult]],
    days: int = 1,
) -> dict[str, tuple[float, list[SeedResult], bool]]:
    """Per scenario: the largest ratio of :data:`RATIOS` whose every seed's every day
    stays at or under :data:`FIXED_DAY_LIMIT_PCT` (occupancy grows with the ratio, so
    the largest one allowed is the best), found by bisection over the grid, the
    scenarios' probes run together. A probe runs a fifth of the scenario's seeds
    (``seeds[name]``) first and the rest only if none of those broke the limit (one
    seed breaking it is enough). → {name: (ratio, its seeds' results, feasible)}."""
    by_name = {s.name: s for s in scenarios}
    split = {n: max(3, len(seeds[n]) // 5) for n in by_name}
    lo = dict.fromkeys(by_name, -1)  # largest index known to keep the limit
    hi = dict.fromkeys(by_name, len(RATIOS))  # smallest index known to break it
    seen: dict[tuple[str, int], list[SeedResult]] = {}

    def probe(wanted: Mapping[str, int], part: str) -> dict[str, list[SeedResult]]:
        def some(n: str) -> Sequence[int]:
            cut = split[n]
            return {"first": seeds[n][:cut], "rest": seeds[n][cut:], "all": seeds[n]}[part]

        tasks = [
            Task(by_name[n], fixed(RATIOS[i]), seed, days)
            for n, i in wanted.items()
            for seed in some(n)
        ]
        out: dict[str, list[SeedResult]] = {n: [] for n in wanted}
        for r in run(tasks):
            out[r.scenario].append(r)
        return out

    def keeps(results: list[SeedResult]) -> bool:
        return max(r.worst_day_us for r in results) <= FIXED_DAY_LIMIT_PCT

    while True:
        wanted = {n: (lo[n] + hi[n]) // 2 for n in by_name if hi[n] - lo[n] > 1}
        if not wanted:
            break
        stage_a = probe(wanted, "first")
        passing = {n: i for n, i in wanted.items() if keeps(stage_a[n])}
        stage_b = probe(passing, "rest") if passing else {}
        for n, i in wanted.items():
            results = stage_a[n] + stage_b.get(n, [])
            if n in passing and keeps(results):
                lo[n] = i
                seen[(n, i)] = results
            else:
                hi[n] = i
    found = {}
    for n in by_name:
        feasible = lo[n] >= 0
        index = lo[n] if feasible else 0
        if (n, index) not in seen:  # none kept the limit: the grid's first ratio, all seeds
            seen[(n, index)] = probe({n: index}, "all")[n]
        found[n] = (RATIOS[index], seen[(n, index)], feasible)
    return found


__all__ = [
    "RATIOS",
    "STATE",
    "VICIDIAL",
    "PolicySpec",
    "Task",
    "build",
    "fixed",
    "mode",
    "run_all",
    "run_seed",
    "search_fixed",
    "state_based",
]
