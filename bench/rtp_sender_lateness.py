"""How late far ends sent their RTP: tells a far end short of CPU from an engine behind.

    tcpdump -i lo -s 64 -w /tmp/rtp.pcap 'udp and dst portrange 16000-19999' &   # the engines' RTP
    .venv/bin/python bench/sip_load.py --engine --mix amd --levels 150 ...
    .venv/bin/python bench/rtp_sender_lateness.py /tmp/rtp.pcap

On the loopback a capture's kernel timestamp is the moment the far end sent the
packet. A stream (destination port, SSRC; a pause over 2 s starts a new one) sends
audio time ``rtp_ts / 8000`` at ``start + rtp_ts / 8000``; as the engine does for
``opendialer_amd_processing_lag_seconds``, ``start`` is the earliest the stream has
been, and a packet's lateness is how far after that it was sent. Printed: each
stream's worst lateness, p50/p99/max. Compare with the engine's worst lag per call
(``bench/sip_load.py`` prints it): if the far ends sent on time, the lag is the engine's.
"""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass
from pathlib import Path

LINK_HEADER = {0: 4, 1: 14, 113: 16, 276: 20}  # loopback, Ethernet, Linux cooked v1/v2
NEW_STREAM_GAP_S = 2.0


@dataclass
class Stream:
    first_ts: int
    start: float
    last_seen: float
    worst_s: float = 0.0


def packets(pcap: Path) -> list[tuple[float, int, int, int]]:
    """(time, destination port, SSRC, RTP timestamp) of every RTP packet over IPv4/UDP."""
    data = pcap.read_bytes()
    magic, _, _, _, _, _, link = struct.unpack("<IHHiIII", data[:24])
    scale = 1e9 if magic == 0xA1B23C4D else 1e6
    skip = LINK_HEADER[link]
    found, pos = [], 24
    while pos + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack("<IIII", data[pos : pos + 16])
        frame = data[pos + 16 : pos + 16 + incl]
        pos += 16 + incl
        ip = frame[skip:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 15) * 4 :]
        rtp = udp[8:]
        if len(rtp) < 12 or rtp[0] >> 6 != 2:
            continue
        (port,) = struct.unpack(">H", udp[2:4])
        ts, ssrc = struct.unpack(">II", rtp[4:12])
        found.append((sec + frac / scale, port, ssrc, ts))
    return found


def lateness(pcap: Path) -> list[float]:
    """Each stream's worst lateness (seconds)."""
    open_streams: dict[tuple[int, int], Stream] = {}
    done: list[float] = []
    for t, port, ssrc, ts in packets(pcap):
        key = (port, ssrc)
        stream = open_streams.get(key)
        if stream is None or t - stream.last_seen > NEW_STREAM_GAP_S:
            if stream is not None:
                done.append(stream.worst_s)
            stream = open_streams[key] = Stream(ts, t, t)
        behind = t - ((ts - stream.first_ts) & 0xFFFFFFFF) / 8000
        stream.start = min(stream.start, behind)
        stream.worst_s = max(stream.worst_s, behind - stream.start)
        stream.last_seen = t
    return done + [s.worst_s for s in open_streams.values()]


def main() -> None:
    worst = sorted(lateness(Path(sys.argv[1])))
    if not worst:
        print("no RTP in the capture")
        return
    n = len(worst)
    print(
        f"{n} streams; far end's worst lateness per stream: p50 {1000 * worst[n // 2]:.0f} ms,"
        f" p99 {1000 * worst[min(n - 1, int(n * 0.99))]:.0f} ms, max {1000 * worst[-1]:.0f} ms"
    )


if __name__ == "__main__":
    main()
