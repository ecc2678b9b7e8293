"""Clock sync: the kernel's own view (adjtimex, or ``timedatectl``), and this node's
skew against the database server's clock.

Leases and heartbeats are stamped with each node's clock and compared by the other
nodes (``core/engine/claims.py``, ``coordinator.py``): a node seconds off takes over
leads too early or counts a live node as dead. The database's ``clock_timestamp()`` is
the common reference every node can compare itself with.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import shutil
import sys
import time
from datetime import datetime

from opendialer.core.health.model import CheckResult, DoctorOptions, Status
from opendialer.core.storage import Database

SKEW_WARN_S = 1.0
SKEW_FAIL_S = 5.0  # a third of the default 15 s after which a silent node counts as dead
TIME_ERROR = 5  # adjtimex(2): "clock not synchronized"
STA_UNSYNC = 0x0040
FIX_SYNC = "run an NTP client (chrony, systemd-timesyncd, ntpd) on this node"
UNSYNCED_RISK = "calling hours, schedules and multi-node lead leases rely on it"


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """``struct timex`` of Linux (include/uapi/linux/timex.h)."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    ]


def kernel_sync() -> tuple[bool, str] | None:
    """(synchronised, detail) from adjtimex(2) with modes=0 (read only, no privilege);
    None where there is no such call (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        timex = _Timex()
        state = libc.adjtimex(ctypes.byref(timex))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    if state == TIME_ERROR or timex.status & STA_UNSYNC:
        return False, "adjtimex says the kernel clock is not synchronised"
    return True, f"adjtimex: kernel clock synchronised, max error {timex.maxerror / 1000:.1f} ms"


async def timedatectl_sync(timeout_s: float) -> tuple[bool, str] | None:
    """``timedatectl show -p NTPSynchronized`` where adjtimex is not available."""
    if shutil.which("timedatectl") is None:
        return None
    try:
        process = await asyncio.create_subprocess_exec(
            "timedatectl", "show", "-p", "NTPSynchronized", "--value",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(process.communicate(), timeout_s)
    except (OSError, TimeoutError):
        return None
    answer = output.decode().strip()
    if process.returncode != 0 or answer not in ("yes", "no"):
        return None
    return answer == "yes", f"timedatectl: NTPSynchronized={answer}"


async def check_kernel_clock(options: DoctorOptions) -> CheckResult:
    found = kernel_sync() or await timedatectl_sync(options.timeout_s)
    if found is None:
        return CheckResult(
            "clock",
            Status.WARN,
            "cannot tell whether this node's clock is synchronised (no adjtimex, no "
            f"timedatectl): make sure it is — {FIX_SYNC}",
            subject="this node",
        )
    synced, detail = found
    if synced:
        return CheckResult("clock", Status.OK, detail, subject="this node")
    # A failure, not a warning: calling hours and schedules are judged by this clock
    # (calling outside the permitted hours is a compliance breach), and other nodes
    # judge its lead leases and heartbeats. An undisciplined clock drifts unseen.
    return CheckResult(
        "clock", Status.FAIL, f"{detail}: {UNSYNCED_RISK}; {FIX_SYNC}", subject="this node"
    )


async def check_database_skew(database: Database, options: DoctorOptions) -> CheckResult:
    if not database.is_postgres:
        return CheckResult(
            "clock",
            Status.OK,
            "SQLite is a file on this node: there is no database server clock to differ from",
            subject="database server",
        )
    sent = time.time()
    rows = await asyncio.wait_for(
        database.engine.run_ddl("SELECT clock_timestamp() AS now"), options.timeout_s
    )
    received = time.time()
    server: datetime = rows[0]["now"]
    skew = server.timestamp() - (sent + received) / 2
    error = (received - sent) / 2
    shown = f"this node is {abs(skew):.3f} s {'behind' if skew > 0 else 'ahead of'} the " \
        f"database server (± {error:.3f} s)"  # fmt: skip
    if abs(skew) - error >= SKEW_FAIL_S:
        return CheckResult(
            "clock",
            Status.FAIL,
            f"{shown}: leases and node heartbeats will misjudge; {FIX_SYNC} and on the database "
            "server",
            subject="database server",
        )
    if abs(skew) - error >= SKEW_WARN_S:
        return CheckResult(
            "clock", Status.WARN, f"{shown}: {FIX_SYNC} and on the database server",
            subject="database server",
        )  # fmt: skip
    return CheckResult("clock", Status.OK, shown, subject="database server")
