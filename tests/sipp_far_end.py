"""SIPp as the far end of the dialer's calls: find it, run UAS scenarios.

``ensure_sipp()`` is the path of ``sipp`` (Debian's ``sip-tester``, installed by
``scripts/setup-test-deps``); without it the test skips, or fails under ``CI=true``
(``system_deps.missing``).

``SippUas`` starts one SIPp UAS process on free UDP ports (SIP and media), waits
until it listens, and stops it by its own PID. Scenarios and audio live in
``tests/sipp/`` (copied from the validated set in ``../shared/sipp``).
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from system_deps import missing

SIPP_DIR = Path(__file__).parent / "sipp"
AUDIO_DIR = SIPP_DIR / "audio"
#: SIPp's own default media ports; never hand them out.
RESERVED_PORTS = {5060, 6000, 6001, 6002, 6003}


def ensure_sipp() -> str:
    """The path of ``sipp``; the test skips (fails under ``CI=true``) when it is missing."""
    found = shutil.which("sipp")
    if found is None:
        missing("sipp", "sip-tester")
    return found


def free_udp_port(*, even: bool = False) -> int:
    """A UDP port nobody holds right now (asked from the OS), optionally even."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port in RESERVED_PORTS or (even and port % 2):
            continue
        if even:
            # SIPp's rtp_stream also binds port+2 (RTCP/video): make sure both are free.
            try:
                with (
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a,
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b,
                ):
                    a.bind(("127.0.0.1", port))
                    b.bind(("127.0.0.1", port + 2))
            except OSError:
                continue
        return port


@dataclass
class SippUas:
    """One SIPp UAS process. ``returncode`` after ``wait()`` is the test's assertion."""

    scenario: str
    calls: int | None = None  # -m N: exit after N calls (rc 0 = all succeeded)
    keys: dict[str, str] = field(default_factory=dict)
    sets: dict[str, str] = field(default_factory=dict)
    transport: str = "u1"  # u1 = UDP, t1 = TCP
    extra: list[str] = field(default_factory=list)
    workdir: Path | None = None
    port: int = 0
    media_port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self, sipp: str) -> list[str]:
        cmd = [
            sipp,
            "-sf",
            str(SIPP_DIR / self.scenario),
            "-i",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(self.media_port),
            "-t",
            self.transport,
            "-nostdin",
            "-max_socket",
            "4000",
            "-trace_err",
            "-error_file",
            str(self.error_file),
        ]
        for name, value in self.keys.items():
            cmd += ["-key", name, value]
        for name, value in self.sets.items():
            cmd += ["-set", name, value]
        if self.calls is not None:
            cmd += ["-m", str(self.calls)]
        return cmd + self.extra

    @property
    def error_file(self) -> Path:
        assert self.workdir is not None
        return self.workdir / f"sipp_{self.port}_errors.log"

    def start(self, workdir: Path) -> SippUas:
        sipp = ensure_sipp()
        self.workdir = workdir
        self.port = self.port or free_udp_port()
        self.media_port = self.media_port or free_udp_port(even=True)
        self.proc = subprocess.Popen(
            self.command(sipp),
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait_listening()
        return self

    def _wait_listening(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        kind = socket.SOCK_DGRAM if self.transport.startswith("u") else socket.SOCK_STREAM
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"SIPp exited at start (rc {self.proc.returncode}): {err}")
            with socket.socket(socket.AF_INET, kind) as probe:
                try:
                    probe.bind(("127.0.0.1", self.port))
                except OSError:
                    return  # SIPp holds the port: it is listening
            time.sleep(0.05)
        raise RuntimeError(f"SIPp did not bind 127.0.0.1:{self.port} within {timeout} s")

    def wait(self, timeout: float = 60.0) -> int:
        """Wait for SIPp to exit by itself (``-m N``); kill it after ``timeout``."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGUSR1)  # graceful: dump stats and quit
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def errors(self) -> str:
        try:
            return self.error_file.read_text(errors="replace")[-3000:]
        except OSError:
            return ""


def audio(name: str) -> str:
    """The ``-key audio`` value for a looping G.711 µ-law file of ``tests/sipp/audio``."""
    return f"{AUDIO_DIR / name},-1,0"
