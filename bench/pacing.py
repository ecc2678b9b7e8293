"""Pacing bench: a simulated contact-center day dialed by the real pacing modes and baselines.

    python bench/pacing.py                          # the grid + goals (docs/performance.md: cost)
    python bench/pacing.py --quick                  # N ∈ {5, 25}, p=0.15, talk 120 s, shocks; 10 seeds
    python bench/pacing.py --agents 25 --answer-rate 0.15 --talk-mean 120 --seeds 30
    python bench/pacing.py --agents 25 --answer-rate 0.15 --talk-mean 120 --days 30 --policy predictive
    python bench/pacing.py --agents 10 --answer-rate 0.3 --talk-mean 60 --seeds 5 --json

Policies: the product's pacing modes as the engine gets them (the plugin manager's
``pacing_modes`` factories, by name: progressive, power, predictive, …), VICIdial's
adaptive algorithm re-implemented (``bench/pacing_sim/vicidial.py``), the best fixed
ratio found by search per scenario (an oracle) and a state-based reference that
knows the true state (``bench/pacing_sim/reference.py``). Every policy dials the
same traces: what a call does is drawn per (lead, attempt), agents' days per
(seed, day, agent). Figures are means over seeds with 95 % intervals;
``docs/performance.md`` (section "Pacing") defines each one.

The 30-day window: each seed is ``--days`` consecutive days of one campaign (one
mode instance, its abandon budget carried from day to day). The grid runs one day
per seed; the 30-day rule is judged there only through the days (every day ≤ 3 %
implies every 30-day window ≤ 3 %) and otherwise by ``--days 30`` on a scenario.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import figures
from pacing_sim.cache import RunCache
from pacing_sim.goals import Goal, judge, validation
from pacing_sim.policies import pacing_factories
from pacing_sim.results import SeedResult
from pacing_sim.runner import (
    STATE,
    PolicySpec,
    Task,
    fixed,
    mode,
    run_all,
    search_fixed,
    state_based,
)
from pacing_sim.scenario import HEADLINE, Scenario, grid, quick_grid, scenario
from pacing_sim.summary import Summary, summarize, table

BASELINES = (
    "vicidial[:INTENSITY[:DIFF_TARGET]]", "vicidial-hard[:…]", "vicidial-average[:…]", "fixed",
    "state-based[:EPS]", "state-based-counts[:EPS]",
)  # fmt: skip
VICIDIAL_METHODS = {
    "vicidial": "ADAPT_TAPERED",
    "vicidial-hard": "ADAPT_HARD_LIMIT",
    "vicidial-average": "ADAPT_AVERAGE",
}
FIXED_SEARCH = PolicySpec("best fixed", "fixed-search")
GRID_SEEDS = 8
#: CPU seconds of every campaign run, by policy (the search's probes together).
CPU_BY_POLICY: dict[str, float] = {}
METHOD = (
    "Method: each seed is {days} consecutive day(s) of one campaign (one pacing-mode "
    "instance, the 30-day abandon budget carried from day to day); 'window' figures are "
    "over a seed's {days} day(s)."
)
SHORT_WINDOW = (
    " With fewer than 30 days the 30-day rule is judged only through the days (every day "
    "≤ 3 % implies every 30-day window ≤ 3 %); --days 30 judges it directly."
)


def policy_specs(names: Sequence[str], lines_per_agent: float) -> list[PolicySpec]:
    installed = pacing_factories()
    specs = []
    for name in names:
        if name in installed:
            specs.append(mode(name, lines_per_agent))
        elif name.split(":")[0] in VICIDIAL_METHODS:  # NAME[:INTENSITY[:DIFF_TARGET]]
            base, *tuning = name.split(":")
            intensity, diff = (float(x) for x in [*tuning, "0", "0"][:2])
            method = VICIDIAL_METHODS[base]
            specs.append(PolicySpec(name, "vicidial", method=method, value=intensity, diff=diff))
        elif name == "fixed":
            specs.append(FIXED_SEARCH)
        elif name.startswith("fixed:"):
            specs.append(fixed(float(name.split(":", 1)[1])))
        elif name == "state-based":
            specs.append(STATE)
        elif name.split(":")[0] in ("state-based", "state-based-counts"):
            specs.append(state_based(name))
        else:
            known = ", ".join([*sorted(installed), *BASELINES, "fixed:RATIO"])
            raise SystemExit(f"--policy: unknown policy {name!r}; known: {known}")
    return specs


def default_policies() -> list[str]:
    installed = sorted(pacing_factories(), key=lambda n: (n != "progressive", n))
    return [*installed, "vicidial", "fixed", "state-based"]


def scenarios_from(args: argparse.Namespace) -> tuple[list[Scenario], bool]:
    """The scenarios to run, and whether they are a grid."""
    extra: dict[str, object] = {}
    if args.wrap_mean is not None:
        extra["wrap_mean_s"] = args.wrap_mean
    if args.hours is not None:  # a shorter shift (tests, quick looks)
        extra["shift_end_s"] = HEADLINE.shift_start_s + args.hours * 3600.0
    single = any(v is not None for v in (args.agents, args.answer_rate, args.talk_mean))
    if single or args.bad_day or args.amd_fp is not None:
        s = scenario(
            args.agents or HEADLINE.agents,
            args.answer_rate or HEADLINE.answer_rate,
            args.talk_mean or HEADLINE.talk_mean_s,
            **extra,
        )
        s = renamed(s, args)
        if args.bad_day:
            s = s.with_(name=f"bad day ({s.name})", bad_day=True)
        if args.amd_fp is not None:
            s = s.with_(name=f"amd_fp {args.amd_fp:.0%} ({s.name})", amd_false_positive=args.amd_fp)
        return [s], False
    chosen = quick_grid() if args.quick else grid()
    return [renamed(s.with_(**extra), args) for s in chosen], True


def renamed(s: Scenario, args: argparse.Namespace) -> Scenario:
    """A scenario changed by ``--wrap-mean`` or ``--hours`` says so in its name (so the
    goals, which name the default scenarios, are not judged on it)."""
    suffix = ""
    if args.wrap_mean is not None:
        suffix += f" wrap {args.wrap_mean:g}s"
    if args.hours is not None:
        suffix += f" {args.hours:g}h"
    return s.with_(name=s.name + suffix) if suffix else s


def run(
    args: argparse.Namespace, scenarios: list[Scenario]
) -> tuple[dict[tuple[str, str], Summary], dict[str, str]]:
    names = [
        n.strip() for p in (args.policy or default_policies()) for n in p.split(",") if n.strip()
    ]
    specs = policy_specs(names, args.lines_per_agent)
    seeds = {sc.name: seeds_of(sc, args) for sc in scenarios}
    full = args.target_info == "full"
    cache = RunCache(Path(args.cache)) if args.cache else None
    direct = [s for s in specs if s.kind != "fixed-search"]
    tasks = [
        Task(sc, spec, seed, args.days, full, args.target)
        for sc in scenarios
        for spec in direct
        for seed in seeds[sc.name]
    ]
    started = time.perf_counter()
    reused = sum(1 for t in tasks if cache.has(t)) if cache else 0
    results = run_all(tasks, args.processes, cache)
    log(
        f"{len(tasks)} campaign-runs in {time.perf_counter() - started:.0f} s"
        + (f" ({reused} from the cache {cache.dir})" if cache else "")
    )
    by_key: dict[tuple[str, str], list[SeedResult]] = {}
    for r in results:
        by_key.setdefault((r.scenario, r.policy), []).append(r)
        CPU_BY_POLICY[r.policy] = CPU_BY_POLICY.get(r.policy, 0.0) + r.cpu_s
    notes: dict[str, str] = {}
    if FIXED_SEARCH in specs:
        started = time.perf_counter()

        def run_counted(tasks: Sequence[Task]) -> list[SeedResult]:
            done = run_all(tasks, args.processes, cache)
            key = "best fixed (search)"
            CPU_BY_POLICY[key] = CPU_BY_POLICY.get(key, 0.0) + sum(r.cpu_s for r in done)
            return done

        found = search_fixed(scenarios, seeds, run_counted, args.days)
        log(f"fixed-ratio search in {time.perf_counter() - started:.0f} s")
        for name, (ratio, rs, feasible) in found.items():
            by_key[(name, "best fixed")] = rs
            notes[name] = (
                f"best fixed ratio: {ratio:.2f} lines per logged-on agent "
                + ("(the largest on the grid with every seed's every day ≤ 3 %)" if feasible
                   else "(NONE on the grid keeps every day ≤ 3 %: the smallest shown)")
            )  # fmt: skip
    summaries = {}
    for sc in scenarios:
        progressive = by_key.get((sc.name, "progressive"))
        for spec in specs:
            rs = by_key.get((sc.name, spec.label), [])
            if rs:
                summaries[(sc.name, spec.label)] = summarize(rs, progressive)
    return summaries, notes


def seeds_of(sc: Scenario, args: argparse.Namespace) -> list[int]:
    """The grid's headline scenarios (N=25, p=0.15, talk 120 s, and its shocks) get
    ``--headline-seeds``; every other scenario ``--seeds``."""
    headline = sc.name == HEADLINE.name or sc.name.endswith(f"({HEADLINE.name})")
    count = max(args.seeds, args.headline_seeds) if headline and args.grid else args.seeds
    return list(range(args.first_seed, args.first_seed + count))


def seeds_text(scenarios: Sequence[Scenario], args: argparse.Namespace) -> str:
    counts = sorted({len(seeds_of(sc, args)) for sc in scenarios})
    if len(counts) == 1:
        return f"{counts[0]} seeds"
    return (
        f"{args.headline_seeds} seeds on {HEADLINE.name} and its shocks, {args.seeds} on the rest"
    )


def cpu_seconds() -> float:
    """CPU of this process and of the worker processes it waited for."""
    mine, workers = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return mine.ru_utime + mine.ru_stime + workers.ru_utime + workers.ru_stime


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def report_figures(summaries: dict[tuple[str, str], Summary], goals: list[Goal]) -> None:
    """The headline figures for ``bench/run_all.py``'s table."""
    head = HEADLINE.name
    pred, prog = summaries.get((head, "predictive")), summaries.get((head, "progressive"))
    vici, state = summaries.get((head, "vicidial")), summaries.get((head, "state-based"))
    if pred is not None:
        figures.report(
            f"predictive occupancy, {head}", pred.occupancy.mean, "",
            baseline=prog.occupancy.mean if prog else None, baseline_name="progressive, same traces",
            goal=">= 0.87", met=pred.occupancy.mean >= 0.87, note=f"±{pred.occupancy.half:.3f}, {pred.seeds} seeds",
        )  # fmt: skip
        figures.report(f"predictive CPU per decision, {head}", pred.us_per_decision, "µs")
    if vici is not None:
        figures.report(
            f"VICIdial (re-implemented) occupancy, {head}", vici.occupancy.mean, "",
            note=f"abandons {vici.us_window.mean:.2f} %",
        )  # fmt: skip
    if state is not None:
        figures.report(
            f"state-based reference occupancy, {head}", state.occupancy.mean, "",
            goal="≈ 0.87 (simulator check)", met=abs(state.occupancy.mean - 0.87) <= 0.02,
        )  # fmt: skip
    for mode_name in ("power", "predictive"):
        rows = [s for (_, p), s in summaries.items() if p == mode_name]
        if rows:
            worst = max(s.worst_day_us for s in rows)
            figures.report(
                f"{mode_name} worst day abandon rate (US), all scenarios", worst, "%",
                goal="<= 5", met=worst <= 5.0,
            )  # fmt: skip
    for goal in goals:
        if goal.name.startswith("predictive ≥ VICIdial") or goal.name.startswith(
            "predictive never"
        ):
            figures.report(goal.name, None, "", goal="met", met=goal.met, note=goal.detail[:120])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, help="agents (one scenario; default the grid)")
    parser.add_argument("--answer-rate", type=float, help="live-answer probability per attempt")
    parser.add_argument("--talk-mean", type=float, help="mean talk time, s")
    parser.add_argument("--wrap-mean", type=float, help="mean wrap-up, s (default 0)")
    parser.add_argument(
        "--bad-day",
        action="store_true",
        help="answer rate halves at noon, a third of agents leave at 15:00",
    )
    parser.add_argument(
        "--amd-fp", type=float, help="share of people AMD judges machines (default 0.01)"
    )
    parser.add_argument("--hours", type=float, help="shift length, h (default 8: 09:00-17:00)")
    parser.add_argument(
        "--seeds",
        type=int,
        help=f"seeds per scenario (default: 30 for one scenario, {GRID_SEEDS} in the grid, 10 --quick)",
    )
    parser.add_argument(
        "--headline-seeds", type=int,
        help="in the grid, seeds of N=25 p=0.15 talk 120 s and its shocks "
        "(default 30, or --seeds when given; --quick: --seeds)",
    )  # fmt: skip
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=1, help="consecutive days per seed")
    parser.add_argument(
        "--policy", action="append", help="policy name(s), comma-separated or repeated"
    )
    parser.add_argument(
        "--lines-per-agent", type=float, default=1.5, help="power's lines per agent"
    )
    parser.add_argument("--target", type=float, default=3.0, help="abandon target, %%")
    parser.add_argument("--target-info", choices=("counts", "full"), default="counts",
                        help="counts: free agents only (OSCC); full: also logged on and busy times")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="the reduced grid (tests, run_all)")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", action="store_true", help="one JSON line per scenario and policy")
    parser.add_argument(
        "--cache", metavar="DIR",
        help="keep each finished campaign-run in DIR and reuse it: a stopped grid resumes, "
        "a finished one re-prints at once (keyed by the task and a hash of the code)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    grid_run = scenarios_from(args)[1]
    if args.headline_seeds is None:  # 30 in the grid unless --seeds says otherwise
        args.headline_seeds = 30 if grid_run and not args.quick and args.seeds is None else 0
    if args.seeds is None:  # the grid: what 2 cores do in ~15 min, predictive's own CPU aside
        args.seeds = (10 if args.quick else GRID_SEEDS) if grid_run else 30

    started, cpu = time.perf_counter(), cpu_seconds()
    scenarios, args.grid = scenarios_from(args)
    summaries, notes = run(args, scenarios)
    goals = judge(summaries, scenarios, args.days) + validation(summaries)
    wall = time.perf_counter() - started
    if args.json:
        for summary in summaries.values():
            print(json.dumps(summary.as_json(), ensure_ascii=False))
        for goal in goals:
            print(
                json.dumps(
                    {"goal": goal.name, "met": goal.met, "detail": goal.detail}, ensure_ascii=False
                )
            )
    else:
        info = (
            "full (logged on, busy times)" if args.target_info == "full" else "counts only (OSCC)"
        )
        print(
            f"Pacing bench: {seeds_text(scenarios, args)} × {args.days} day(s), "
            f"target {args.target:g} %, "
            f"target info: {info}, {args.processes} processes"
        )
        print(METHOD.format(days=args.days) + (SHORT_WINDOW if args.days < 30 else ""))
        for sc in scenarios:
            rows = [s for (name, _), s in summaries.items() if name == sc.name]
            if not rows:
                continue
            print(f"\n### {sc.name}{' (' + notes[sc.name] + ')' if sc.name in notes else ''}\n")
            print(table(rows))
        print("\n## Goals\n")
        for goal in goals:
            print(goal.line())
        print(f"\nwall {wall:.0f} s, CPU {cpu_seconds() - cpu:.0f} s (every process); by policy: "
              + ", ".join(f"{k} {v:.0f} s" for k, v in sorted(CPU_BY_POLICY.items(), key=lambda kv: -kv[1])))  # fmt: skip
    report_figures(summaries, goals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
