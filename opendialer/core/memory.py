"""Keeping the C heap flat in a long-running dialer (glibc only).

asyncio reads every socket with a fresh ``max_size`` (256 KiB) bytes object and
shrinks it to what arrived: each TCP read from PostgreSQL, each SIP datagram.
glibc serves requests of at least its mmap threshold (128 KiB at start) with a
mapping of their own, unmapped whole when freed — but it *raises* that
threshold (up to 32 MiB) whenever such a mapping is freed. From then on the
256 KiB buffers come from the ``sbrk`` heap, are cut down in place, and the
heap fragments: in the soak at 300 calls (docs/performance.md, "Soak") the
heap grew 17.0 → 36.2 MiB in 15 minutes while the bytes in use stayed at
15–16 MiB, and resident memory grew 0.5 KiB (simulator) to 1.7 KiB (SIP) per call.

:func:`pin_mmap_threshold` sets the threshold explicitly (``mallopt``), which
turns the raising off: those buffers stay mappings, the heap stays at 17 MiB
and resident memory grows ~40 bytes per call. The engine calls it when it starts.
``malloc_trim(0)`` every 30 s on top of it changed nothing measurable, so the
engine does not call it.

Other C libraries (musl, macOS, Windows) have no such knob; there it does
nothing and says so.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable

M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
#: glibc's own starting value, kept: requests this large or larger get a mapping.
MMAP_THRESHOLD_BYTES = 128 * 1024


def _glibc_mallopt() -> Callable[[int, int], int] | None:
    """glibc's ``mallopt``, or None when the process's C library is not glibc."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the C library this interpreter is linked with
    except OSError:
        return None
    # musl has a mallopt that does nothing, and no gnu_get_libc_version.
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return None
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt  # type: ignore[no-any-return]


_mallopt = _glibc_mallopt()


def pin_mmap_threshold(size: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold at ``size`` (no more raising); True if it was set.

    Process-wide and idempotent. The cost: each 256 KiB asyncio read is an
    ``mmap`` and a ``munmap`` — a few hundred a second at 300 calls, because RTP,
    the one socket read thousands of times a second, is read with a small buffer
    (``platform_sip.rtp.RTP_RECEIVE_BYTES``)."""
    if _mallopt is None:
        return False
    return bool(_mallopt(M_MMAP_THRESHOLD, size))
