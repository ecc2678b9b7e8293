"""baresip user agents registered to Kamailio: the called parties and the agents.

``ensure_baresip()`` finds ``baresip`` (Debian's ``baresip-core``, installed by
``scripts/setup-test-deps``); without it the test skips, or fails under ``CI=true``.

Each :class:`Baresip` is one process with its own config directory, SIP port (and
port + 1, where baresip also listens for TLS), RTP range and ``ctrl_tcp`` port, all on
127.0.0.1, registered over UDP through Kamailio as ``sip:<user>@<domain>``. What it
does with an incoming call:

* ``answer`` — auto-answers and plays its WAV (``aufile``); the call ends when the
  file does, so the clips are padded to the call's length;
* ``busy`` — rings, and the test's ``ctrl_tcp`` client hangs the call up on the
  incoming-call event: baresip 1.0 answers ``486`` (it has no "always busy" setting);
* ``ignore`` — rings until the caller gives up.

baresip follows a REFER it receives by calling the Refer-To target itself (through
Kamailio) and reports the outcome in NOTIFY sipfrags. Its stdout is ``baresip.log``
(:meth:`Baresip.log_text`); the ``ctrl_tcp`` events it sends are kept in
:attr:`Baresip.events`. The clips are made from the far-end recordings of
``tests/sipp/audio`` (G.711 µ-law) with the project's own decoder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import subprocess
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from eventually import eventually
from kamailio_proxy import free_port
from sipp_far_end import AUDIO_DIR
from system_deps import missing

from opendialer.plugins.platform_sip.g711 import PCMU, decode

RATE = 8000
MODULES = Path("/usr/lib/baresip/modules")


def ensure_baresip() -> str:
    """The path of ``baresip``; the test skips (fails under ``CI=true``) without it."""
    found = shutil.which("baresip")
    if found is None or not (MODULES / "aufile.so").exists():
        missing("baresip", "baresip-core")
    return found


# ------------------------------------------------------------------ clips


def _recording(name: str, seconds: float) -> npt.NDArray[np.int16]:
    ulaw = (AUDIO_DIR / name).read_bytes()[: int(RATE * seconds)]
    return decode(ulaw, PCMU)


def _silence(seconds: float) -> npt.NDArray[np.int16]:
    return np.zeros(int(RATE * seconds), dtype=np.int16)


def _beep(seconds: float = 0.4, hz: float = 1000.0) -> npt.NDArray[np.int16]:
    t = np.arange(int(RATE * seconds)) / RATE
    return (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def hello_clip(call_s: float = 20.0) -> npt.NDArray[np.int16]:
    """A person picking up: "hello?" (~1 s), then quiet for the rest of the call."""
    hello = _recording("human_hello.ulaw", 3.0)
    return np.concatenate([hello, _silence(call_s - 3.0)])


def hang_up_clip() -> npt.NDArray[np.int16]:
    """Someone who says "hello?" and hangs up at once (baresip ends the call with the file)."""
    return _recording("human_hello.ulaw", 1.0)


def voicemail_clip(call_s: float = 20.0) -> npt.NDArray[np.int16]:
    """A voicemail greeting (~14 s of talk), the beep, then quiet."""
    greeting = _recording("machine_greeting.ulaw", 14.0)
    rest = max(call_s - 14.4, 1.0)
    return np.concatenate([greeting, _beep(), _silence(rest)])


def agent_clip(call_s: float = 20.0) -> npt.NDArray[np.int16]:
    """An agent's line: a short tone, then quiet."""
    return np.concatenate([_beep(0.2, 440.0), _silence(call_s)])


def write_wav(path: Path, samples: npt.NDArray[np.int16]) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


# ------------------------------------------------------------------ the user agent


def _netstring(payload: bytes) -> bytes:
    return str(len(payload)).encode() + b":" + payload + b","


async def _read_netstring(reader: asyncio.StreamReader) -> bytes:
    length = int((await reader.readuntil(b":"))[:-1])
    payload = await reader.readexactly(length + 1)
    return payload[:-1]


@dataclass
class Baresip:
    """One baresip process registered as ``user`` at the proxy."""

    user: str
    password: str
    behaviour: str  # "answer" | "busy" | "ignore"
    clip: npt.NDArray[np.int16] | None
    proxy: str  # host:port of Kamailio (UDP)
    domain: str
    workdir: Path
    regint_s: int = 3600  # the registration interval it asks for (it refreshes before)
    port: int = 0
    ctrl_port: int = 0
    process: subprocess.Popen[bytes] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    _ctrl_task: asyncio.Task[None] | None = None
    _ctrl: asyncio.StreamWriter | None = None
    _bind_retries: int = 0

    @property
    def home(self) -> Path:
        return self.workdir / f"baresip-{self.user}"

    @property
    def log_file(self) -> Path:
        return self.home / "baresip.log"

    def _write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        source = ""
        if self.clip is not None:
            wav = write_wav(self.home / "source.wav", self.clip)
            source = f"aufile,{wav}"
        rtp = free_port()
        answermode = "auto" if self.behaviour == "answer" else "manual"
        (self.home / "config").write_text(
            "\n".join(
                [
                    "poll_method epoll",
                    # its address in SDP and Contact ("net_interface lo" fails in 1.0)
                    "net_interface 127.0.0.1",
                    f"sip_listen 127.0.0.1:{self.port}",
                    "call_local_timeout 120",
                    "call_max_calls 8",
                    f"audio_source {source or 'nothing,nothing'}",
                    "audio_player nothing,nothing",
                    "audio_alert nothing,nothing",
                    "ausrc_srate 8000",
                    "auplay_srate 8000",
                    "ausrc_channels 1",
                    "auplay_channels 1",
                    f"rtp_ports {rtp}-{rtp + 40}",
                    "rtcp_mux no",
                    f"module_path {MODULES}",
                    "module g711.so",
                    "module aufile.so",
                    "module ctrl_tcp.so",
                    "module_tmp account.so",
                    "module_app menu.so",
                    f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}",
                    "statmode_default off",
                    "",
                ]
            )
        )
        (self.home / "accounts").write_text(
            f"<sip:{self.user}@{self.domain}>;auth_pass={self.password};"
            f'outbound="sip:{self.proxy};transport=udp";regint={self.regint_s};'
            f"answermode={answermode};audio_codecs=PCMU\n"
        )

    def start(self) -> Baresip:
        baresip = ensure_baresip()
        self.port = self.port or free_port(also_next=True)
        self.ctrl_port = self.ctrl_port or free_port()
        self._write_config()
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [baresip, "-f", str(self.home)],
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def registrations(self) -> int:
        """How many REGISTERs the registrar accepted (one log line each)."""
        if self.process is not None and self.process.poll() is not None:
            if "Address already in use" in self.log_text() and self._bind_retries < 3:
                # free_port() only says a port was free a moment ago: under parallel tests
                # another process can take it before baresip binds. Other ports, again.
                self._bind_retries += 1
                self.log_file.rename(self.log_file.with_suffix(f".bind-{self._bind_retries}.log"))
                self.port = free_port(also_next=True)
                self.ctrl_port = free_port()
                self.start()
                return 0
            raise RuntimeError(f"baresip {self.user} exited:\n{self.log_text()[-2000:]}")
        return sum(" 200 OK " in line for line in self.log_text().splitlines())

    async def wait_registered(self, more_than: int = 0, within: float = 15.0) -> None:
        """Until the registrar accepted more than ``more_than`` REGISTERs of this agent."""
        await eventually(
            lambda: self.registrations() > more_than,
            within=within,
            what=f"baresip {self.user} registered (its log: {self.log_file})",
        )
        if self._ctrl_task is None:
            reader, self._ctrl = await asyncio.open_connection("127.0.0.1", self.ctrl_port)
            self._ctrl_task = asyncio.create_task(
                self._control(reader), name=f"baresip-{self.user}-ctrl"
            )

    async def command(self, name: str, params: str = "") -> None:
        """Send a ``ctrl_tcp`` command (menu's commands: ``hangup``, ``uareg 3600``, …)."""
        assert self._ctrl is not None, "wait_registered() first"
        command = {"command": name, "params": params, "token": name}
        self._ctrl.write(_netstring(json.dumps(command).encode()))
        await self._ctrl.drain()

    async def _control(self, reader: asyncio.StreamReader) -> None:
        """Keep the ``ctrl_tcp`` events; a busy party hangs up each incoming call."""
        try:
            while True:
                event = json.loads(await _read_netstring(reader))
                self.events.append(event)
                if self.behaviour == "busy" and event.get("type") == "CALL_INCOMING":
                    await self.command("hangup")
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            return

    def event_types(self) -> list[str]:
        return [str(e.get("type")) for e in self.events if e.get("event")]

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    async def stop(self) -> None:
        if self._ctrl_task is not None:
            self._ctrl_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ctrl_task
            self._ctrl_task = None
        if self._ctrl is not None:
            self._ctrl.close()
            self._ctrl = None
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 5)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait, 5)
