"""The bench tooling: run_all's figures file, table and page, and the soak's statistics.

The benches themselves print figures and are not run here (too slow); what is
tested is what turns their figures into the table (``bench/run_all.py``,
``bench/figures.py``) and the soak's slope and verdict (``bench/soak.py``),
plus a short soak on each backend to show the whole path runs.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import figures  # noqa: E402
import run_all  # noqa: E402
import soak  # noqa: E402

# -- soak statistics -----------------------------------------------------------------


def minutes(n: float, every_s: float = 10.0) -> list[float]:
    return [i * every_s for i in range(int(n * 60 / every_s) + 1)]


def test_slope_of_an_exact_line_is_its_rate_per_hour() -> None:
    ts = minutes(30)
    result = soak.trend(ts, [100 + 0.01 * t for t in ts])  # +36 per hour
    assert result.slope_per_h == pytest.approx(36.0)
    assert result.stderr_per_h == pytest.approx(0.0, abs=1e-9)
    assert result.mean == pytest.approx(109.0)
    assert result.verdict == "grows"


def test_slope_equals_numpy_polyfit_on_noisy_samples() -> None:
    rnd = random.Random(3)
    ts = minutes(30)
    ys = [50 + 0.002 * t + rnd.gauss(0, 2) for t in ts]
    slope, _ = soak.least_squares(ts, ys)
    assert slope == pytest.approx(np.polyfit(ts, ys, 1)[0])


def test_flat_and_falling_series_do_not_grow() -> None:
    ts = minutes(30)
    flat = [300 + (1 if i % 2 else -1) for i in range(len(ts))]
    assert soak.trend(ts, flat).verdict == "no growth"
    falling = [200 - 0.05 * t for t in ts]
    result = soak.trend(ts, falling)
    assert result.slope_per_h < 0
    assert result.verdict == "no growth"


def test_growth_below_the_threshold_is_no_growth() -> None:
    ts = minutes(30)
    result = soak.trend(ts, [100 + 0.001 * t for t in ts])  # 3.6/h, 3.3 % of the mean
    assert result.slope_per_h == pytest.approx(3.6)
    assert result.verdict == "no growth"
    assert soak.trend(ts, [100 + 0.001 * t for t in ts], threshold=0.02).verdict == "grows"


def test_growth_lost_in_noise_is_no_growth() -> None:
    rnd = random.Random(3)
    ts = minutes(30)
    ys = [100 + 0.01 * t + rnd.gauss(0, 60) for t in ts]
    result = soak.trend(ts, ys)
    # Large enough to matter, but not two standard errors away from zero.
    assert result.slope_per_h > 0.10 * result.mean
    assert result.slope_per_h <= 2 * result.stderr_per_h
    assert result.verdict == "no growth"


def test_too_few_samples_and_bad_input() -> None:
    assert soak.trend([0.0, 10.0], [1.0, 2.0]).verdict == "too few samples"
    with pytest.raises(ValueError, match="2 samples or more"):
        soak.least_squares([1.0], [1.0])
    with pytest.raises(ValueError, match="same time"):
        soak.least_squares([5.0, 5.0, 5.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="3 times but 2 values"):
        soak.least_squares([1.0, 2.0, 3.0], [1.0, 2.0])


def test_summary_leaves_out_the_warm_up() -> None:
    samples = [
        soak.Sample(t, 50 + (t if t <= 60 else 60), 10, 300, 1.0, 5.0, 300, 0, int(t))
        for t in minutes(10)
    ]
    trends = soak.summarise(samples, warmup_s=60, threshold=0.10)
    assert trends["rss_mib"].slope_per_h == pytest.approx(0.0, abs=1e-6)
    assert trends["rss_mib"].n == len([s for s in samples if s.t_s > 60])
    assert all(t.verdict == "no growth" for t in trends.values())
    grown = soak.summarise(samples, warmup_s=0, threshold=0.10)
    assert grown["rss_mib"].verdict == "grows"


# -- figures file and table ----------------------------------------------------------


def test_report_is_a_no_op_without_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(figures.FIGURES_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    figures.report("x", 1.0, "ms")
    assert list(tmp_path.iterdir()) == []


def test_reported_figures_parse_back(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    monkeypatch.setenv(figures.FIGURES_ENV, str(path))
    figures.report("import", 2.5, "s", baseline=1.25, baseline_name="copy", goal="<= 2", met=False)
    figures.report("lookups", 1e6, "1/s", baseline="redis")
    figures.report("nan is no value", float("nan"), "ms")
    parsed = run_all.parse_figures(path.read_text().splitlines())
    assert [(f.name, f.value, f.baseline, f.met) for f in parsed] == [
        ("import", 2.5, 1.25, False),
        ("lookups", 1e6, "redis", None),
        ("nan is no value", None, None, None),
    ]
    assert {f.bench for f in parsed} == {Path(sys.argv[0]).stem}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not JSON"),
        ("[1, 2]", "line 2: expected an object"),
        ('{"bench": "a", "name": "b", "unit": "s"}', "line 2: missing value"),
        ('{"bench": "a", "name": "b", "value": 1, "unit": "s", "colour": 1}', "unknown field"),
        ('{"bench": "a", "name": "b", "value": "fast", "unit": "s"}', "must be a number"),
    ],
)
def test_bad_figure_lines_are_named(line: str, message: str) -> None:
    good = json.dumps({"bench": "a", "name": "ok", "value": 1, "unit": "s"})
    with pytest.raises(run_all.FiguresError, match=message):
        run_all.parse_figures([good, line], "f.jsonl")


def sample_runs() -> list[run_all.BenchRun]:
    F = run_all.Figure
    return [
        run_all.BenchRun(
            "leads_import",
            "ok",
            figures=[
                F("leads_import", "import 200,000", 3.0, "s", 2.0, "psql \\copy", "<= 2", True)
            ],
        ),
        run_all.BenchRun(
            "dnc",
            "ok",
            figures=[
                F("dnc", "in process", 4_000_000.0, "lookups/s", baseline="redis"),
                F("dnc", "redis", 250_000.0, "lookups/s"),
                F("dnc", "http", 9_000.0, "req/s", baseline="gone"),
            ],
        ),
        run_all.BenchRun("engine", "failed", reason="exit code 1: boom | bang"),
        run_all.BenchRun("amd", "skipped", reason="no AMD corpus"),
        run_all.BenchRun("auth", "ok", reason="reported none"),
    ]


def test_table_has_values_ratios_goals_and_failures() -> None:
    rows = run_all.parse_table(run_all.format_table(sample_runs()))
    assert list(rows[0]) == run_all.HEADER
    by_figure = {r["figure"]: r for r in rows}
    imp = by_figure["import 200,000"]
    assert imp["value"] == "3.00 s"
    assert imp["baseline (same run)"] == "2.00 s — psql \\copy"
    assert imp["ratio"] == "1.50"
    assert (imp["goal"], imp["met"]) == ("<= 2", "yes")
    inproc = by_figure["in process"]  # baseline named: the value of the 'redis' figure
    assert inproc["baseline (same run)"] == "250,000 lookups/s — redis"
    assert inproc["ratio"] == "16.00"
    assert by_figure["http"]["baseline (same run)"] == "— req/s — gone (not measured)"
    assert by_figure["http"]["ratio"] == ""
    failed = next(r for r in rows if r["bench"] == "engine")
    assert failed["figure"] == "**failed**"
    assert failed["met"] == "exit code 1: boom | bang"  # the pipe survives the table
    assert next(r for r in rows if r["bench"] == "amd")["figure"] == "skipped"
    assert next(r for r in rows if r["bench"] == "auth")["figure"] == "no figures reported"


def test_number_format() -> None:
    assert [run_all.fmt_number(v) for v in (12345.6, 456.7, 45.67, 4.567, 0.01234, 0, None)] == [
        "12,346",
        "457",
        "45.7",
        "4.57",
        "0.0123",
        "0",
        "—",
    ]


def test_write_replaces_only_the_marked_block(tmp_path: Path) -> None:
    page = tmp_path / "performance.md"
    page.write_text(f"# Perf\n\nintro\n\n{run_all.BEGIN}\nold\n{run_all.END}\n\n## Soak\nkept\n")
    run_all.write_page(page, f"{run_all.BEGIN}\nnew table\n{run_all.END}")
    text = page.read_text()
    assert "old" not in text and "new table" in text
    assert text.startswith("# Perf\n\nintro\n") and text.endswith("## Soak\nkept\n")
    page.write_text("# no markers\n")
    with pytest.raises(SystemExit, match="no <!-- run_all:begin -->"):
        run_all.write_page(page, "x")
    fresh = tmp_path / "new.md"
    run_all.write_page(fresh, f"{run_all.BEGIN}\nt\n{run_all.END}")
    assert fresh.read_text().startswith("# Performance")


def test_unknown_bench_name_is_refused() -> None:
    with pytest.raises(
        SystemExit, match="unknown bench\\(es\\) nope; known: amd, audit_export, auth"
    ):
        run_all.select("amd,nope")
    assert [b.name for b in run_all.select("dnc, amd")] == ["dnc", "amd"]


def test_every_bench_script_is_in_the_table() -> None:
    """A new bench/*.py that prints figures must be listed in run_all (or named here)."""
    not_benches = {
        "run_all",  # the table itself
        "soak",  # 30 minutes: run on its own, its figures have their own section
        "amd_vad",  # needs the optional packaged VADs (extra vad-bench): a one-off comparison
        "amd_keywords",  # needs pocketsphinx in its own venv (docs/amd.md, keyword cues): a one-off
        "amd_voicemail_drop",  # on a corpus made by hand, figures in docs/amd.md (voicemail drop)
        "amd_train",  # trains the AMD model (writes amd_model.npz): not a figure to re-measure
        "rtp_sender_lateness",  # reads a tcpdump capture taken by hand (docs/performance.md)
    }
    scripts = {
        path.stem
        for path in (ROOT / "bench").glob("*.py")
        if 'if __name__ == "__main__"' in path.read_text()
    }
    assert scripts - not_benches == {b.path.stem for b in run_all.BENCHES}
    for bench in run_all.BENCHES:
        text = bench.path.read_text()
        assert "report(" in text, f"{bench.name} reports no figure to the table"


# -- running benches as processes ------------------------------------------------------


def fake_bench(folder: Path, name: str, body: str) -> None:
    head = f"import sys\nsys.path.insert(0, {str(ROOT / 'bench')!r})\nimport figures\n"
    (folder / f"{name}.py").write_text(head + textwrap.dedent(body))


def test_a_failing_or_hanging_bench_is_a_row_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    benches = tmp_path / "benches"
    benches.mkdir()
    fake_bench(benches, "fine", 'figures.report("speed", 42.0, "ops/s", goal="> 40", met=True)\n')
    fake_bench(benches, "boom", 'figures.report("half", 1.0, "s")\nraise SystemExit("broke")\n')
    fake_bench(benches, "hang", "import time\ntime.sleep(60)\n")
    monkeypatch.setattr(run_all, "BENCH", benches)
    logs = tmp_path / "logs"
    logs.mkdir()
    runs = [
        run_all.run_bench(run_all.Bench(name), [], timeout_s=timeout, logs=logs)
        for name, timeout in (("fine", 60), ("boom", 60), ("hang", 1))
    ]
    fine, boom, hang = runs
    assert (fine.status, [f.value for f in fine.figures]) == ("ok", [42.0])
    assert fine.figures[0].bench == "fine"
    assert boom.status == "failed" and "exit code 1" in boom.reason and "broke" in boom.reason
    assert hang.status == "failed" and hang.reason == "timed out after 1 s"
    rows = run_all.parse_table(run_all.format_table(runs))
    assert [(r["bench"], r["figure"]) for r in rows] == [
        ("fine", "speed"),
        ("boom", "**failed**"),
        ("hang", "**failed**"),
    ]


def test_missing_corpus_without_tools_is_a_reason(tmp_path: Path) -> None:
    why = run_all.ensure_corpus(tmp_path / "corpus", tmp_path / "no-tools", tmp_path)
    assert "no AMD corpus" in why and "make.py" in why
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "labels.csv").write_text("file,label\n")
    assert run_all.ensure_corpus(tmp_path / "corpus", tmp_path / "no-tools", tmp_path) == ""


# -- a short soak on each backend ----------------------------------------------------


def test_short_soak_runs_the_engine_and_judges_every_series(db_url: str, db: object) -> None:
    smoke = "--minutes 0.2 --interval 2 --calls 20 --hold-s 1 2".split()
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), *smoke, "--database-url", db_url],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    # "t RSS fds tasks lag_mean / lag_max in_flight settling finished"
    samples = [line for line in lines if len(line.split()) == 10 and line.split()[5] == "/"]
    assert len(samples) >= 3
    finished = int(samples[-1].split()[-1].replace(",", ""))
    assert finished > 0  # the engine placed calls and wrote their outcomes
    for series in soak.SERIES:
        line = next(line for line in lines if line.strip().startswith(series))
        assert line.rstrip().endswith(("grows", "no growth"))


# -- the product under SIP load (bench/sip_load.py --engine), its smallest level ------


@pytest.mark.sip
@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_engine_load_bench_holds_its_smallest_level(
    postgres_admin_url: str, tmp_path: Path
) -> None:
    """Engines on PostgreSQL, ports registered through Kamailio, SIPp far ends: 10 calls
    at once, every outcome checked in the database, and SIPp's own UAC after it."""
    from kamailio_proxy import ensure_kamailio
    from sipp_far_end import ensure_sipp

    ensure_kamailio()
    ensure_sipp()
    figures_file = tmp_path / "figures.jsonl"
    smallest = "--engine --levels 10 --hold-s 4 --leads 400 --ring-s 0.5".split()
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "sip_load.py"),
            *smallest,
            "--admin-url",
            postgres_admin_url,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        env={**os.environ, figures.FIGURES_ENV: str(figures_file)},
    )
    if done.returncode != 0 and "could not connect" in done.stderr + done.stdout:
        reason = f"PostgreSQL not reachable at {postgres_admin_url}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true requires PostgreSQL)", pytrace=False)
        pytest.skip(reason)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "highest level held: 10" in done.stdout, done.stdout
    reported = {f.name: f for f in run_all.parse_figures(figures_file.read_text().splitlines())}
    held = reported["engine mode: max concurrent calls held, every outcome right, no lead lost"]
    assert held.value == 10
    rate = reported["engine mode at 10 (1 proc, held): calls/s"]
    assert rate.value is not None and rate.value > 0
    assert isinstance(rate.baseline, float) and rate.baseline > 0  # SIPp's UAC ran
    invite = reported["engine mode at 10 (1 proc, held): agent-free → INVITE p99"]
    assert invite.value is not None and invite.value > 0
