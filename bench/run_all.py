"""Run every bench and print one Markdown table of their figures.

    .venv/bin/python bench/run_all.py                     # each bench at its small default size
    .venv/bin/python bench/run_all.py --full              # the big sizes (hours on 2 cores)
    .venv/bin/python bench/run_all.py --only amd,dnc
    .venv/bin/python bench/run_all.py --write docs/performance.md

Each bench runs as its own process (``python bench/NAME.py``) with a time limit;
one that fails or times out is a "failed" row of the table, and the next one runs.
Benches report figures through ``bench/figures.py``: run here, each
``figures.report(...)`` call appends a JSON line to a file this script names in
``$OPENDIALER_BENCH_FIGURES``. The table has, per figure: its value, the
baseline measured in the same run (when the bench has one), the ratio, the goal
and whether this run met it. Each bench's full output is kept in ``--logs``.

``bench/amd.py`` runs on both splits of the labelled corpus, side by side, and is
judged on the held-out one (voices, engines and phrases the detector was not tuned
or trained on): ``--amd-corpus`` (default ``$OPENDIALER_AMD_CORPUS`` or
``/tmp/amd-train1``) and ``--amd-heldout`` (``$OPENDIALER_AMD_HELDOUT`` or
``/tmp/amd-heldout1``). A split without ``labels.csv`` is made first
(``bench/amd_corpus/setup.sh``, then ``bench/amd_corpus/make.py --split train|heldout
--seed 1``); if that cannot be done the bench is skipped with the reason.

``--write FILE`` puts the table, the machine it ran on and the command into FILE
between ``<!-- run_all:begin -->`` and ``<!-- run_all:end -->`` (the rest of the
page is kept); a new FILE gets just that block.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from figures import FIGURES_ENV  # noqa: E402

BEGIN, END = "<!-- run_all:begin -->", "<!-- run_all:end -->"
DEFAULT_CORPUS = Path(os.environ.get("OPENDIALER_AMD_CORPUS", "/tmp/amd-train1"))
DEFAULT_HELDOUT = Path(os.environ.get("OPENDIALER_AMD_HELDOUT", "/tmp/amd-heldout1"))
CORPUS_TOOLS = BENCH / "amd_corpus"


@dataclass(frozen=True)
class Bench:
    name: str
    quick: tuple[str, ...] = ()  # arguments of the small default run
    full: tuple[str, ...] = ("--full",)
    timeout_s: float = 900.0  # small run; --full multiplies it by FULL_FACTOR
    needs_corpus: bool = False
    script: str = ""  # bench/SCRIPT.py when one script has two modes; default: the name

    @property
    def path(self) -> Path:
        return BENCH / f"{self.script or self.name}.py"


FULL_FACTOR = 12
AMD_MIX = ("--engine", "--mix", "amd", "--ring-s", "0.5")
BENCHES = [
    Bench("amd", quick=("--chunk-ms", "20"), full=("--chunk-ms", "20"), needs_corpus=True),
    Bench("audit_export", quick=("--rows", "200000"), full=("--rows", "1000000")),
    Bench("auth"),
    Bench("dnc"),
    Bench("engine"),
    Bench("leads_import"),
    Bench("leads_list"),
    Bench("metrics_scrape", quick=("--leads", "200000"), full=()),
    # --quick: N ∈ {5, 25}, p=0.15, talk 120 s and the two shocks, 10 seeds; --full: the grid.
    Bench("pacing", quick=("--quick",), full=(), timeout_s=1800.0),
    Bench("routing"),
    Bench("routing_shared", quick=(), full=("--rounds", "3000")),
    Bench("rtp_send", quick=("--streams", "300", "--seconds", "3"), full=()),
    Bench("sip_load"),
    # The whole product (engines on PostgreSQL, Kamailio, SIPp): levels 50, 100 quick;
    # 100, 300, 600, 1000 held 60 s each with --full.
    Bench("sip_load_engine", script="sip_load", quick=("--engine",), full=("--engine", "--full")),
    # 300+ AMD streams on one engine: every call a machine whose greeting AMD waits out
    # (docs/performance.md, "AMD streams on one engine").
    Bench(
        "sip_load_amd",
        script="sip_load",
        quick=(*AMD_MIX, "--levels", "50", "--hold-s", "20"),
        full=(*AMD_MIX, "--levels", "100,200,380", "--hold-s", "40"),
    ),
]


@dataclass
class Figure:
    bench: str
    name: str
    value: float | None
    unit: str
    baseline: float | str | None = None  # a number, or the name of another figure of the bench
    baseline_name: str | None = None
    goal: str | None = None
    met: bool | None = None
    note: str | None = None


@dataclass
class BenchRun:
    bench: str
    status: str  # "ok" | "failed" | "skipped"
    seconds: float = 0.0
    reason: str = ""
    figures: list[Figure] = field(default_factory=list)
    log: Path | None = None


# -- figures file --------------------------------------------------------------------


class FiguresError(ValueError):
    pass


def parse_figures(lines: Iterable[str], source: str = "figures") -> list[Figure]:
    """The JSON lines ``figures.report`` wrote; a bad line raises naming its number."""
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FiguresError(f"{source} line {number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise FiguresError(
                f"{source} line {number}: expected an object, got {type(row).__name__}"
            )
        missing = [key for key in ("bench", "name", "value", "unit") if key not in row]
        if missing:
            raise FiguresError(f"{source} line {number}: missing {', '.join(missing)}")
        unknown = set(row) - set(Figure.__dataclass_fields__)
        if unknown:
            raise FiguresError(f"{source} line {number}: unknown field(s) {sorted(unknown)}")
        value = row["value"]
        if value is not None and not isinstance(value, int | float):
            raise FiguresError(f"{source} line {number}: value must be a number, got {value!r}")
        out.append(Figure(**row))
    return out


# -- the table -----------------------------------------------------------------------


def fmt_number(value: float | None) -> str:
    """Three significant digits or whole numbers with separators: 0.0123, 4.56, 78.9, 12,345."""
    if value is None:
        return "—"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    if size == 0:
        return "0"
    return f"{value:.3g}"


def baseline_value(figure: Figure, same_bench: Sequence[Figure]) -> tuple[float | None, str]:
    """The baseline as a number and its label; a name refers to another figure of the bench."""
    if isinstance(figure.baseline, str):
        ref = next((f for f in same_bench if f.name == figure.baseline), None)
        if ref is None:
            return None, f"{figure.baseline} (not measured)"
        return ref.value, figure.baseline_name or ref.name
    return figure.baseline, figure.baseline_name or ""


def cell(text: str) -> str:
    """Text safe in a Markdown table cell (pipes and backslashes escaped, one line)."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def table_rows(runs: Sequence[BenchRun]) -> list[list[str]]:
    rows = []
    for run in runs:
        if run.status != "ok" or not run.figures:
            what = {
                "failed": "**failed**",
                "skipped": "skipped",
                "ok": "no figures reported",
            }[run.status]
            rows.append([run.bench, what, "", "", "", "", run.reason])
            continue
        for figure in run.figures:
            base, base_label = baseline_value(figure, run.figures)
            value = f"{fmt_number(figure.value)} {figure.unit}"
            if figure.note:
                value += f" ({figure.note})"
            baseline = ""
            ratio = ""
            if base is not None or base_label:
                baseline = f"{fmt_number(base)} {figure.unit}"
                if base_label:
                    baseline += f" — {base_label}"
                if base and figure.value is not None:
                    ratio = f"{figure.value / base:.2f}"
            goal = figure.goal or ""
            met = {True: "yes", False: "**no**", None: ""}[figure.met]
            rows.append([run.bench, figure.name, value, baseline, ratio, goal, met])
    return [[cell(c) for c in row] for row in rows]


HEADER = ["bench", "figure", "value", "baseline (same run)", "ratio", "goal", "met"]


def format_table(runs: Sequence[BenchRun]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(runs)]
    return "\n".join(lines)


def parse_table(text: str) -> list[dict[str, str]]:
    """The rows of a table :func:`format_table` wrote, as dicts by header (for tests, tools)."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    if len(lines) < 2:
        raise ValueError("no Markdown table found (a header line and a separator line)")
    header = split_row(lines[0])
    return [dict(zip(header, split_row(line), strict=True)) for line in lines[2:]]


def split_row(line: str) -> list[str]:
    cells, current, escaped = [], "", False
    for char in line.strip()[1:-1]:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "|":
            cells.append(current.strip())
            current = ""
        else:
            current += char
    cells.append(current.strip())
    return cells


# -- the machine ---------------------------------------------------------------------


def machine_info(started: datetime, load_at_start: float, admin_url: str) -> dict[str, str]:
    def first(path: str, key: str) -> str:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "unknown"

    minutes = int((datetime.now(UTC) - started).total_seconds() // 60)
    mem = first("/proc/meminfo", "MemTotal")
    ram = f"{int(mem.split()[0]) / 2**20:.1f} GiB" if mem != "unknown" else mem
    return {
        "CPU": first("/proc/cpuinfo", "model name"),
        "cores": str(os.cpu_count()),
        "RAM": ram,
        "load average at start": f"{load_at_start:.2f}",
        "Python": platform.python_version(),
        "PostgreSQL": postgres_version(admin_url),
        "started, duration": f"{started:%Y-%m-%d %H:%M} UTC, {minutes} min",
        "git commit": git_commit(),
    }


def postgres_version(admin_url: str) -> str:
    try:
        done = subprocess.run(
            ["psql", admin_url, "-XAtc", "SHOW server_version"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    return done.stdout.strip() or f"unknown ({done.stderr.strip()[:120]})"


def git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return f"{head} (with uncommitted changes)" if dirty else head or "unknown"


def page_block(runs: Sequence[BenchRun], machine: dict[str, str], command: str) -> str:
    info = "\n".join(f"- **{key}**: {value}" for key, value in machine.items())
    return f"{BEGIN}\nMeasured with `{command}`.\n\n{info}\n\n{format_table(runs)}\n{END}"


def write_page(path: Path, block: str) -> None:
    """Replace the block between the markers in ``path`` (or write a new page with it)."""
    if path.exists():
        text = path.read_text(encoding="utf-8")
        start, end = text.find(BEGIN), text.find(END)
        if start == -1 or end == -1 or end < start:
            raise SystemExit(
                f"{path}: no {BEGIN} … {END} block to replace; add the two markers where the "
                "table goes"
            )
        text = text[:start] + block + text[end + len(END) :]
    else:
        text = f"# Performance\n\n{block}\n"
    path.write_text(text, encoding="utf-8")


# -- running -------------------------------------------------------------------------


def ensure_corpus(corpus: Path, tools: Path, logs: Path, split: str = "train") -> str:
    """'' when the corpus (its ``split``) is ready, else why it is not."""
    if (corpus / "labels.csv").exists():
        return ""
    if not (tools / "make.py").exists():
        return f"no AMD corpus at {corpus} and no {tools / 'make.py'} to make one"
    print(
        f"making the AMD corpus in {corpus} (setup.sh, make.py --split {split} --seed 1) …",
        flush=True,
    )
    with open(logs / "amd_corpus.log", "a") as log:
        make = [sys.executable, str(tools / "make.py"), "--split", split, "--seed", "1"]
        steps = [["bash", str(tools / "setup.sh")], [*make, "--out", str(corpus)]]
        for step in steps:
            try:
                done = subprocess.run(step, stdout=log, stderr=subprocess.STDOUT, timeout=1800)
            except (OSError, subprocess.TimeoutExpired) as exc:
                return f"making the AMD corpus failed: {' '.join(step)}: {exc}"
            if done.returncode != 0:
                return (
                    f"making the AMD corpus failed: {' '.join(step)} exited {done.returncode} "
                    f"(see {logs / 'amd_corpus.log'})"
                )
    if not (corpus / "labels.csv").exists():
        return f"make.py ran but {corpus / 'labels.csv'} is missing"
    return ""


def last_lines(path: Path, count: int = 3) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return " / ".join(lines[-count:])[-300:]


def run_bench(bench: Bench, args: list[str], timeout_s: float, logs: Path) -> BenchRun:
    figures_file = logs / f"{bench.name}.figures.jsonl"
    figures_file.unlink(missing_ok=True)
    log = logs / f"{bench.name}.log"
    env = dict(os.environ, **{FIGURES_ENV: str(figures_file)})
    command = [sys.executable, str(bench.path), *args]
    print(f"→ {bench.name}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    with open(log, "w") as out:
        # Own process group: a timeout stops the bench's children too (servers, SIPp).
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            rc = proc.wait(timeout=timeout_s)
            reason = "" if rc == 0 else f"exit code {rc}: {last_lines(log)}"
        except subprocess.TimeoutExpired:
            stop_group(proc)
            rc, reason = -1, f"timed out after {timeout_s:.0f} s"
    seconds = time.perf_counter() - started
    run = BenchRun(bench.name, "ok" if rc == 0 else "failed", seconds, reason, log=log)
    if figures_file.exists():
        try:
            run.figures = parse_figures(figures_file.read_text().splitlines(), str(figures_file))
        except FiguresError as exc:
            run.status, run.reason = "failed", str(exc)
    if run.status == "ok" and not run.figures:
        run.reason = f"the bench printed its figures but reported none (see {log})"
    print(f"  {run.status} in {seconds:.0f} s{': ' + run.reason if run.reason else ''}", flush=True)
    return run


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def select(only: str | None) -> list[Bench]:
    if not only:
        return list(BENCHES)
    known = {b.name: b for b in BENCHES}
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(
            f"--only: unknown bench(es) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    return [known[n] for n in names]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the big sizes of every bench")
    parser.add_argument("--only", help="comma-separated bench names, e.g. amd,dnc")
    parser.add_argument("--timeout", type=float, help="seconds per bench (default 900, ×12 --full)")
    parser.add_argument("--write", type=Path, help="put the table and the machine into this page")
    parser.add_argument("--logs", type=Path, help="folder for each bench's output")
    parser.add_argument("--amd-corpus", type=Path, default=DEFAULT_CORPUS, help="train split")
    parser.add_argument("--amd-heldout", type=Path, default=DEFAULT_HELDOUT, help="held-out split")
    parser.add_argument("--amd-corpus-tools", type=Path, default=CORPUS_TOOLS)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "OPENDIALER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="PostgreSQL the benches use (only its version is read here)",
    )
    args = parser.parse_args(argv)
    benches = select(args.only)
    load_at_start, started = os.getloadavg()[0], datetime.now(UTC)
    logs = args.logs or Path(tempfile.mkdtemp(prefix="opendialer_bench_"))
    logs.mkdir(parents=True, exist_ok=True)
    print(f"logs: {logs}; load average {load_at_start:.2f}", flush=True)

    runs: list[BenchRun] = []
    for bench in benches:
        extra: list[str] = list(bench.full if args.full else bench.quick)
        if bench.needs_corpus:
            why = ensure_corpus(args.amd_corpus, args.amd_corpus_tools, logs) or ensure_corpus(
                args.amd_heldout, args.amd_corpus_tools, logs, "heldout"
            )
            if why:
                print(f"→ {bench.name}: skipped: {why}", flush=True)
                runs.append(BenchRun(bench.name, "skipped", reason=why))
                continue
            extra = ["--train", str(args.amd_corpus), "--heldout", str(args.amd_heldout), *extra]
        timeout = args.timeout or bench.timeout_s * (FULL_FACTOR if args.full else 1)
        runs.append(run_bench(bench, extra, timeout, logs))

    table = format_table(runs)
    print()
    print(table)
    if args.write:
        command = "python bench/run_all.py" + (" --full" if args.full else "")
        if args.only:
            command += f" --only {args.only}"
        block = page_block(runs, machine_info(started, load_at_start, args.admin_url), command)
        write_page(args.write, block)
        print(f"\nwritten to {args.write}")
    return 0 if all(run.status != "failed" for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
