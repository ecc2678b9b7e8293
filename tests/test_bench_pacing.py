"""``bench/pacing.py``'s simulated day: its invariants, on small short days.

Not the bench's figures or goals (``bench/pacing.py`` prints those; nothing here is
timed): what must hold whatever the policy — a seed replays exactly, progressive
never abandons, every launched call ends exactly once and every person answered is
accounted for once, occupancy stays a share, VICIdial's level stays in its bounds,
the snapshot a mode sees is one the engine could build, the abandon budget carries
over days, and the CLI's ``--json`` lines parse.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from pacing_sim.cache import RunCache  # noqa: E402
from pacing_sim.campaign import Campaign  # noqa: E402
from pacing_sim.policies import Policy, VirtualClock, pacing_factories  # noqa: E402
from pacing_sim.results import DayResult  # noqa: E402
from pacing_sim.runner import (  # noqa: E402
    RATIOS,
    STATE,
    PolicySpec,
    Task,
    fixed,
    mode,
    run_all,
    run_seed,
    search_fixed,
)
from pacing_sim.scenario import HOUR, Scenario, scenario  # noqa: E402
from pacing_sim.sim import ON_BREAK, READY, TALKING, WRAPPING, DaySim  # noqa: E402
from pacing_sim.summary import t975  # noqa: E402
from pacing_sim.traces import CallDraws  # noqa: E402
from pacing_sim.vicidial import METHODS, Vicidial  # noqa: E402
from pacing_sim.view import snapshot  # noqa: E402

from opendialer.sdk.pacing import PacingSettings, PacingSnapshot  # noqa: E402


def short_day(
    agents: int = 4, answer_rate: float = 0.3, talk: float = 60.0, **extra: object
) -> Scenario:
    """A one-hour shift (09:00-10:00) with one 5-minute break per agent."""
    return scenario(agents, answer_rate, talk).with_(
        shift_end_s=10 * HOUR,
        logon_spread_s=120.0,
        logoff_spread_s=120.0,
        breaks=((9.3 * HOUR, 9.5 * HOUR, 300.0),),
        **extra,
    )


VICIDIAL_SPECS = [PolicySpec(f"vicidial {m}", "vicidial", method=m) for m in METHODS]
BASELINES = [*VICIDIAL_SPECS, fixed(1.6), STATE]
MODES = [mode(name) for name in sorted(pacing_factories())]


def comparable(day: DayResult) -> dict[str, object]:
    """A day's counts without what depends on the machine (the policy's CPU time)."""
    out = asdict(day)
    out.pop("policy_ns")
    return out


@pytest.mark.parametrize("spec", [*MODES, *BASELINES], ids=lambda s: s.label)
def test_a_seed_replays_exactly(spec: PolicySpec) -> None:
    task = Task(short_day(), spec, seed=7, days=2)
    first, second = run_seed(task), run_seed(task)
    assert [comparable(d) for d in first.days] == [comparable(d) for d in second.days]
    other = run_seed(Task(short_day(), spec, seed=8, days=2))
    assert [comparable(d) for d in other.days] != [comparable(d) for d in first.days]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_progressive_never_abandons(seed: int) -> None:
    # Few agents and a high answer rate: an over-dialing policy abandons here.
    s = short_day(agents=3, answer_rate=0.5)
    day = run_seed(Task(s, mode("progressive"), seed)).days[0]
    assert day.people_connected > 20
    assert (day.abandoned_counted, day.people_abandoned, day.machines_abandoned) == (0, 0, 0)
    assert day.max_unresolved_per_agent <= 1.0
    assert run_seed(Task(s, fixed(3.0), seed)).days[0].abandoned_counted > 0


@pytest.mark.parametrize("spec", [*MODES, *BASELINES], ids=lambda s: s.label)
def test_every_call_ends_once_and_every_person_is_counted_once(spec: PolicySpec) -> None:
    for s in (
        short_day(),
        short_day(agents=6, answer_rate=0.15, talk=120.0, amd_false_positive=0.05),
    ):
        for day in run_seed(Task(s, spec, seed=3, days=2)).days:
            assert day.launched > 0
            assert day.ended == day.launched
            assert (
                day.people
                == day.people_judged_machine + day.people_connected + day.people_abandoned
            )
            assert day.live_counted == (
                day.people_connected
                + day.people_abandoned
                + day.machines_passed
                + day.machines_abandoned
            )
            assert day.abandoned_counted == day.people_abandoned + day.machines_abandoned
            assert 0 < day.leads <= day.launched


@pytest.mark.parametrize("spec", MODES, ids=lambda s: s.label)
def test_modes_dial_with_full_target_information_too(spec: PolicySpec) -> None:
    day = run_seed(Task(short_day(), spec, seed=4, full_info=True)).days[0]
    assert day.ended == day.launched > 0
    assert day.people == day.people_judged_machine + day.people_connected + day.people_abandoned
    assert 0.0 < day.occupancy <= 1.0


@pytest.mark.parametrize(
    "spec", [*MODES, fixed(4.0), STATE, VICIDIAL_SPECS[0]], ids=lambda s: s.label
)
def test_occupancy_is_a_share_of_logged_on_time(spec: PolicySpec) -> None:
    for seed in (1, 2):
        day = run_seed(Task(short_day(agents=5, answer_rate=0.5, talk=30.0), spec, seed)).days[0]
        assert 0.0 < day.talk_s + day.machine_agent_s <= day.logged_on_s
        assert 0.0 < day.occupancy <= 1.0
        # 5 agents, 60 min less a 5-minute break, log-on/off spread 2 min each.
        assert 5 * 50 * 60 <= day.logged_on_s <= 5 * 55 * 60


def test_the_two_second_rule_counts_people_connected_late_after_their_greeting() -> None:
    # Progressive holds an agent per call: a person is connected AMD's release plus
    # the hand-over after their greeting ends, never later.
    quick = short_day(amd_release_median_s=0.3, handover_min_s=0.3, handover_max_s=0.35)
    slow = short_day(amd_release_median_s=1.45, handover_min_s=0.75, handover_max_s=0.8)
    fast_day = run_seed(Task(quick, mode("progressive"), 1)).days[0]
    slow_day = run_seed(Task(slow, mode("progressive"), 1)).days[0]
    assert fast_day.people_connected > 50 and fast_day.violations_2s == 0
    assert slow_day.violations_2s > 0.5 * slow_day.people_connected


@pytest.mark.parametrize("method", METHODS)
def test_vicidial_level_stays_within_one_and_the_maximum(method: str) -> None:
    spec = PolicySpec(method, "vicidial", method=method)
    for s in (
        short_day(agents=8, answer_rate=0.1),
        short_day(agents=3, answer_rate=0.6, talk=20.0),
    ):
        for seed in (1, 2):
            for day in run_seed(Task(s, spec, seed, days=2)).days:
                assert 1.0 <= day.extra["level_min"] <= day.extra["level_max"] <= 3.0
                assert day.max_unresolved_per_agent <= 3.0 + 1e-9


def over_limit(v: Vicidial, drops: int = 5) -> None:
    """The drop statistics as VICIdial's once-a-minute refresh leaves them: 100
    answers today, ``drops`` of them dropped, more than 50 calls."""
    v.calls_today, v.answers_today, v.drops_today = 400, 100, drops


def test_vicidial_adapt_step_follows_its_formula() -> None:
    v = Vicidial("ADAPT_HARD_LIMIT", intensity=0.0)
    v.level = 1.5
    v.samples.extend([(4, 1, 10)] * 15)  # 4 of 10 agents ready, 1 call waiting: m = 0.3
    v.adapt(9 * HOUR)
    assert v.level == pytest.approx(1.5 * 1.3)
    v.intensity = 50.0  # raises faster: m' = m × 1.5
    v.adapt(9 * HOUR + 15)
    assert v.level == pytest.approx(1.95 * 1.45, abs=1e-3)  # kept to 3 decimals
    v.samples.extend([(0, 5, 10)] * 15)  # m = -0.5; lowers slower: m' = m × |0.5 - 1|
    before = v.level
    v.adapt(9 * HOUR + 30)
    assert v.level == pytest.approx(before * 0.75, abs=1e-3)
    v.samples.extend([(10, 0, 10)] * 15)  # m = 1: capped at the maximum level
    v.adapt(9 * HOUR + 45)
    assert v.level == 3.0
    # Over half of the last minute's calls (of all calls, more than 20) dropped:
    # the capped level is halved.
    v.calls_one, v.drops_one = 21, 11
    v.adapt(9 * HOUR + 60)
    assert v.level == 1.5
    v.level, v.calls_one, v.drops_one = 3.0, 20, 20  # 20 calls are too few to judge
    v.adapt(9 * HOUR + 75)
    assert v.level == 3.0
    over_limit(v, drops=4)  # the day over the 3 % limit: the hard limit sets 1.0
    v.adapt(9 * HOUR + 90)
    assert v.level == 1.0
    v.calls_today = 50  # ... but only on more than 50 calls today
    v.adapt(9 * HOUR + 105)
    assert v.level == 2.5  # 1.0 × (1 + m × 1.5)


def test_vicidial_tapered_scales_by_the_hhmm_left_and_average_halves() -> None:
    v = Vicidial("ADAPT_TAPERED", latest_server_time=1700)
    over_limit(v)  # 5 % today
    v.samples.extend([(5, 0, 10)] * 15)  # m = 0.5
    v.level = 1.2
    v.adapt(9 * HOUR)  # (1700 - 900) / 1000 = 0.8
    assert v.level == pytest.approx(1.2 * 1.5 * 0.8)
    v.level = 1.2
    v.adapt(6 * HOUR + 59 * 60)  # 1700 - 659 = 1041: over 1000 left, not reduced
    assert v.level == pytest.approx(1.8)
    v.level = 2.0
    v.adapt(12 * HOUR + 59 * 60)  # HHMM numbers: (1700 - 1259) / 1000 = 0.441
    assert v.level == pytest.approx(3.0 * 0.441)
    v.level = 2.0
    v.adapt(16 * HOUR)  # 0.1 of 3.0: raised to 1.0
    assert v.level == 1.0
    over_limit(v, drops=3)  # at the limit, not over it: free to rise
    v.adapt(16 * HOUR + 15)
    assert v.level == 1.5
    over_limit(v)
    v.adapt(17 * HOUR + 30 * 60)  # past the latest server time
    assert v.level == 1.0
    average = Vicidial("ADAPT_AVERAGE")
    over_limit(average)
    average.samples.extend([(1, 1, 10)] * 15)  # m = 0
    average.level = 2.6
    average.adapt(9 * HOUR)
    assert average.level == pytest.approx(1.3)


def test_vicidial_dial_loop_counts_calls_with_agents_and_not_agents_in_wrap_up() -> None:
    v = Vicidial()
    v.level = 1.5
    # 6 agents on: 1 ready, 3 talking, 2 in wrap-up (PAUSED: left out); a break is off.
    state = [READY, TALKING, TALKING, TALKING, WRAPPING, WRAPPING, ON_BREAK]
    center = SimpleNamespace(state=state, logged_on=6, unresolved=1, handing_over=0, with_agent=3)
    # goal = round(1.5 × 4) = 6 lines, 4 up (1 ringing, 3 with agents): 2 more
    assert v.decide(center) == 2  # type: ignore[arg-type]
    center.state = [READY, TALKING, TALKING, TALKING, TALKING, WRAPPING]
    center.unresolved, center.with_agent = 0, 4  # 5 counted: round(7.5) = 8
    assert v.decide(center) == 8 - 4  # type: ignore[arg-type]
    center.state = [READY, TALKING, TALKING, WRAPPING]
    center.logged_on, center.unresolved, center.with_agent = 4, 1, 2
    assert v.decide(center) == 4 - 3  # 3 counted: round(4.5) = 4, Perl's %.0f: half to even


class SnapshotChecker(Policy):
    """Over-dials a little and checks every snapshot it is shown."""

    def __init__(self, full_info: bool) -> None:
        self.full_info = full_info
        self.seen = 0
        self.last_at = -1.0

    reads_stats = True

    def decide(self, sim: DaySim) -> int:
        snap = snapshot(sim, PacingSettings(mode="predictive"), full_info=self.full_info)
        assert isinstance(snap, PacingSnapshot)
        assert snap.free_slots == len(sim.ready) >= 0
        assert snap.calls.unresolved + snap.calls.with_agent <= snap.in_flight <= snap.global_max
        assert snap.free_ports == snap.global_max - snap.in_flight
        assert all(x >= 0 for x in snap.calls.ringing_s + snap.calls.in_amd_s)
        assert max(snap.calls.ringing_s, default=0.0) <= sim.s.no_answer_timeout_s
        history = snap.agent_history
        assert len(history) <= 60
        assert all(
            a.at_s < b.at_s and a.handed_over <= b.handed_over
            for a, b in itertools.pairwise(history)
        )
        assert snap.stats.outcomes <= 500
        assert 0 <= snap.abandon.abandoned <= snap.abandon.live_answered
        assert snap.now_s >= self.last_at
        self.last_at = snap.now_s
        if self.full_info:
            assert snap.agents_logged_on == sim.logged_on
            assert snap.agent_busy_s is not None and all(x >= 0 for x in snap.agent_busy_s)
        else:
            assert snap.agents_logged_on is None and snap.agent_busy_s is None
        self.seen += 1
        return snap.free_slots + (1 if snap.calls.unresolved < snap.free_slots + 2 else 0)


@pytest.mark.parametrize("full_info", [False, True])
def test_snapshots_hold_only_what_the_engine_could_know(full_info: bool) -> None:
    checker = SnapshotChecker(full_info)
    clock = VirtualClock()
    campaign = Campaign(short_day(), 5, checker, clock)
    day = DaySim(campaign, 0, full_info=full_info).run()
    assert checker.seen == day.decisions > 3000  # a decision a second and on each agent freed
    assert campaign.stats(10**9).outcomes == min(500, len(campaign.recent)) > 0


def test_the_abandon_budget_carries_from_day_to_day() -> None:
    clock = VirtualClock()
    campaign = Campaign(short_day(agents=3, answer_rate=0.5), 2, Vicidial(), clock)
    first = DaySim(campaign, 0).run()
    assert first.abandoned_counted > 0
    budget = campaign.budget()
    assert (budget.live_answered, budget.abandoned) == (first.live_counted, first.abandoned_counted)
    second = DaySim(campaign, 1).run()
    budget = campaign.budget()
    assert budget.live_answered == first.live_counted + second.live_counted
    assert budget.abandoned == first.abandoned_counted + second.abandoned_counted


def test_calls_are_drawn_per_lead_and_attempt_whatever_the_order() -> None:
    s = short_day()
    one, two = CallDraws(s, 11), CallDraws(s, 11)
    block_a, row_a = one.block(40_123)
    two.block(3)  # another order of use
    block_b, row_b = two.block(40_123)
    assert [q[row_a + 2] for q in block_a] == [q[row_b + 2] for q in block_b]
    other, row_c = CallDraws(s, 12).block(40_123)
    assert [q[row_a + 2] for q in block_a] != [q[row_c + 2] for q in other]


def test_the_fixed_ratio_search_finds_the_largest_ratio_keeping_every_day() -> None:
    s = short_day(agents=6, answer_rate=0.2, talk=90.0)
    found = search_fixed([s], {s.name: [1, 2, 3, 4]}, lambda tasks: run_all(tasks, 1))
    ratio, results, feasible = found[s.name]
    assert feasible and ratio in RATIOS and len(results) == 4
    assert max(r.worst_day_us for r in results) <= 3.0
    higher = [Task(s, fixed(round(ratio + 0.05, 2)), seed) for seed in (1, 2, 3, 4)]
    if ratio < RATIOS[-1]:
        assert max(r.worst_day_us for r in run_all(higher, 1)) > 3.0


def test_student_t_quantiles() -> None:
    assert t975(29) == pytest.approx(2.045, abs=0.002)
    assert t975(9) == pytest.approx(2.262, abs=0.005)


def test_the_cli_prints_one_json_line_per_policy_and_the_goals() -> None:
    done = subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "pacing.py"), "--agents", "4", "--answer-rate", "0.3",
            "--talk-mean", "60", "--hours", "1", "--seeds", "2", "--json", "--processes", "1",
            "--policy", "progressive,vicidial", "--policy", "fixed:1.5",
        ],
        capture_output=True, text=True, timeout=240, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    rows = [row for row in lines if "policy" in row]
    assert [row["policy"] for row in rows] == ["progressive", "vicidial", "fixed 1.50"]
    for row in rows:
        assert row["seeds"] == 2 and row["days"] == 1
        assert 0 < row["occupancy"]["mean"] <= 1
        low, high = row["occupancy"]["ci95"]
        assert low <= row["occupancy"]["mean"] <= high
        assert row["abandon_us_day_pct"]["mean"] >= 0
    assert rows[0]["gain_over_progressive"]["mean"] == pytest.approx(1.0)
    assert rows[0]["worst_day_abandon_us_pct"] == 0.0
    assert all(
        "goal" in row and row["met"] in (True, False, None) for row in lines if "policy" not in row
    )


def test_a_cached_grid_resumes_without_running_a_seed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = [
        Task(short_day(), spec, seed)
        for spec in (mode("progressive"), VICIDIAL_SPECS[0])
        for seed in (1, 2)
    ]
    cache = RunCache(tmp_path)
    first = run_all(tasks[:3], processes=2, cache=cache)  # stopped before the last run
    assert sorted(p.suffix for p in cache.dir.iterdir()) == [".pkl"] * 3
    ran: list[Task] = []
    import pacing_sim.runner as runner

    def counted(task: Task) -> object:
        ran.append(task)
        return run_seed(task)

    monkeypatch.setattr(runner, "run_seed", counted)
    resumed = run_all(tasks, processes=1, cache=RunCache(tmp_path))
    assert ran == [tasks[3]]  # only the run the first pass had not finished
    assert [comparable(d) for r in resumed[:3] for d in r.days] == [
        comparable(d) for r in first for d in r.days
    ]
    assert [(r.policy, r.seed) for r in resumed] == [(t.spec.label, t.seed) for t in tasks]


def test_the_cache_is_keyed_by_the_code_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One byte changed in the simulator or a pacing mode: another fingerprint, so no
    run of the old code is reused."""
    import pacing_sim.cache as cache_module

    tree = tmp_path / "repo"
    for name in ("bench/pacing_sim/sim.py", "opendialer/plugins/pacing_predictive/mode.py"):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text("x = 1\n")
    monkeypatch.setattr(cache_module, "_REPO", tree)
    first = cache_module.code_fingerprint()
    assert first == cache_module.code_fingerprint()  # stable
    (tree / "opendialer/plugins/pacing_predictive/mode.py").write_text("x = 2\n")
    changed = cache_module.code_fingerprint()
    assert changed != first
    (tree / "bench/pacing_sim/sim.py").write_text("x = 2\n")
    assert cache_module.code_fingerprint() not in (first, changed)
    assert RunCache(tmp_path / "cache").dir.name == cache_module.code_fingerprint()
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(cache_module, "_REPO", empty)
    assert cache_module.code_fingerprint() != first  # the files are what is hashed


def test_an_unknown_policy_is_refused_with_the_known_ones() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "pacing.py"), "--agents", "4", "--policy", "nonesuch"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode != 0
    assert "unknown policy 'nonesuch'" in done.stderr and "progressive" in done.stderr
