"""Do-Not-Call lookups: the embedded index in process, ``POST /donotcall`` over
loopback with 50 concurrent clients, and Redis ``SISMEMBER`` on the same numbers.

    python bench/dnc.py                 # 1,000,000 numbers, SQLite in a temp folder
    python bench/dnc.py --full          # 10,000,000 numbers (+ load time and RSS)
    python bench/dnc.py --full --database-url postgresql://postgres@127.0.0.1:5432/bench

The load figure is a fresh process starting the embedded provider, split into
DB read, parse and sort/index, then an append of 1,000 numbers timed from the
import's commit until that process answers from the merged index.

Prints figures; asserts nothing. Redis is the local one at 127.0.0.1:6379 (keys
under ``opendialer-bench:<pid>:``, deleted at the end); it is skipped with a note
when not reachable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import figures
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opendialer.sdk import NumberIndex, sorted_unique  # noqa: E402

CLIENTS = 50


def random_numbers(n: int, seed: int = 7) -> np.ndarray:
    """n distinct Brazilian mobile-like numbers 55 + 2-digit area + 9 + 8 digits."""
    rng = np.random.default_rng(seed)
    numbers = sorted_unique(5511900000000 + rng.integers(0, 89_099_999_999, size=int(n * 1.02)))
    rng.shuffle(numbers)
    return numbers[:n]


def probes_for(numbers: np.ndarray, count: int) -> np.ndarray:
    """Half listed, half (almost surely) not."""
    rng = np.random.default_rng(11)
    listed = rng.choice(numbers, size=count // 2)
    other = 5511900000000 + rng.integers(0, 89_099_999_999, size=count - count // 2)
    probes = np.concatenate([listed, other])
    rng.shuffle(probes)
    return probes


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>14,.0f}/s"


# -- in process ----------------------------------------------------------------


def bench_in_process(numbers: np.ndarray) -> None:
    started = time.perf_counter()
    index = NumberIndex(numbers)
    build = time.perf_counter() - started
    print(
        f"index build (sort {numbers.size:,})        {build:8.2f} s   {index.nbytes / 2**20:.0f} MiB"
    )
    probes = probes_for(numbers, 1_000_000)
    started = time.perf_counter()
    hits = index.contains_many(probes)
    batch = time.perf_counter() - started
    print(
        f"in process, batch of 1M (vectorised)  {rate(probes.size, batch)}   {hits.mean():.0%} listed"
    )
    figures.report(
        f"in process, batch of 1M, {numbers.size:,} listed",
        probes.size / batch,
        "lookups/s",
        baseline="redis SISMEMBER, pipelines of 1000",
    )
    singles = [int(p) for p in probes[:200_000]]
    started = time.perf_counter()
    for p in singles:
        _ = p in index
    single = time.perf_counter() - started
    print(f"in process, one at a time             {rate(len(singles), single)}")
    figures.report(
        "in process, one at a time",
        len(singles) / single,
        "lookups/s",
        baseline="redis SISMEMBER, one round trip each",
    )


# -- database, load time and RSS (in a child process) --------------------------


async def import_list(url: str, numbers: np.ndarray, folder: Path) -> None:
    from opendialer.core.services import dnc_numbers
    from opendialer.core.services.common import SYSTEM
    from opendialer.core.storage import connect
    from opendialer.core.storage.migrate import migrate

    listing = folder / "dnc.txt"
    np.savetxt(listing, numbers, fmt="%d")
    db = await connect(url)
    try:
        await migrate(db)
        started = time.perf_counter()
        report = await dnc_numbers.import_numbers(
            SYSTEM, listing, replace=True, number_format="e164"
        )
        seconds = time.perf_counter() - started
    finally:
        await db.close()
    print(
        f"import (e164 file → {db.dialect}, replace)   {seconds:8.2f} s   "
        f"{report.on_list:,} on the list ({numbers.size / seconds:,.0f} numbers/s)"
    )


def peak_rss_mb() -> float:
    """This process's own high-water mark (VmHWM). Not ru_maxrss: Linux carries that
    across fork+exec, so a child would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_load(url: str) -> None:
    """Run in a fresh process: load the list like a node does; print JSON figures."""
    import psutil

    from opendialer.core import dnc
    from opendialer.core.services import dnc_numbers
    from opendialer.core.services.common import SYSTEM
    from opendialer.core.storage import connect
    from opendialer.plugins.dnc_embedded.provider import EmbeddedDncProvider

    async def body() -> dict[str, object]:
        db = await connect(url)
        rss_before = psutil.Process().memory_info().rss
        started = time.perf_counter()
        provider = await dnc.provider_for(await dnc_numbers.find_service())
        seconds = time.perf_counter() - started
        rss_after = psutil.Process().memory_info().rss
        assert isinstance(provider, EmbeddedDncProvider) and provider.last_load is not None
        full = provider.last_load
        count = len(provider)
        # An append of 1,000 numbers while the node runs: from the import's commit to
        # the node answering from the merged index (notification or poll, then delta).
        more = "\n".join(str(5599900000000 + i) for i in range(1000)).encode()
        report = await dnc_numbers.import_numbers(SYSTEM, more, number_format="e164")
        committed = time.perf_counter()
        while provider.list_version != report.list_version:
            if time.perf_counter() - committed > 60:
                raise RuntimeError("the append was not seen within 60 s")
            await asyncio.sleep(0.005)
        seen_s = time.perf_counter() - committed
        delta = provider.last_load
        listening = provider.listening
        await dnc.close_all()
        await db.close()
        return {
            "numbers": count,
            "load_s": seconds,
            "read_s": full.read_s,
            "parse_s": full.parse_s,
            "index_s": full.index_s,
            "rss_mb": rss_after / 2**20,
            "rss_growth_mb": (rss_after - rss_before) / 2**20,
            "peak_rss_mb": peak_rss_mb(),
            "append_seen_s": seen_s,
            "append_kind": delta.kind if delta else "?",
            "append_apply_s": delta.total_s if delta else 0.0,
            "listening": listening,
        }

    print(json.dumps(asyncio.run(body())))


def bench_load(url: str) -> None:
    child = subprocess.run(
        [sys.executable, __file__, "--child-load", url], capture_output=True, text=True, check=True
    )
    load = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"node load of the list (fresh process)  {load['load_s']:8.2f} s   "
        f"{load['numbers']:,} numbers; RSS {load['rss_mb']:.0f} MiB "
        f"(+{load['rss_growth_mb']:.0f} MiB for the list), peak {load['peak_rss_mb']:.0f} MiB"
    )
    print(
        f"  of which: DB read {load['read_s']:.2f} s, parse {load['parse_s']:.2f} s, "
        f"sort/index {load['index_s']:.2f} s (rest: connect, version check, start)"
    )
    how = "LISTEN/NOTIFY" if load["listening"] else "version poll"
    print(
        f"append of 1,000 seen by that node      {load['append_seen_s']:8.2f} s   "
        f"after the import's commit ({how}; applied as {load['append_kind']} "
        f"in {load['append_apply_s']:.2f} s)"
    )
    ten_million = load["numbers"] >= 10_000_000  # the goals are for 10M numbers (--full)
    size = f"{load['numbers']:,} numbers"
    figures.report(
        f"node load of the list, {size}",
        load["load_s"],
        "s",
        goal="< 10 s at 10,000,000",
        met=load["load_s"] < 10 if ten_million else None,
    )
    figures.report(
        f"RSS for the list, {size}",
        load["rss_growth_mb"],
        "MiB",
        goal="< 300 MB resident at 10,000,000",
        met=load["rss_mb"] < 300 * 1e6 / 2**20 if ten_million else None,
        note=f"process RSS {load['rss_mb']:.0f} MiB",
    )
    figures.report(
        "append of 1,000 seen by another node",
        load["append_seen_s"],
        "s",
        goal="within 5 s",
        met=load["append_seen_s"] <= 5,
    )


# -- POST /donotcall over loopback ------------------------------------------------


def child_serve(url: str, port: int) -> None:
    import uvicorn
    from litestar import Litestar

    from opendialer.admin_ui.donotcall import DONOTCALL_ROUTES
    from opendialer.core.storage import connect

    async def open_db(app: Litestar) -> None:
        app.state.db = await connect(url)

    app = Litestar(route_handlers=DONOTCALL_ROUTES, on_startup=[open_db])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def http_load(port: int, numbers: list[int], seconds: float) -> tuple[int, int]:
    """50 keep-alive connections, one request in flight each, for ``seconds``."""
    done = 0
    listed = 0
    deadline = time.perf_counter() + seconds

    async def client(offset: int) -> None:
        nonlocal done, listed
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = offset
        while time.perf_counter() < deadline:
            body = b'{"number": "%d"}' % numbers[i % len(numbers)]
            writer.write(
                b"POST /donotcall HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(body), body)
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            answer = await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"unexpected answer: {head!r} {answer!r}")
            done += 1
            listed += b"true" in answer
            i += CLIENTS
        writer.close()

    await asyncio.gather(*(client(k) for k in range(CLIENTS)))
    return done, listed


def bench_http(url: str, numbers: np.ndarray, seconds: float) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--child-serve", url, str(port)])
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        probes = [int(p) for p in probes_for(numbers, 100_000)]
        asyncio.run(http_load(port, probes[:1000], 1.0))  # warm up: loads the list
        started = time.perf_counter()
        done, listed = asyncio.run(http_load(port, probes, seconds))
        elapsed = time.perf_counter() - started
        print(
            f"POST /donotcall, {CLIENTS} clients, loopback   {rate(done, elapsed)}   "
            f"({done:,} requests, {listed / max(done, 1):.0%} listed; client and server share the CPU)"
        )
        figures.report(
            f"POST /donotcall, {CLIENTS} clients, loopback",
            done / elapsed,
            "requests/s",
            baseline=f"redis SISMEMBER, {CLIENTS} asyncio clients",
        )
    finally:
        server.terminate()
        server.wait(10)


# -- Redis baseline -----------------------------------------------------------------


def bench_redis(numbers: np.ndarray, seconds: float) -> None:
    try:
        import redis
        import redis.asyncio as aredis
    except ImportError:
        print("redis: the 'redis' package is not installed (pip install -e '.[test]')")
        return
    key = f"opendialer-bench:{os.getpid()}:dnc"
    r = redis.Redis(host="127.0.0.1", port=6379)
    try:
        r.ping()
    except redis.RedisError as exc:
        print(f"redis: not reachable at 127.0.0.1:6379 ({exc}); baseline skipped")
        return
    try:
        started = time.perf_counter()
        pipe = r.pipeline(transaction=False)
        for start in range(0, numbers.size, 10_000):
            pipe.sadd(key, *numbers[start : start + 10_000].tolist())
            if start % 200_000 == 0:
                pipe.execute()
        pipe.execute()
        loaded = time.perf_counter() - started
        memory = r.memory_usage(key) or 0
        print(
            f"redis SADD {numbers.size:,} (pipelined)       {loaded:8.2f} s   "
            f"set uses {memory / 2**20:.0f} MiB in Redis"
        )
        probes = [int(p) for p in probes_for(numbers, 200_000)]
        started = time.perf_counter()
        for start in range(0, len(probes), 1000):
            pipe = r.pipeline(transaction=False)
            for p in probes[start : start + 1000]:
                pipe.sismember(key, p)
            pipe.execute()
        batch = time.perf_counter() - started
        print(f"redis SISMEMBER, pipelines of 1000    {rate(len(probes), batch)}")
        figures.report("redis SISMEMBER, pipelines of 1000", len(probes) / batch, "lookups/s")
        started = time.perf_counter()
        for p in probes[:20_000]:
            r.sismember(key, p)
        single = time.perf_counter() - started
        print(f"redis SISMEMBER, one round trip each  {rate(20_000, single)}")
        figures.report("redis SISMEMBER, one round trip each", 20_000 / single, "lookups/s")

        async def concurrent() -> int:
            client = aredis.Redis(host="127.0.0.1", port=6379, max_connections=CLIENTS)
            done = 0
            deadline = time.perf_counter() + seconds

            async def worker(offset: int) -> None:
                nonlocal done
                i = offset
                while time.perf_counter() < deadline:
                    await client.sismember(key, probes[i % len(probes)])
                    done += 1
                    i += CLIENTS

            await asyncio.gather(*(worker(k) for k in range(CLIENTS)))
            await client.aclose()
            return done

        started = time.perf_counter()
        done = asyncio.run(concurrent())
        elapsed = time.perf_counter() - started
        print(
            f"redis SISMEMBER, {CLIENTS} asyncio clients     "
            f"{rate(done, elapsed)}   (same load shape as /donotcall)"
        )
        figures.report(f"redis SISMEMBER, {CLIENTS} asyncio clients", done / elapsed, "lookups/s")
    finally:
        r.delete(key)
        r.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="numbers on the list")
    parser.add_argument("--full", action="store_true", help="10,000,000 numbers")
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of load runs")
    parser.add_argument("--child-load", help=argparse.SUPPRESS)
    parser.add_argument("--child-serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_load:
        child_load(args.child_load)
        return
    if args.child_serve:
        child_serve(args.child_serve[0], int(args.child_serve[1]))
        return
    n = 10_000_000 if args.full else args.n
    print(f"Do-Not-Call bench: {n:,} numbers, {os.cpu_count()} CPUs (shared)\n")
    numbers = random_numbers(n)
    bench_in_process(numbers)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.sqlite"
        asyncio.run(import_list(url, numbers, Path(folder)))
        bench_load(url)
        bench_http(url, numbers, args.seconds)
    bench_redis(numbers, args.seconds)


if __name__ == "__main__":
    main()
