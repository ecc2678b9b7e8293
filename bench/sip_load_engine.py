"""``bench/sip_load.py --engine``: the whole product under load, not the platform alone.

    .venv/bin/python bench/sip_load.py --engine             # levels 50, 100, held 15 s (< 3 min)
    .venv/bin/python bench/sip_load.py --engine --full      # 100, 300, 600, 1000 held 60 s,
                                                            # then the highest held with 3 engines
    .venv/bin/python bench/sip_load.py --engine --levels 300 --engines 2 --hold-s 30
    .venv/bin/python bench/sip_load.py --engine --levels 1000 --no-baseline --profile
    .venv/bin/python bench/sip_load.py --engine --mix amd --levels 100,200,380 --hold-s 40 \
        --ring-s 0.5 --no-baseline          # 300+ AMD streams at once: do they keep up?

The product as a site runs it, on one host:

- a scratch PostgreSQL database (created and dropped), migrated, with a STARTED
  campaign of ``--leads`` leads (100,000), AMD on (``amd_numpy``), routed by the
  ``static`` target, max attempts 1, and the SIP platform's options stored as the
  Master stores them (the ``platform.sip`` setting) with one port per call of the
  level;
- Kamailio (``tests/kamailio_proxy.py``) as registrar and authenticating proxy:
  every port registers through it with digest (401), every INVITE is challenged
  (407); authorized INVITEs go, by the number's last digit, to one of three SIPp
  UAS far ends (``tests/sipp``): 30 % a person ("hello?" → AMD HUMAN → REFER →
  NOTIFY 200 → lead SUCCESS), 30 % an answering machine (greeting → AMD MACHINE →
  BYE → lead AMD), 40 % busy (486 → lead BUSY); each rings ``--ring-s`` first;
- ``--engines`` K processes of ``opendialer serve --role engine`` (own node id,
  own SIP socket, own RTP range; the ports split between them by the platform's
  port leases), each with ``slots = max calls = level / K`` (default K = 1;
  ``--then-engines`` repeats the highest level held with more processes).

Per level: the engines start, reach the level, hold it ``--hold-s`` seconds, then
are stopped (SIGTERM: they drain their calls). A level *holds* when, in the
database, every lead dialed has exactly one call record with the outcome its number
asks for, no call record is left open and no lead is left claimed without an
outcome; and the mean in-flight count over the hold reached 90 % of the level.
Figures of the hold window: calls/s finished, CPU per call of the engines (and of
Kamailio and SIPp separately; PostgreSQL, a shared server, is not counted), engine
RSS per call above each engine's RSS once its /metrics answered, event-loop lag
p99 (the engines' ``opendialer_event_loop_lag_seconds``, scraped every second) and
worst, agent-free → originate (the INVITE is sent in originate) p99 from the
engines' call logs (without each engine's opening burst), and the mean call length
(mean in flight ÷ calls/s: a saturated dialer stretches calls). Then SIPp's own UAC
(``-sn uac``) keeps the same number of calls in flight, each as long as a call of the
first (lightest) level, against a SIPp UAS of the machine scenario directly: the
baseline of calls/s and CPU per call.

``--mix amd``: every call an answering machine whose greeting the campaign's AMD
waits out to its beep (MACHINE at 12.1 s of audio), so AMD streams overlap the most.
For every mix, when AMD listened, each level also prints the AMD streams at once
(the engines' ``opendialer_amd_streams``, mean and max over the hold), the processing
lag of their audio (``opendialer_amd_processing_lag_seconds`` over the hold, p50/p99;
each call's worst from its ``sip.call_end`` line), how long after its audio each
verdict came, and the verdicts' audio time against the detector run offline on the
far end's audio; a level whose lag p99 is over 0.5 s does not hold
(docs/performance.md, "AMD streams on one engine").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import trustme

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import figures
from kamailio_proxy import Kamailio, ensure_kamailio
from scratch_db import DEFAULT_ADMIN_URL, scratch_database, seed_started_campaign
from sipp_far_end import SippUas, audio, ensure_sipp, free_udp_port

from opendialer.core.engine.metrics import percentile
from opendialer.core.services import platform_config
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage.tables import Campaign

DOMAIN = "dialer.test"
PASSWORD = "load-secret"
SIPP_TOLERANT = ["-default_behaviors", "all,-abortunexp"]
#: the far ends' UDP receive buffer (SIPp's default is 64 KiB: the opening burst of a level
#: — every slot free at once — overflowed it)
SIPP_FAR_END = [*SIPP_TOLERANT, "-buff_size", "4194304"]
RTP_BASE, RTP_SPAN = 16000, 4000  # engine k binds RTP in RTP_BASE + k·RTP_SPAN … + span − 1
#: the number's last digit → (far end, the lead's final status, the call's disposition)
KINDS: dict[str, tuple[str, str, str]] = {
    **{d: ("human", "SUCCESS", "transferred") for d in "012"},
    **{d: ("machine", "AMD", "amd_hangup") for d in "345"},
    **{d: ("busy", "BUSY", "final_response") for d in "6789"},
}
#: ``--mix amd``: every number an answering machine, so that AMD streams overlap the most
AMD_KINDS: dict[str, tuple[str, str, str]] = {d: KINDS["3"] for d in "0123456789"}
GREETINGS = {"human": "human_hello.ulaw", "machine": "machine_greeting.ulaw"}
#: ``--mix amd``: the campaign waits for the machine's beep (12.1 s into the looping
#: greeting) instead of calling it MACHINE on its length at 4.4 s — as a voicemail drop
#: would —, so each call's AMD stream is long and fewer calls a second keep 300 running
AMD_MIX_PARAMS = {"greeting_ms": 15000, "total_analysis_time_ms": 15000}
AMD_TIMING = re.compile(
    r"amd=(\w+) .*amd_ms=([0-9.]+|None) amd_lag_ms=([0-9.]+) amd_delay_ms=([0-9.]+|None)"
)
#: a level holds only if AMD kept up: its processing lag p99 (a bucket bound) within 0.5 s
AMD_LAG_P99_MAX_S = 0.5
AMD_ACTIVE = re.compile(r"^opendialer_amd_streams (\S+)$", re.M)
AMD_LAG_BUCKET = re.compile(
    r'^opendialer_amd_processing_lag_seconds_bucket\{le="([^"]+)"\} (\S+)$', re.M
)
LATENCY = re.compile(r"originate_latency_ms=([0-9.]+)")
LAG = re.compile(r"^opendialer_event_loop_lag_seconds (\S+)$", re.M)
LAG_MAX = re.compile(r"^opendialer_event_loop_lag_max_seconds (\S+)$", re.M)


@dataclass(frozen=True)
class LoadSetup:
    levels: list[int]
    engines: int  # engine processes of each level of the ramp
    hold_s: float
    ring_s: float
    leads: int
    admin_url: str = DEFAULT_ADMIN_URL
    baseline: bool = True
    # After the ramp, the highest level held again with this many processes (what
    # splitting the engine costs and buys); None: not.
    then_engines: int | None = None
    profile: bool = False  # engines under cProfile (slower): where their CPU goes
    mix: str = "product"  # "product": KINDS; "amd": every call a machine (AMD_KINDS)

    @property
    def kinds(self) -> dict[str, tuple[str, str, str]]:
        return AMD_KINDS if self.mix == "amd" else KINDS

    @property
    def amd_params(self) -> dict[str, Any]:
        """The campaign's AMD parameters besides the strategy and ``on_notsure``."""
        return AMD_MIX_PARAMS if self.mix == "amd" else {}

    @property
    def amd_max_s(self) -> float:
        """The platform's cap on one call's AMD (``amd_max_s``), past the detector's own."""
        return 20.0 if self.mix == "amd" else 8.0


@dataclass
class LevelResult:
    level: int
    engines: int
    held: bool = False
    why: list[str] = field(default_factory=list)
    mean_in_flight: float = 0.0
    peak_in_flight: int = 0
    calls: int = 0  # finished in the hold window
    cps: float = 0.0
    engine_cpu_ms_per_call: float = 0.0
    engine_cores: float = 0.0
    kamailio_cpu_ms_per_call: float = 0.0
    sipp_cpu_ms_per_call: float = 0.0
    rss_kib_per_call: float = 0.0
    engine_rss_mib: float = 0.0
    lag_p99_ms: float | None = None
    lag_worst_ms: float | None = None
    invite_p99_ms: float | None = None
    invite_p50_ms: float | None = None
    dialed: int = 0  # leads with an outcome after the drain, all levels so far
    baseline_cps: float | None = None
    baseline_cpu_ms_per_call: float | None = None
    baseline_detail: str = ""
    amd_active_mean: float = 0.0  # AMD streams of the engines, scraped every second
    amd_active_max: float = 0.0
    amd_lag_p50_s: float | None = None  # upper bound of the bucket (processing lag)
    amd_lag_p99_s: float | None = None
    amd_lag_samples: int = 0
    #: per call that AMD listened to: verdict, its audio time (ms), worst processing lag
    #: (ms), verdict delay after its audio (ms; nan: no verdict while audio came, e.g. the
    #: platform's ``amd_max_s`` ended the analysis)
    amd_calls: list[tuple[str, float, float, float]] = field(default_factory=list)

    @property
    def call_s(self) -> float:
        """Mean call length over the hold (Little's law): it grows when the dialer lags."""
        return self.mean_in_flight / self.cps if self.cps else 0.0


# ------------------------------------------------------------------ the far ends


@dataclass
class FarEnds:
    """Kamailio and the three SIPp UAS behind it, for the whole run."""

    kamailio: Kamailio
    uas: dict[str, SippUas]

    def processes(self) -> list[psutil.Process]:
        found = []
        if self.kamailio.process is not None:
            main = psutil.Process(self.kamailio.process.pid)
            found += [main, *main.children(recursive=True)]
        return found

    def sipp_processes(self) -> list[psutil.Process]:
        return [psutil.Process(u.proc.pid) for u in self.uas.values() if u.proc is not None]


def answering_uas(kind: str, ring_s: float) -> SippUas:
    return SippUas(
        "uas_answer_rtp.xml",
        keys={"audio": audio(GREETINGS[kind]), "refer_result": "200 OK"},
        sets={"ring_ms": str(int(ring_s * 1000))},
        extra=SIPP_FAR_END,
    )


@contextmanager
def far_ends(
    workdir: Path, ports: int, ring_s: float, kinds: dict[str, tuple[str, str, str]]
) -> Iterator[FarEnds]:
    uas = {
        "human": answering_uas("human", ring_s),
        "machine": answering_uas("machine", ring_s),
        "busy": SippUas(
            "uas_busy_486.xml", sets={"ring_ms": str(int(ring_s * 1000))}, extra=SIPP_FAR_END
        ),
    }
    for far in uas.values():
        far.start(workdir)
    routes = tuple(
        (f"[{''.join(digits)}]$", uas[kind].address)
        for kind in uas
        if (digits := [d for d, k in kinds.items() if k[0] == kind])
    )
    kamailio = Kamailio(
        workdir / "kamailio",
        {port_user(i): PASSWORD for i in range(1, ports + 1)},
        trustme.CA(),
        domain=DOMAIN,
        far_ends=routes,
        debug=0,  # no WIRE line per message: at 1,000 calls the log would cost more than SIP
        shared_memory_mb=256,
        # SIPp sends its 100/180 once: one lost in a burst is never sent again, and tm's
        # default 5 s would end a call that rings 5 s with 408 (see docs/sip.md).
        no_reply_timeout_s=60,
    )
    try:
        kamailio.start()
        yield FarEnds(kamailio, uas)
    finally:
        kamailio.stop()
        for far in uas.values():
            far.stop()


def port_user(i: int) -> str:
    return f"port{i:04d}"


def sip_options(kamailio: Kamailio, ports: int) -> dict[str, Any]:
    """What the Master stores (System → Communication platform): ``ports`` accounts."""
    return {
        "server": kamailio.address("udp"),
        "transport": "udp",
        "domain": DOMAIN,
        "register": True,
        "ports": [
            {"user": port_user(i), "auth_user": port_user(i), "password": PASSWORD}
            for i in range(1, ports + 1)
        ],
        "caller_id": "4930123456",
        "no_answer_timeout_s": 30,
        "rtp_port_min": RTP_BASE,
        "rtp_port_max": RTP_BASE + RTP_SPAN - 1,
    }


# ------------------------------------------------------------------ the database


async def seed(url: str, leads: int, amd_params: dict[str, Any]) -> int:
    """The STARTED campaign, AMD on, and its ``leads`` leads in one INSERT."""
    campaign_id = await seed_started_campaign(0, routing_target="static", prefix="load")
    await (
        Campaign.update(
            {
                Campaign.amd_enabled: True,
                Campaign.amd_params: json.dumps(
                    {"strategy": "numpy", "on_notsure": "hangup", **amd_params}
                ),
            }
        )
        .where(Campaign.id == campaign_id)
        .run()
    )
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO lead (campaign, name, description, phone, attempts, status, "
            "next_attempt_at, updated_at) SELECT $1, 'load ' || i, '', "
            "'1777' || lpad(i::text, 7, '0'), 0, 'NOT_CALLED', now() - interval '1 minute' "
            "+ i * interval '1 microsecond', now() FROM generate_series(0, $2 - 1) AS i",
            campaign_id,
            leads,
        )
        await conn.execute("ANALYZE lead")
    finally:
        await conn.close()
    return campaign_id


async def store_platform(kamailio: Kamailio, ports: int) -> None:
    await platform_config.update_platform_config(SYSTEM, sip_options(kamailio, ports), "sip")


async def in_flight(conn: asyncpg.Connection, campaign_id: int) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM call_record WHERE campaign = $1 AND status IS NULL", campaign_id
        )
    )


async def finished(conn: asyncpg.Connection, campaign_id: int) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM call_record WHERE campaign = $1 AND status IS NOT NULL",
            campaign_id,
        )
    )


async def audit(
    conn: asyncpg.Connection, campaign_id: int, kinds: dict[str, tuple[str, str, str]]
) -> tuple[int, list[str]]:
    """After the engines drained: leads with an outcome, and what is wrong (empty: none)."""
    wrong: list[str] = []
    twice = await conn.fetchval(
        "SELECT count(*) FROM (SELECT lead FROM call_record WHERE campaign = $1 "
        "GROUP BY lead HAVING count(*) > 1) AS t",
        campaign_id,
    )
    if twice:
        wrong.append(f"{twice} leads dialed more than once")
    still_open = await in_flight(conn, campaign_id)
    if still_open:
        wrong.append(f"{still_open} call records without an outcome")
    claimed = await conn.fetchval(
        "SELECT count(*) FROM lead WHERE campaign = $1 AND status = 'NOT_CALLED' "
        "AND next_attempt_at IS NULL",
        campaign_id,
    )
    if claimed:
        wrong.append(f"{claimed} leads claimed and left without an outcome (lost)")
    rows = await conn.fetch(
        "SELECT right(l.phone, 1) AS digit, l.status, c.disposition, count(*) AS n "
        "FROM lead l LEFT JOIN call_record c ON c.lead = l.id "
        "WHERE l.campaign = $1 AND l.status <> 'NOT_CALLED' GROUP BY 1, 2, 3",
        campaign_id,
    )
    dialed = 0
    unexpected: dict[str, int] = {}
    for row in rows:
        dialed += row["n"]
        kind, status, disposition = kinds[row["digit"]]
        if (row["status"], row["disposition"]) != (status, disposition):
            key = f"{kind} → {row['status']}/{row['disposition']}"
            unexpected[key] = unexpected.get(key, 0) + row["n"]
    if unexpected:
        wrong.append(f"unexpected outcomes {unexpected}")
    return dialed, wrong


# ------------------------------------------------------------------ the engines


@dataclass
class EngineProcess:
    node: str
    metrics_port: int
    log: Path
    proc: subprocess.Popen[bytes]
    idle_rss: int | None = None

    @property
    def ps(self) -> psutil.Process:
        return psutil.Process(self.proc.pid)


def spawn_engines(
    url: str,
    workdir: Path,
    level: int,
    count: int,
    *,
    profile: bool = False,
    amd_max_s: float = 8.0,
) -> list[EngineProcess]:
    share = math.ceil(level / count)
    engines = []
    for k in range(count):
        node = f"load-{level}-{count}-{k}"
        port = free_udp_port()
        options = {
            "bind_host": "127.0.0.1",
            "node_rtp_port_min": RTP_BASE + k * RTP_SPAN,
            "node_rtp_port_max": RTP_BASE + (k + 1) * RTP_SPAN - 1,
            "amd_max_s": amd_max_s,
        }
        env = dict(
            os.environ,
            OPENDIALER_DATABASE_URL=url,
            OPENDIALER_DATA_DIR=str(workdir),
            OPENDIALER_NODE_ID=node,
            OPENDIALER_PLATFORM="sip",
            OPENDIALER_PLATFORM_OPTIONS=json.dumps(options),
            OPENDIALER_MAX_CALLS=str(share),
            OPENDIALER_ROUTING_OPTIONS=json.dumps({"static": {"slots": share}}),
            OPENDIALER_METRICS_ALLOW="127.0.0.1",
        )
        log = workdir / f"{node}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    *(("-m", "cProfile", "-o", str(workdir / f"{node}.prof")) if profile else ()),
                    *("-m", "opendialer.cli", "serve", "--role", "engine"),
                    *("--metrics-port", str(port)),
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        engines.append(EngineProcess(node, port, log, proc))
    return engines


async def scrape(client: httpx.AsyncClient, engine: EngineProcess) -> str | None:
    try:
        answer = await client.get(f"http://127.0.0.1:{engine.metrics_port}/metrics", timeout=2)
    except httpx.HTTPError:
        return None
    return answer.text if answer.status_code == 200 else None


async def stop_engines(engines: list[EngineProcess], timeout_s: float = 120) -> None:
    for engine in engines:
        if engine.proc.poll() is None:
            engine.proc.send_signal(signal.SIGTERM)
    for engine in engines:
        try:
            await asyncio.to_thread(engine.proc.wait, timeout_s)
        except subprocess.TimeoutExpired:
            engine.proc.kill()
            await asyncio.to_thread(engine.proc.wait, 10)


def cpu_s(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def rss(processes: list[psutil.Process]) -> int:
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


# ------------------------------------------------------------------ one level


async def run_level(
    setup: LoadSetup,
    url: str,
    campaign_id: int,
    ends: FarEnds,
    workdir: Path,
    level: int,
    count: int,
) -> LevelResult:
    result = LevelResult(level, count)
    await store_platform(ends.kamailio, level)
    engines = spawn_engines(
        url, workdir, level, count, profile=setup.profile, amd_max_s=setup.amd_max_s
    )
    conn = await asyncpg.connect(url)
    try:
        async with httpx.AsyncClient() as client:
            await reach_level(setup, conn, client, campaign_id, engines, result)
            if not result.why:
                await hold_level(setup, conn, client, campaign_id, engines, ends, result)
        await stop_engines(engines)
        result.dialed, wrong = await audit(conn, campaign_id, setup.kinds)
        result.why += wrong
    finally:
        await stop_engines(engines, 10)
        await conn.close()
    steady = []
    for engine in engines:
        text = engine.log.read_text(errors="replace")
        samples = [float(x) for x in LATENCY.findall(text)]
        steady += samples[math.ceil(level / count) :]  # without the opening burst
        result.amd_calls += [
            (label, _number(ms), float(lag), _number(delay))
            for label, ms, lag, delay in AMD_TIMING.findall(text)
        ]
    result.invite_p50_ms, result.invite_p99_ms = percentile(steady, 50), percentile(steady, 99)
    for engine in engines:
        if engine.proc.returncode not in (0, -signal.SIGTERM):
            result.why.append(f"{engine.node} exited {engine.proc.returncode}")
    if result.amd_lag_p99_s is not None and result.amd_lag_p99_s > AMD_LAG_P99_MAX_S:
        result.why.append(
            f"AMD fell behind the audio: processing lag p99 ≤ {fmt_s(result.amd_lag_p99_s)} "
            f"(over {fmt_s(AMD_LAG_P99_MAX_S)})"
        )
    result.held = not result.why
    if setup.profile:
        print_profile([workdir / f"{e.node}.prof" for e in engines])
    return result


def _number(text: str) -> float:
    return math.nan if text == "None" else float(text)


def print_profile(files: list[Path], top: int = 25) -> None:
    """The engines' functions by own time (cProfile: the shares, not the absolute times)."""
    import pstats

    found = [str(f) for f in files if f.exists()]
    if not found:
        print("        (no profile written)")
        return
    stats = pstats.Stats(*found)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
    print(f"        profile of {len(found)} engine(s), own time, {total:.1f} s in all:")
    for (path, line, name), (_cc, calls, own, _cum, _callers) in rows[:top]:
        where = "/".join(Path(path).parts[-2:]) if path != "~" else "builtin"
        print(f"          {100 * own / total:5.1f} %  {calls:>9,}  {name} ({where}:{line})")


async def reach_level(
    setup: LoadSetup,
    conn: asyncpg.Connection,
    client: httpx.AsyncClient,
    campaign_id: int,
    engines: list[EngineProcess],
    result: LevelResult,
) -> None:
    """Wait for every engine's /metrics (its idle RSS), then for 90 % of the level in flight."""
    deadline = time.monotonic() + 60 + result.level / 10 + 2 * setup.ring_s
    while time.monotonic() < deadline:
        for engine in engines:
            if engine.proc.poll() is not None:
                result.why.append(f"{engine.node} exited {engine.proc.returncode} at start")
                return
            if engine.idle_rss is None and await scrape(client, engine) is not None:
                engine.idle_rss = engine.ps.memory_info().rss
        if all(e.idle_rss is not None for e in engines) and (
            await in_flight(conn, campaign_id) >= 0.9 * result.level
        ):
            return
        await asyncio.sleep(0.5)
    now = await in_flight(conn, campaign_id)
    result.why.append(f"only {now} of {result.level} calls in flight after the ramp")


async def hold_level(
    setup: LoadSetup,
    conn: asyncpg.Connection,
    client: httpx.AsyncClient,
    campaign_id: int,
    engines: list[EngineProcess],
    ends: FarEnds,
    result: LevelResult,
) -> None:
    engine_ps = [e.ps for e in engines]
    kamailio_ps, sipp_ps = ends.processes(), ends.sipp_processes()
    cpu0 = (cpu_s(engine_ps), cpu_s(kamailio_ps), cpu_s(sipp_ps))
    done0, started = await finished(conn, campaign_id), time.monotonic()
    flights, lags, worst, peak_rss = [], [], [], 0
    amd_active: list[float] = []
    first_buckets: dict[str, dict[float, float]] = {}
    last_buckets: dict[str, dict[float, float]] = {}
    while (elapsed := time.monotonic() - started) < setup.hold_s:
        flights.append(await in_flight(conn, campaign_id))
        peak_rss = max(peak_rss, rss(engine_ps))
        streams_now = 0.0
        for engine in engines:
            text = await scrape(client, engine)
            if text is None:
                continue
            streams_now += amd_streams_now(text)
            if found := LAG.search(text):
                lags.append(float(found.group(1)) * 1000)
            if found := LAG_MAX.search(text):
                worst.append(float(found.group(1)) * 1000)
            buckets = {float(le): float(n) for le, n in AMD_LAG_BUCKET.findall(text)}
            if buckets:
                first_buckets.setdefault(engine.node, buckets)
                last_buckets[engine.node] = buckets
        amd_active.append(streams_now)
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started - elapsed)))
    elapsed = time.monotonic() - started
    calls = await finished(conn, campaign_id) - done0
    cpu1 = (cpu_s(engine_ps), cpu_s(kamailio_ps), cpu_s(sipp_ps))
    per_call = [1000 * (b - a) / max(calls, 1) for a, b in zip(cpu0, cpu1, strict=True)]
    result.calls, result.cps = calls, calls / elapsed
    result.engine_cpu_ms_per_call, result.kamailio_cpu_ms_per_call = per_call[0], per_call[1]
    result.sipp_cpu_ms_per_call = per_call[2]
    result.engine_cores = (cpu1[0] - cpu0[0]) / elapsed
    result.mean_in_flight = sum(flights) / max(len(flights), 1)
    result.peak_in_flight = max(flights, default=0)
    idle = sum(e.idle_rss or 0 for e in engines)
    result.engine_rss_mib = peak_rss / 2**20
    result.rss_kib_per_call = (peak_rss - idle) / 1024 / result.level
    result.lag_p99_ms = percentile(lags, 99)
    result.amd_active_mean = sum(amd_active) / max(len(amd_active), 1)
    result.amd_active_max = max(amd_active, default=0.0)
    hold = histogram_delta(first_buckets, last_buckets)
    result.amd_lag_samples = int(max(hold.values(), default=0))
    result.amd_lag_p50_s = bucket_quantile(hold, 0.50)
    result.amd_lag_p99_s = bucket_quantile(hold, 0.99)
    result.lag_worst_ms = max(worst, default=None)
    if result.mean_in_flight < 0.9 * result.level:
        result.why.append(
            f"mean {result.mean_in_flight:.0f} calls in flight over the hold, "
            f"below 90 % of {result.level}"
        )


def amd_streams_now(text: str) -> float:
    found = AMD_ACTIVE.search(text)
    return float(found.group(1)) if found else 0.0


def histogram_delta(
    first: dict[str, dict[float, float]], last: dict[str, dict[float, float]]
) -> dict[float, float]:
    """The engines' cumulative lag buckets counted during the hold (summed over engines)."""
    total: dict[float, float] = {}
    for node, buckets in last.items():
        before = first.get(node, {})
        for bound, count in buckets.items():
            total[bound] = total.get(bound, 0.0) + count - before.get(bound, 0.0)
    return total


def bucket_quantile(cumulative: dict[float, float], q: float) -> float | None:
    """The upper bound of the bucket holding quantile ``q`` (a histogram gives no more)."""
    if not cumulative or max(cumulative.values()) <= 0:
        return None
    total = max(cumulative.values())
    for bound in sorted(cumulative):
        if cumulative[bound] >= q * total:
            return bound
    return math.inf


def offline_verdict(kind: str, params: dict[str, Any]) -> tuple[str, float]:
    """What ``amd_numpy`` (the campaign's parameters) says on the far end's looping audio, fed
    20 ms at a time as the platform would: the verdict each call of that far end should get
    at the same audio time."""
    import numpy as np

    from opendialer.plugins.amd_numpy.detector import NumpyAmdSession
    from opendialer.plugins.amd_numpy.params import parse_params
    from opendialer.plugins.platform_sip import g711

    raw = (Path(audio(GREETINGS[kind]).split(",")[0])).read_bytes()
    pcm = g711.decode(raw * 3, 0)
    session = NumpyAmdSession(parse_params(params))
    for start in range(0, len(pcm), 160):
        decision = session.feed(np.asarray(pcm[start : start + 160]))
        if decision is not None:
            return decision.label.value, decision.decision_ms
    decision = session.finish()
    return decision.label.value, decision.decision_ms


# ------------------------------------------------------------------ SIPp's own UAC


async def sipp_baseline(level: int, call_s: float, ring_s: float, workdir: Path) -> LevelResult:
    """SIPp ``-sn uac`` keeping ``level`` calls of ``call_s`` (ring included) in flight
    against a SIPp UAS of the machine scenario, directly: calls/s and its CPU per call."""
    result = LevelResult(level, 0)
    calls = max(2 * level, 20)
    uas = answering_uas("machine", ring_s).start(workdir)
    hold_ms = max(100, int(1000 * (call_s - ring_s)))
    command = [
        ensure_sipp(), "-sn", "uac", uas.address, "-i", "127.0.0.1", "-p", str(free_udp_port()),
        "-mi", "127.0.0.1", "-mp", str(free_udp_port(even=True)), "-s", "17770000003",
        "-m", str(calls), "-l", str(level), "-r", str(max(10, level)), "-d", str(hold_ms),
        "-max_socket", "4000", "-nostdin", *SIPP_TOLERANT,
    ]  # fmt: skip
    try:
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        uac = psutil.Process(proc.pid)
        cpu = 0.0
        while proc.returncode is None:
            cpu = max(cpu, cpu_s([uac]))  # its last reading before it exits
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 0.2)
        elapsed = time.perf_counter() - started
        uas_cpu = cpu_s([psutil.Process(uas.proc.pid)]) if uas.proc else 0.0
    finally:
        uas.stop()
    result.cps = calls / elapsed
    result.calls = calls
    result.baseline_cpu_ms_per_call = 1000 * (cpu + uas_cpu) / calls
    result.held = proc.returncode == 0
    result.baseline_detail = f"rc {proc.returncode}, call {call_s:.1f} s"
    return result


# ------------------------------------------------------------------ the run


def print_level(row: LevelResult, setup: LoadSetup) -> None:
    print(
        f"  {row.level:5d} concurrent, {row.engines} engine process(es): "
        f"{'HELD' if row.held else 'NOT HELD'}  in flight mean {row.mean_in_flight:.0f} "
        f"peak {row.peak_in_flight}  {row.calls} calls in the hold, {row.cps:6.1f} calls/s, "
        f"mean call {row.call_s:.1f} s",
        flush=True,
    )
    print(
        f"        CPU/call: engines {row.engine_cpu_ms_per_call:6.2f} ms "
        f"({100 * row.engine_cores:.0f} % of a core), Kamailio "
        f"{row.kamailio_cpu_ms_per_call:5.2f} ms, SIPp UAS {row.sipp_cpu_ms_per_call:5.2f} ms;"
        f"  engine RSS {row.engine_rss_mib:.0f} MiB, {row.rss_kib_per_call:.0f} KiB/call"
        f" above idle",
        flush=True,
    )
    print(
        f"        event-loop lag p99 {fmt_ms(row.lag_p99_ms)} (worst {fmt_ms(row.lag_worst_ms)});"
        f"  agent-free → INVITE p50 {fmt_ms(row.invite_p50_ms)} p99 {fmt_ms(row.invite_p99_ms)};"
        f"  leads with an outcome so far {row.dialed:,}",
        flush=True,
    )
    if row.baseline_cps is not None:
        print(
            f"        SIPp -sn uac, {row.level} in flight, calls as long as at the first level: "
            f"{row.baseline_cps:6.1f} calls/s, CPU (UAC + UAS) {row.baseline_cpu_ms_per_call:.2f}"
            f" ms/call ({row.baseline_detail})",
            flush=True,
        )
    if row.amd_calls:
        print_amd(row, setup.amd_params, setup.kinds)
    for why in row.why:
        print(f"        ✗ {why}", flush=True)


def print_amd(
    row: LevelResult, params: dict[str, Any], kinds: dict[str, tuple[str, str, str]]
) -> None:
    """Whether AMD kept up: streams at once, processing lag, verdicts against offline."""
    lags = [c[2] for c in row.amd_calls]
    delays = [c[3] for c in row.amd_calls if not math.isnan(c[3])]
    print(
        f"        AMD streams at once over the hold: mean {row.amd_active_mean:.0f}, max "
        f"{row.amd_active_max:.0f};  processing lag (audio received → analysed, "
        f"{row.amd_lag_samples} batches in the hold) p50 ≤ {fmt_s(row.amd_lag_p50_s)}, "
        f"p99 ≤ {fmt_s(row.amd_lag_p99_s)};  per call ({len(lags)} calls): worst lag p50 "
        f"{fmt_ms(percentile(lags, 50))} p99 {fmt_ms(percentile(lags, 99))} max "
        f"{fmt_ms(max(lags))}",
        flush=True,
    )
    print(
        f"        verdict after its audio arrived (lag + ≤ 200 ms batch + ≤ 100 ms block): "
        f"p50 {fmt_ms(percentile(delays, 50))} p99 {fmt_ms(percentile(delays, 99))} max "
        f"{fmt_ms(max(delays, default=None))}; {len(lags) - len(delays)} calls without a "
        f"verdict from their audio (the platform's amd_max_s cut the analysis short)",
        flush=True,
    )
    answering = sorted({k[0] for k in kinds.values()} & set(GREETINGS))
    for kind in answering:
        label, ms = offline_verdict(kind, params)
        calls = [c for c in row.amd_calls if c[0] == label]
        if not calls:
            continue
        same = sum(1 for c in calls if c[1] == ms)
        times = sorted({c[1] for c in calls if not math.isnan(c[1])})
        # with one answering far end, every other verdict is a wrong one
        others = Counter(c[0] for c in row.amd_calls if c[0] != label and len(answering) == 1)
        print(
            f"        {kind} far end: offline {label} at {ms:.0f} ms of audio; on the wire "
            f"{len(calls)} {label} verdicts, {same} at that audio time"
            f" (audio times seen: {', '.join(f'{t:.0f}' for t in times[:6])}"
            f"{' …' if len(times) > 6 else ''} ms)"
            + (f"; other verdicts {dict(others)}" if len(answering) == 1 else ""),
            flush=True,
        )


def fmt_s(value: float | None) -> str:
    return "—" if value is None else f"{1000 * value:.0f} ms"


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} ms"


def report_figures(setup: LoadSetup, rows: list[LevelResult]) -> None:
    held = [r for r in rows if r.held]
    best = max(held, key=lambda r: r.level, default=None)
    ramp = ",".join(map(str, setup.levels))
    figures.report(
        "engine mode: max concurrent calls held, every outcome right, no lead lost",
        best.level if best else 0,
        "calls",
        goal=">= 1000",
        met=(best is not None and best.level >= 1000) if max(setup.levels) >= 1000 else None,
        note=f"ramp {ramp}, {best.engines if best else '?'} engine process(es), "
        f"ring {setup.ring_s:g} s",
    )
    for row in rows:
        verdict = "held" if row.held else "NOT held"
        tag = f"engine mode at {row.level} ({row.engines} proc, {verdict})"
        figures.report(
            f"{tag}: calls/s",
            row.cps,
            "calls/s",
            baseline=row.baseline_cps,
            baseline_name=f"SIPp -sn uac, {row.level} in flight, calls as long as at the first level",
        )
        figures.report(
            f"{tag}: engine CPU per call",
            row.engine_cpu_ms_per_call,
            "ms",
            baseline=row.baseline_cpu_ms_per_call,
            baseline_name="SIPp UAC + UAS CPU per call",
            note=f"Kamailio {row.kamailio_cpu_ms_per_call:.2f} ms, SIPp UAS "
            f"{row.sipp_cpu_ms_per_call:.2f} ms",
        )
        figures.report(
            f"{tag}: mean call length (in flight ÷ calls/s)",
            row.call_s,
            "s",
            note=f"ring {setup.ring_s:g} s; mean {row.mean_in_flight:.0f} in flight",
        )
        figures.report(f"{tag}: engine RSS per call above idle", row.rss_kib_per_call, "KiB")
        figures.report(
            f"{tag}: event-loop lag p99",
            row.lag_p99_ms,
            "ms",
            note=f"worst {fmt_ms(row.lag_worst_ms)}",
        )
        figures.report(f"{tag}: agent-free → INVITE p99", row.invite_p99_ms, "ms")
        if row.amd_calls:
            figures.report(
                f"{tag}: AMD streams at once, mean over the hold",
                row.amd_active_mean,
                "streams",
                note=f"max {row.amd_active_max:.0f}",
            )
            figures.report(
                f"{tag}: AMD processing lag p99 (bucket bound)",
                None if row.amd_lag_p99_s is None else 1000 * row.amd_lag_p99_s,
                "ms",
                goal="<= 500",
                met=None if row.amd_lag_p99_s is None else row.amd_lag_p99_s <= AMD_LAG_P99_MAX_S,
            )


async def run(setup: LoadSetup) -> list[LevelResult]:
    ensure_sipp()
    ensure_kamailio()
    workdir = Path(tempfile.mkdtemp(prefix="sip_load_engine_"))
    print(
        f"product load (engine mode) — {psutil.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}, {setup.leads:,} leads, ring {setup.ring_s:g} s, "
        f"hold {setup.hold_s:g} s per level; logs in {workdir}",
        flush=True,
    )
    mix = (
        "every call an answering machine (AMD waits for its beep: MACHINE at 12.1 s of audio → BYE)"
        if setup.mix == "amd"
        else "30 % person (AMD HUMAN → REFER → NOTIFY 200), 30 % machine (AMD → BYE), "
        "40 % busy (486)"
    )
    print(
        f"  mix: {mix}, all through Kamailio (digest REGISTER and INVITE)",
        flush=True,
    )
    rows: list[LevelResult] = []
    async with scratch_database(setup.admin_url, pool_size=5) as (url, _db):
        started = time.perf_counter()
        campaign_id = await seed(url, setup.leads, setup.amd_params)
        print(f"  {setup.leads:,} leads seeded in {time.perf_counter() - started:.1f} s")
        with far_ends(workdir, max(setup.levels), setup.ring_s, setup.kinds) as ends:
            runs = [(level, setup.engines) for level in setup.levels]
            repeated = False
            while runs:
                level, count = runs.pop(0)
                row = await run_level(setup, url, campaign_id, ends, workdir, level, count)
                if setup.baseline:
                    # The call length of the first (lightest) level: what a call lasts when
                    # the dialer keeps up — at the same length SIPp would have the same rate
                    # by Little's law, so the stretch under load is what the ratio shows.
                    call_s = (rows[0] if rows else row).call_s
                    base = await sipp_baseline(level, call_s, setup.ring_s, workdir)
                    row.baseline_cps = base.cps
                    row.baseline_cpu_ms_per_call = base.baseline_cpu_ms_per_call
                    row.baseline_detail = base.baseline_detail
                rows.append(row)
                print_level(row, setup)
                if not row.held:
                    runs = [r for r in runs if r[1] != setup.engines]  # the ramp ends here
                if setup.then_engines and not runs and not repeated:
                    repeated = True
                    best = max((r.level for r in rows if r.held), default=None)
                    if best is not None:
                        runs.append((best, setup.then_engines))
    print(
        f"highest level held: {max((r.level for r in rows if r.held), default=0)}; "
        f"load average now {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    report_figures(setup, rows)
    return rows
