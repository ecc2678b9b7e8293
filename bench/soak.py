"""Soak: the real engine at ~300 concurrent calls for a long time, watching for growth.

    .venv/bin/python bench/soak.py                       # 30 min, simulator platform
    .venv/bin/python bench/soak.py --minutes 3           # short check
    .venv/bin/python bench/soak.py --platform sip        # against a SIPp UAS
    .venv/bin/python bench/soak.py --db sqlite           # SQLite instead of PostgreSQL
    .venv/bin/python bench/soak.py --minutes 0.2 --interval 2 --calls 20 --hold-s 1 2  # smoke

One process runs one engine node (``core.engine.Engine``: scheduler, pacer,
claims, records, DNC gate) on a scratch database, a STARTED campaign with
enough leads for the whole run, the ``static`` routing target with ``--calls``
slots (300) and a platform whose calls last long enough that the slots stay
full (simulator: ring ``--hold-s`` seconds then transfer; SIP: a SIPp UAS that
rings ``--hold-s`` seconds, answers, takes the REFER). AMD is off: this run
watches the engine and the platform, not the detector.

Every ``--interval`` seconds (10) it samples *this* process: resident memory,
open file descriptors, asyncio tasks, and event-loop lag (a probe task sleeps
50 ms again and again; lag = how late it wakes; the sample is the mean over the
interval, the max is printed too), plus calls in flight on the platform, calls
settling (over on the platform, their outcome being written: the routing slot
is already free, so a slow database shows here) and calls finished.

At the end, for each series, the least-squares slope per hour over the samples
after the warm-up (first ``--warmup-s`` seconds, at most a fifth of the run:
pools, caches and the first 300 calls fill up there) and a verdict:

    grows      the slope is above THRESHOLD × the series' mean per hour
               (default 10 %/h: a leak of that size doubles the figure in
               ten hours, so a dialer running all day would be hurt) AND
               above two standard errors of the slope (so noise on a busy
               machine is not read as growth);
    no growth  otherwise (a falling series is no growth).

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

#: The series sampled and judged, with their units.
SERIES = {
    "rss_mib": "MiB",
    "open_fds": "fds",
    "asyncio_tasks": "tasks",
    "loop_lag_ms": "ms",
}
DEFAULT_THRESHOLD = 0.10  # of the mean, per hour


# -- the statistics (pure; tests/test_bench_tools.py checks them) -----------------


@dataclass(frozen=True)
class Trend:
    slope_per_h: float  # units per hour
    stderr_per_h: float  # standard error of the slope
    mean: float
    n: int
    verdict: str  # "grows" | "no growth" | "too few samples"


def least_squares(ts: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Slope of the least-squares line through (t, y), and its standard error."""
    n = len(ts)
    if n < 2:
        raise ValueError(f"least_squares needs 2 samples or more, got {n}")
    if len(ys) != n:
        raise ValueError(f"least_squares: {n} times but {len(ys)} values")
    mt, my = sum(ts) / n, sum(ys) / n
    sxx = sum((t - mt) ** 2 for t in ts)
    if sxx == 0:
        raise ValueError("least_squares: every sample has the same time")
    slope = sum((t - mt) * (y - my) for t, y in zip(ts, ys, strict=True)) / sxx
    if n < 3:
        return slope, math.inf
    intercept = my - slope * mt
    residual = sum((y - (intercept + slope * t)) ** 2 for t, y in zip(ts, ys, strict=True))
    return slope, math.sqrt(residual / (n - 2) / sxx)


def trend(
    ts_s: Sequence[float], ys: Sequence[float], threshold: float = DEFAULT_THRESHOLD
) -> Trend:
    """Slope per hour of ``ys`` sampled at ``ts_s`` seconds, and the verdict (see above)."""
    if len(ts_s) < 3:
        mean = sum(ys) / len(ys) if ys else 0.0
        return Trend(0.0, math.inf, mean, len(ts_s), "too few samples")
    slope_s, stderr_s = least_squares(ts_s, ys)
    slope, stderr = slope_s * 3600, stderr_s * 3600
    mean = sum(ys) / len(ys)
    material = slope > threshold * abs(mean) if mean else slope > 0
    significant = slope > 2 * stderr
    return Trend(
        slope, stderr, mean, len(ts_s), "grows" if material and significant else "no growth"
    )


# -- sampling ----------------------------------------------------------------------


class LoopLagProbe:
    """Sleeps ``step_s`` again and again; records how late each wake-up is and, every
    ``TASKS_EVERY`` wake-ups, how many asyncio tasks there are.

    Tasks are averaged over the sample's window, not read once per sample: calls
    that start and end in waves (SIPp rings every call a fixed time) make an
    instant reading depend on where it falls in the wave, and the beat between
    the wave and the sampling period tilted the fitted line.
    """

    TASKS_EVERY = 20  # once a second at 50 ms steps

    def __init__(self, step_s: float = 0.05) -> None:
        self.step_s = step_s
        self.lags_ms: list[float] = []
        self.task_counts: list[int] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="soak-loop-lag")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        wakeups = 0
        while True:
            before = loop.time()
            await asyncio.sleep(self.step_s)
            self.lags_ms.append(max(0.0, (loop.time() - before - self.step_s) * 1000))
            wakeups += 1
            if wakeups % self.TASKS_EVERY == 0:
                self.task_counts.append(len(asyncio.all_tasks()))

    def take(self) -> tuple[float, float]:
        """Mean and max lag since the last call (ms)."""
        lags, self.lags_ms = self.lags_ms, []
        if not lags:
            return 0.0, 0.0
        return sum(lags) / len(lags), max(lags)

    def take_tasks(self) -> float:
        """Mean number of asyncio tasks since the last call (now, if none was counted)."""
        counts, self.task_counts = self.task_counts, []
        return sum(counts) / len(counts) if counts else float(len(asyncio.all_tasks()))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


@dataclass
class Sample:
    t_s: float
    rss_mib: float
    open_fds: int
    asyncio_tasks: float  # mean over the sample's window
    loop_lag_ms: float
    loop_lag_max_ms: float
    in_flight: int  # calls on the platform
    settling: int  # over on the platform, outcome being stored
    finished: int


# -- the run -----------------------------------------------------------------------


def leads_needed(calls: int, hold_s: tuple[float, float], seconds: float) -> int:
    """Enough leads that the campaign never runs dry: 1.5 × the expected calls + slots."""
    mean_hold = max(0.5, (hold_s[0] + hold_s[1]) / 2)
    return int(calls / mean_hold * seconds * 1.5) + calls


class SipFarEnd:
    """A SIPp UAS that rings ``ring_ms``, answers, streams a greeting, accepts the REFER."""

    def __init__(self, ring_ms: int, workdir: Path) -> None:
        sys.path.insert(0, str(BENCH.parent / "tests"))
        from sipp_far_end import SippUas, audio

        self.uas = SippUas(
            "uas_answer_rtp.xml",
            keys={"audio": audio("human_hello.ulaw"), "refer_result": "200 OK"},
            sets={"ring_ms": str(ring_ms)},
            extra=["-default_behaviors", "all,-abortunexp"],
        ).start(workdir)

    def platform(self, calls: int) -> Any:
        from sip_helpers import sip_config

        from opendialer.plugins.platform_sip import SipPlatform

        config = sip_config(self.uas.address, ports=calls + calls // 3)
        return SipPlatform({"config": config, "bind_host": "127.0.0.1"})

    def stop(self) -> None:
        self.uas.stop()


async def soak(args: argparse.Namespace, db: Any, workdir: Path) -> list[Sample]:
    from opendialer.core.engine.engine import Engine

    seconds = args.minutes * 60
    hold = (float(args.hold_s[0]), float(args.hold_s[1]))
    n_leads = leads_needed(args.calls, hold, seconds)
    started = time.perf_counter()
    from scratch_db import finished_calls, seed_started_campaign

    campaign_id = await seed_started_campaign(n_leads, routing_target="static", prefix="soak")
    print(f"seeded {n_leads:,} leads in {time.perf_counter() - started:.1f} s", flush=True)

    far_end: SipFarEnd | None = None
    platform: Any
    if args.platform == "sim":
        platform = "sim"
        platform_options: dict[str, Any] = {
            "ports": args.calls + args.calls // 3,
            "ring_s": list(hold),
            "no_answer_s": hold[1],
            "handle_s": [1, 2],
            "seed": 11,
        }
    else:
        far_end = SipFarEnd(int(1000 * (hold[0] + hold[1]) / 2), workdir)
        platform = far_end.platform(args.calls)
        platform_options = {}
    engine = Engine(
        db,
        f"soak-{os.getpid()}",
        platform=platform,
        platform_options=platform_options,
        routing_options={"static": {"slots": args.calls}},
        max_calls=args.calls + args.calls // 3,
    )
    process = psutil.Process()
    probe = LoopLagProbe()
    samples: list[Sample] = []
    try:
        await engine.start()
        probe.start()
        t0 = time.perf_counter()
        print(
            "   t s    RSS MiB   fds  tasks  lag ms (mean/max)  in flight  settling   finished",
            flush=True,
        )
        while True:
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds:
                break
            await asyncio.sleep(min(args.interval, seconds - elapsed))
            lag_mean, lag_max = probe.take()
            sample = Sample(
                t_s=time.perf_counter() - t0,
                rss_mib=process.memory_info().rss / 2**20,
                open_fds=process.num_fds(),
                asyncio_tasks=probe.take_tasks(),
                loop_lag_ms=lag_mean,
                loop_lag_max_ms=lag_max,
                in_flight=engine.in_flight_total() - settling(engine),
                settling=settling(engine),
                finished=await finished_calls(campaign_id),
            )
            samples.append(sample)
            print(
                f"{sample.t_s:6.0f}  {sample.rss_mib:9.1f}  {sample.open_fds:4d}  "
                f"{sample.asyncio_tasks:5.0f}  {sample.loop_lag_ms:7.2f} / {sample.loop_lag_max_ms:7.1f}"
                f"  {sample.in_flight:9d}  {sample.settling:8d}  {sample.finished:9,d}",
                flush=True,
            )
    finally:
        await probe.stop()
        # Let the calls in flight end as they would (no UNKNOWN outcomes to reconcile).
        await engine.stop(drain_timeout_s=hold[1] + 10)
        if far_end is not None:
            far_end.stop()
    return samples


def settling(engine: Any) -> int:
    """Calls over on the platform whose outcome is still being written (``CampaignRunner``)."""
    return sum(len(getattr(runner, "settling", ())) for runner in engine.runners.values())


def summarise(samples: list[Sample], warmup_s: float, threshold: float) -> dict[str, Trend]:
    kept = [s for s in samples if s.t_s > warmup_s] or samples
    ts = [s.t_s for s in kept]
    return {name: trend(ts, [float(getattr(s, name)) for s in kept], threshold) for name in SERIES}


def print_summary(
    samples: list[Sample], trends: dict[str, Trend], warmup_s: float, threshold: float
) -> None:
    if not samples:
        print("no samples (run shorter than one interval)")
        return
    last, seconds = samples[-1], samples[-1].t_s
    in_flight = [s.in_flight for s in samples if s.t_s > warmup_s] or [0]
    print(
        f"\n{len(samples)} samples over {seconds / 60:.1f} min; "
        f"{last.finished:,} calls finished ({last.finished / max(seconds, 1):.1f}/s); "
        f"calls in flight after warm-up: mean {sum(in_flight) / len(in_flight):.0f}, "
        f"min {min(in_flight)}, max {max(in_flight)}"
    )
    print(
        f"slopes: least squares over the samples after {warmup_s:.0f} s; "
        f"'grows' = slope > {threshold:.0%} of the mean per hour and > 2 standard errors"
    )
    for name, unit in SERIES.items():
        t = trends[name]
        per_h = f"{t.slope_per_h:+10.2f} {unit}/h (± {t.stderr_per_h:.2f})"
        print(f"  {name:14s} mean {t.mean:9.2f} {unit:5s} slope {per_h:34s} {t.verdict}")
    lag_max = max(s.loop_lag_max_ms for s in samples)
    print(f"  worst single event-loop wake-up delay: {lag_max:.1f} ms")


def report_figures(samples: list[Sample], trends: dict[str, Trend], platform: str) -> None:
    from figures import report

    if not samples:
        return
    for name, unit in SERIES.items():
        t = trends[name]
        report(
            f"soak {platform}: {name} slope",
            t.slope_per_h,
            f"{unit}/h",
            goal="no growth",
            met=t.verdict == "no growth",
            note=f"mean {t.mean:.1f} {unit}",
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--platform", choices=["sim", "sip"], default="sim")
    parser.add_argument("--calls", type=int, default=300, help="concurrent calls (static slots)")
    parser.add_argument(
        "--hold-s",
        type=float,
        nargs=2,
        default=[10.0, 30.0],
        metavar=("MIN", "MAX"),
        help="call length range in seconds (SIP: the mean, SIPp rings a fixed time)",
    )
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--warmup-s", type=float, default=120.0)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument(
        "--db",
        choices=["postgres", "sqlite"],
        default="postgres",
        help="a scratch database, dropped at the end (PostgreSQL: $OPENDIALER_TEST_POSTGRES_URL)",
    )
    parser.add_argument("--database-url", help="use this database instead (migrated, kept)")
    args = parser.parse_args()
    if args.minutes <= 0 or args.calls <= 0 or args.interval <= 0:
        parser.error("--minutes, --calls and --interval must be > 0")
    if not 0 <= args.hold_s[0] <= args.hold_s[1]:
        parser.error("--hold-s MIN MAX needs 0 <= MIN <= MAX")
    warmup_s = min(args.warmup_s, args.minutes * 60 / 5)
    print(
        f"soak: {args.platform} platform, {args.calls} concurrent calls, {args.minutes:g} min, "
        f"database {'given' if args.database_url else args.db}, "
        f"sample every {args.interval:g} s, {psutil.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        flush=True,
    )
    from scratch_db import scratch_database

    from opendialer.core.storage import connect
    from opendialer.core.storage.migrate import migrate

    with tempfile.TemporaryDirectory(prefix="soak_") as tmp:
        workdir = Path(tmp)
        if args.db == "postgres" and not args.database_url:
            async with scratch_database(pool_size=20) as (_, db):
                samples = await soak(args, db, workdir)
        else:
            url = args.database_url or f"sqlite:///{workdir / 'soak.sqlite'}"
            db = await connect(url, pool_size=20)
            try:
                await migrate(db)
                samples = await soak(args, db, workdir)
            finally:
                await db.close()
    trends = summarise(samples, warmup_s, args.threshold)
    print_summary(samples, trends, warmup_s, args.threshold)
    report_figures(samples, trends, args.platform)


if __name__ == "__main__":
    asyncio.run(main())
