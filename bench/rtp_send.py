"""Cost of the outbound silence RTP (symmetric RTP) — prints figures, asserts nothing.

    .venv/bin/python bench/rtp_send.py                  # 300 and 1000 streams, 5 s each
    .venv/bin/python bench/rtp_send.py --streams 300 --seconds 10

N call endpoints of the SIP platform (``RtpEndpoint`` on one shared
``RtpTicker``, exactly as ``SipPlatform`` wires them) send 20 ms G.711 silence
frames to a local sink for a few seconds. Printed per level: packets sent vs
the ideal 50/s per stream, the process's CPU while sending minus its CPU idle
over the same time, CPU per packet, CPU per call-second, and the share of a
core per 100 answered calls.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import figures

from opendialer.plugins.platform_sip import g711
from opendialer.plugins.platform_sip.rtp import RtpEndpoint, RtpPortAllocator, RtpTicker


def cpu_s() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


async def idle_cpu(seconds: float) -> float:
    before = cpu_s()
    await asyncio.sleep(seconds)
    return cpu_s() - before


async def level(streams: int, seconds: float) -> str:
    loop = asyncio.get_running_loop()
    sink, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    target = sink.get_extra_info("sockname")
    ticker = RtpTicker()
    allocator = RtpPortAllocator(30000, 30000 + 2 * streams + 1)
    endpoints = []
    for _ in range(streams):
        endpoint = await RtpEndpoint.open(allocator, "127.0.0.1", ticker=ticker)
        assert endpoint is not None, "RTP port range busy"
        endpoint.expect(target, g711.PCMU)
        endpoints.append(endpoint)
    idle = await idle_cpu(seconds)
    before, started = cpu_s(), time.perf_counter()
    for endpoint in endpoints:
        endpoint.start_sending()
    await asyncio.sleep(seconds)
    for endpoint in endpoints:
        endpoint.stop_sending()
    cpu, wall = cpu_s() - before - idle, time.perf_counter() - started
    packets = sum(e.sent for e in endpoints)
    for endpoint in endpoints:
        endpoint.close()
    sink.close()
    ideal = streams * wall / 0.02
    figures.report(
        f"outbound RTP, {streams} streams: packets sent / ideal", 100 * packets / ideal, "%"
    )
    figures.report(
        f"outbound RTP, {streams} streams: CPU per call-second", 1e3 * cpu / (streams * wall), "ms"
    )
    return (
        f"  {streams:5d} streams {wall:4.1f} s: {packets:7d} packets ({100 * packets / ideal:5.1f} %"
        f" of 50/s each), CPU {1e6 * cpu / max(packets, 1):5.1f} µs/packet,"
        f" {1e3 * cpu / (streams * wall):5.2f} ms per call-second,"
        f" {100 * cpu / wall / streams * 100:5.1f} % of a core per 100 calls,"
        f" skipped frames {ticker.skipped_frames}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", default="300,1000", help="comma-separated stream counts")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(f"outbound RTP silence — {psutil.cpu_count()} CPUs, one asyncio loop, one ticker")
    for count in (int(x) for x in args.streams.split(",")):
        print(await level(count, args.seconds))


if __name__ == "__main__":
    asyncio.run(main())
