"""Load of the SIP platform against SIPp far ends — prints figures, asserts nothing.

    .venv/bin/python bench/sip_load.py            # short run (< 2 min): ramp 50, 150
    .venv/bin/python bench/sip_load.py --full     # ramp 100, 300, 600, 1000
    .venv/bin/python bench/sip_load.py --engine [--full]   # the whole product: see below
    .venv/bin/python bench/sip_load.py --engine --mix amd --levels 380 --ring-s 0.5  # AMD streams

Phases, all in one process (one asyncio loop, one SIP socket per far end):

1. **Ramp** — for each concurrency C: C dialer ports keep C calls in flight,
   ``3·C`` calls in all, the issue's mix: 60 % ring 1 s then answer (half a
   human greeting → AMD → REFER → NOTIFY 200, half an answering machine → AMD →
   BYE), 40 % busy (486). The product AMD (``amd_numpy``) decides on the
   decoded RTP. A level *holds* when every call has the expected outcome
   (no timeout, no lost outcome); printed: calls/s, CPU ms and RSS KiB per
   call, RTP packets decoded.
2. **Calls per second** — INVITE → 200 → ACK → 200 ms of audio → BYE, 200
   ports, against the answering UAS; then SIPp's own UAC (``sipp -sn uac``,
   same call shape: ``-d 200``) against the same UAS as the baseline.

``--engine``: not the platform alone but the product — ``opendialer serve --role
engine`` processes on PostgreSQL with a STARTED campaign, ports registered through
Kamailio, SIPp far ends behind it (``bench/sip_load_engine.py`` says how).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import figures
from sip_helpers import call_request, sip_config
from sipp_far_end import SippUas, audio, ensure_sipp, free_udp_port

from opendialer.plugins.platform_sip import SipPlatform
from opendialer.sdk import (
    AmdDecision,
    AmdLabel,
    CallAction,
    CallDisposition,
)

SIPP_TOLERANT = ["-default_behaviors", "all,-abortunexp"]
MEDIA_BASELINE = "no detector (3 s of audio)"


def amd_factory() -> Any:
    from opendialer.plugins.amd_numpy import register_amd_strategies

    strategy = register_amd_strategies()["numpy"](context=None)
    return lambda: strategy.new_session({})


class HangUpAtOnce:
    def feed(self, pcm: npt.NDArray[np.int16]) -> AmdDecision | None:
        return AmdDecision(AmdLabel.MACHINE, len(pcm) / 8.0, "bench")

    def finish(self) -> AmdDecision:
        return AmdDecision(AmdLabel.SILENCE, 0.0, "bench")


class DecideAfter:
    """No detector cost: decides MACHINE after ``seconds`` of audio (media-path cost only)."""

    def __init__(self, seconds: float) -> None:
        self.samples, self.limit = 0, int(8000 * seconds)

    def feed(self, pcm: npt.NDArray[np.int16]) -> AmdDecision | None:
        self.samples += len(pcm)
        if self.samples >= self.limit:
            return AmdDecision(AmdLabel.MACHINE, self.samples / 8.0, "bench")
        return None

    def finish(self) -> AmdDecision:
        return AmdDecision(AmdLabel.SILENCE, self.samples / 8.0, "bench")


def verdict(decision: AmdDecision) -> CallAction:
    return CallAction.TRANSFER if decision.label is AmdLabel.HUMAN else CallAction.HANGUP


async def platform_for(uas: SippUas, ports: int) -> SipPlatform:
    options = {"config": sip_config(uas.address, ports=ports), "bind_host": "127.0.0.1"}
    platform = SipPlatform({**options, "t4_s": 1.0, "amd_max_s": 12.0})
    await platform.start()
    return platform


async def run_calls(
    platform: SipPlatform, total: int, concurrency: int, make_amd: Any
) -> tuple[Counter[CallDisposition], float]:
    gate = asyncio.Semaphore(concurrency)
    started = time.perf_counter()

    async def one() -> CallDisposition:
        async with gate:
            outcome = await platform.originate(call_request(amd=make_amd(), on_verdict=verdict))
            return outcome.disposition

    results = Counter(await asyncio.gather(*(one() for _ in range(total))))
    return results, time.perf_counter() - started


async def ramp_level(level: int, workdir: Path, make_amd: Any) -> dict[str, Any]:
    calls = 3 * level
    answered, busy = int(calls * 0.6), calls - int(calls * 0.6)
    humans, machines = answered // 2, answered - answered // 2
    sets = {"ring_ms": "1000"}
    far = {
        "human": SippUas(
            "uas_answer_rtp.xml",
            calls=humans,
            keys={"audio": audio("human_hello.ulaw"), "refer_result": "200 OK"},
            sets=sets,
            extra=SIPP_TOLERANT,
        ),
        "machine": SippUas(
            "uas_answer_rtp.xml",
            calls=machines,
            keys={"audio": audio("machine_greeting.ulaw"), "refer_result": "200 OK"},
            sets=sets,
            extra=SIPP_TOLERANT,
        ),
        "busy": SippUas("uas_busy_486.xml", calls=busy, sets=sets, extra=SIPP_TOLERANT),
    }
    for uas in far.values():
        uas.start(workdir)
    share = {"human": humans, "machine": machines, "busy": busy}
    platforms = {
        name: await platform_for(uas, max(1, round(level * share[name] / calls)))
        for name, uas in far.items()
    }
    process = psutil.Process()
    cpu0, rss0 = sum(process.cpu_times()[:2]), process.memory_info().rss
    peak_rss = rss0
    peak_in_flight = 0

    async def watch_rss() -> None:
        nonlocal peak_rss, peak_in_flight
        while True:
            peak_rss = max(peak_rss, process.memory_info().rss)
            in_flight = sum(p.calls_in_flight for p in platforms.values())
            peak_in_flight = max(peak_in_flight, in_flight)
            await asyncio.sleep(0.2)

    watcher = asyncio.create_task(watch_rss())
    started = time.perf_counter()
    results = await asyncio.gather(
        *(
            run_calls(
                platforms[name], share[name], platforms[name].config.ports.__len__(), make_amd
            )
            for name in far
        )
    )
    elapsed = time.perf_counter() - started
    watcher.cancel()
    cpu = sum(process.cpu_times()[:2]) - cpu0
    for platform in platforms.values():
        await platform.close()
    codes = [await asyncio.to_thread(uas.wait, 60) for uas in far.values()]
    human, machine, rejected = (r[0] for r in results)
    ok = (
        human.get(CallDisposition.TRANSFERRED, 0) == humans
        and machine.get(CallDisposition.AMD_HANGUP, 0) == machines
        and rejected.get(CallDisposition.FINAL_RESPONSE, 0) == busy
        and codes == [0, 0, 0]
    )
    return {
        "level": level,
        "peak_in_flight": peak_in_flight,
        "seconds_per_call": elapsed * level / calls,
        "calls": calls,
        "ok": ok,
        "cps": calls / elapsed,
        "cpu_ms_per_call": 1000 * cpu / calls,
        "cpu_share": cpu / elapsed,
        "rss_kib_per_call": (peak_rss - rss0) / 1024 / level,
        "detail": f"human {dict(human)} machine {dict(machine)} busy {dict(rejected)} sipp rc {codes}",
    }


async def cps_phase(calls: int, workdir: Path) -> tuple[float, float, float]:
    uas = SippUas(
        "uas_answer_rtp.xml",
        calls=calls * 2,
        keys={"audio": audio("machine_greeting.ulaw"), "refer_result": "200 OK"},
        sets={"ring_ms": "0"},
        extra=SIPP_TOLERANT,
    ).start(workdir)
    platform = await platform_for(uas, 200)
    process = psutil.Process()
    cpu0 = sum(process.cpu_times()[:2])
    results, elapsed = await run_calls(platform, calls, 200, HangUpAtOnce)
    cpu_ms = 1000 * (sum(process.cpu_times()[:2]) - cpu0) / calls
    await platform.close()
    ours = calls / elapsed
    assert results.get(CallDisposition.AMD_HANGUP, 0) == calls, results
    sipp = ensure_sipp()
    command = [
        sipp, "-sn", "uac", uas.address, "-i", "127.0.0.1", "-p", str(free_udp_port()),
        "-mi", "127.0.0.1", "-mp", str(free_udp_port(even=True)), "-s", "5551234",
        "-m", str(calls), "-r", "1000", "-l", "200", "-d", "200", "-nostdin",
        *SIPP_TOLERANT,
    ]  # fmt: skip
    started = time.perf_counter()
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, cwd=workdir)
    baseline = calls / (time.perf_counter() - started)
    if done.returncode != 0:
        print(f"  (sipp uac rc {done.returncode})")
    uas.stop()
    return ours, baseline, cpu_ms


async def media_phase(calls: int, concurrency: int, workdir: Path, make_amd: Any) -> str:
    """Answered calls streaming audio: CPU per call and per RTP packet, with and without AMD."""
    lines = []
    for name, factory in (
        (MEDIA_BASELINE, lambda: DecideAfter(3.0)),
        ("amd_numpy", make_amd),
    ):
        uas = SippUas(
            "uas_answer_rtp.xml",
            calls=calls,
            keys={"audio": audio("machine_greeting.ulaw"), "refer_result": "200 OK"},
            sets={"ring_ms": "0"},
            extra=SIPP_TOLERANT,
        ).start(workdir)
        platform = await platform_for(uas, concurrency)
        process = psutil.Process()
        cpu0 = sum(process.cpu_times()[:2])
        results, _ = await run_calls(platform, calls, concurrency, factory)
        cpu = sum(process.cpu_times()[:2]) - cpu0
        packets = platform.stats()["rtp_packets"]
        await platform.close()
        await asyncio.to_thread(uas.wait, 60)
        figures.report(
            f"media path CPU per RTP packet, {name}",
            1e6 * cpu / max(packets, 1),
            "µs",
            baseline=None
            if name == MEDIA_BASELINE
            else f"media path CPU per RTP packet, {MEDIA_BASELINE}",
            note=f"{concurrency} calls at once",
        )
        lines.append(
            f"  {name:28s} {calls} machine calls, {concurrency} at once: CPU {1000 * cpu / calls:5.1f} ms/call,"
            f" {packets / calls:4.0f} RTP packets/call, {1e6 * cpu / max(packets, 1):5.1f} µs CPU per packet"
            f" (everything included), {dict(results)}"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="ramp 100, 300, 600, 1000")
    parser.add_argument("--levels", help="comma-separated concurrency levels")
    parser.add_argument("--cps-calls", type=int, default=None)
    parser.add_argument("--engine", action="store_true", help="the whole product (engines)")
    parser.add_argument("--engines", type=int, default=1, help="--engine: processes per level")
    parser.add_argument(
        "--then-engines",
        type=int,
        help="--engine: then the highest level held again with this many processes (--full: 3)",
    )
    parser.add_argument("--hold-s", type=float, help="--engine: seconds each level is held")
    parser.add_argument("--ring-s", type=float, default=5.0, help="--engine: far ends ring")
    parser.add_argument("--leads", type=int, default=100_000, help="--engine: campaign size")
    parser.add_argument("--no-baseline", action="store_true", help="--engine: skip SIPp's UAC")
    parser.add_argument("--profile", action="store_true", help="--engine: under cProfile")
    parser.add_argument("--admin-url", help="--engine: PostgreSQL server for the scratch database")
    parser.add_argument(
        "--mix",
        choices=("product", "amd"),
        default="product",
        help="--engine: product (30 %% person, 30 %% machine, 40 %% busy) or amd (every call a "
        "machine: the most AMD streams at once)",
    )
    args = parser.parse_args()
    if args.engine:
        from scratch_db import DEFAULT_ADMIN_URL
        from sip_load_engine import LoadSetup, run

        levels = [int(x) for x in args.levels.split(",")] if args.levels else None
        await run(
            LoadSetup(
                levels=levels or ([100, 300, 600, 1000] if args.full else [50, 100]),
                engines=args.engines,
                then_engines=args.then_engines or (3 if args.full else None),
                hold_s=args.hold_s or (60.0 if args.full else 15.0),
                ring_s=args.ring_s,
                leads=args.leads,
                baseline=not args.no_baseline,
                admin_url=args.admin_url or DEFAULT_ADMIN_URL,
                profile=args.profile,
                mix=args.mix,
            )
        )
        return
    levels = (
        [int(x) for x in args.levels.split(",")]
        if args.levels
        else ([100, 300, 600, 1000] if args.full else [50, 150])
    )
    cps_calls = args.cps_calls or (3000 if args.full else 600)
    ensure_sipp()
    make_amd = amd_factory()
    workdir = Path(tempfile.mkdtemp(prefix="sip_load_"))
    print(f"SIP platform load — {psutil.cpu_count()} CPUs, python {sys.version.split()[0]}")
    print("ramp: 60 % ring 1 s + answer (half human → REFER, half machine → BYE), 40 % busy")
    held = 0
    last_ok: dict[str, Any] | None = None
    for level in levels:
        row = await ramp_level(level, workdir, make_amd)
        if row["ok"]:
            held, last_ok = level, row
        print(
            f"  {level:5d} concurrent (peak {row['peak_in_flight']} in flight)  {row['calls']:5d} calls"
            f"  {'OK  ' if row['ok'] else 'LOST'}"
            f"  {row['cps']:6.1f} calls/s  CPU {row['cpu_ms_per_call']:6.2f} ms/call"
            f" ({100 * row['cpu_share']:.0f} % of a core)  RSS {row['rss_kib_per_call']:6.1f} KiB/call"
        )
        print(
            f"        mean call duration {row['seconds_per_call']:.1f} s (ring 1 s + audio + REFER)"
        )
        if not row["ok"]:
            print(f"        {row['detail']}")
            break
    print(f"max sustained concurrent calls with no lost outcome: {held}")
    figures.report(
        "max sustained concurrent calls, no lost outcome",
        held,
        "calls",
        goal=">= 1000 (--full ramp)",
        met=(held >= 1000) if max(levels) >= 1000 else None,
        note=f"ramp {','.join(map(str, levels))}",
    )
    if last_ok is not None:
        figures.report(
            f"CPU per call at {last_ok['level']} concurrent",
            last_ok["cpu_ms_per_call"],
            "ms",
            note=f"RSS {last_ok['rss_kib_per_call']:.0f} KiB/call",
        )
    print("media path (answer audio → decode → detector):")
    print(await media_phase(200 if not args.full else 1000, 100, workdir, make_amd))
    ours, baseline, cpu_ms = await cps_phase(cps_calls, workdir)
    print(
        f"calls/s (INVITE→200→ACK→200 ms audio→BYE, 200 in flight): dialer {ours:.0f}"
        f" (CPU {cpu_ms:.2f} ms/call, SIP + RTP only)"
    )
    print(f"calls/s SIPp -sn uac, same UAS, same call shape (-d 200 -l 200): {baseline:.0f}")
    print(f"ratio dialer / SIPp: {ours / baseline:.2f}")
    figures.report(
        "calls/s, INVITE→200→ACK→200 ms audio→BYE, 200 in flight",
        ours,
        "calls/s",
        baseline=baseline,
        baseline_name="SIPp -sn uac, same UAS and call shape",
        goal=">= 100",
        met=ours >= 100,
    )


if __name__ == "__main__":
    asyncio.run(main())
