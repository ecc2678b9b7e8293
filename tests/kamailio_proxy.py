"""Kamailio as the registrar and authenticating proxy of the SIP interop tests.

``ensure_kamailio()`` finds ``kamailio`` and ``kamcmd`` (Debian's ``kamailio``) and
Kamailio's TLS module (``kamailio-tls-modules``), installed by
``scripts/setup-test-deps``; without them the test skips, or fails under ``CI=true``
(``system_deps.missing``).

:class:`Kamailio` runs ``tests/kamailio.cfg`` unprivileged in the foreground on
127.0.0.1 (one free port for UDP and TCP, another for TLS), with its own runtime
directory, a db_text subscriber table written from ``subscribers`` and a trustme
server certificate. Its stderr — including one ``WIRE …`` line per request, reply and
routing decision — goes to ``kamailio.log``, which :meth:`Kamailio.wire` reads;
:meth:`Kamailio.bindings` is ``kamcmd ul.dump``. It can be restarted on the same
ports (a fresh auth secret: every nonce handed out before is stale, and the
registrations, kept in memory, are gone).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import trustme
from system_deps import missing

CONFIG_TEMPLATE = Path(__file__).parent / "kamailio.cfg"
MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")


@dataclass(frozen=True)
class KamailioTools:
    kamailio: str
    kamcmd: str
    modules: Path


def ensure_kamailio() -> KamailioTools:
    """Kamailio and its TLS module; the test skips (fails under ``CI=true``) without them."""
    kamailio, kamcmd = (
        shutil.which("kamailio", path=_sbin_path()),
        shutil.which("kamcmd", path=_sbin_path()),
    )
    if kamailio is None or kamcmd is None:
        missing("kamailio", "kamailio")
    modules = next((p for p in _module_dirs() if (p / "tm.so").exists()), None)
    if modules is None:
        missing("Kamailio's modules", "kamailio")
    if not (modules / "tls.so").exists():
        missing("Kamailio's TLS module", "kamailio-tls-modules")
    return KamailioTools(kamailio, kamcmd, modules)


def _sbin_path() -> str:
    return os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])


def _module_dirs() -> list[Path]:
    return [
        MODULES,
        *Path("/usr/lib").glob("*/kamailio/modules"),
        Path("/usr/lib/kamailio/modules"),
    ]


def free_port(*, also_next: bool = False) -> int:
    """A port free on 127.0.0.1 for both UDP and TCP (and the next one too when asked:
    baresip listens for TLS on its SIP port + 1)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        wanted = [port, port + 1] if also_next else [port]
        if port + 1 > 65535 or not all(_free_both(p) for p in wanted):
            continue
        return port


def _free_both(port: int) -> bool:
    try:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
        ):
            udp.bind(("127.0.0.1", port))
            tcp.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True


WIRE = re.compile(r"WIRE (.*)$")


@dataclass
class Kamailio:
    """One Kamailio process; start with :meth:`start`, stop with :meth:`stop`."""

    workdir: Path
    subscribers: dict[str, str]  # user → password (users are also the auth user names)
    ca: trustme.CA
    domain: str = "dialer.test"
    nonce_expire_s: int = 300
    defines: tuple[str, ...] = ()  # kamailio.cfg's #!ifdef switches (-A NAME)
    # (regex on the Request-URI user, host:port): authorized INVITEs whose number matches
    # go there instead of a registered binding — the load bench's SIPp far ends.
    far_ends: tuple[tuple[str, str], ...] = ()
    debug: int = 2  # 2 logs the WIRE lines; 0 only warnings (the load bench: log no call)
    children: int = 2  # UDP worker processes
    shared_memory_mb: int = 32
    # tm's fr_timer: no reply at all to a relayed request within this long → 408.
    no_reply_timeout_s: float = 5.0
    port: int = 0  # UDP and TCP
    tls_port: int = 0
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    log_offset: int = 0  # where the current run's lines start in the log file
    tools: KamailioTools | None = field(default=None, repr=False)

    @property
    def log_file(self) -> Path:
        return self.workdir / "kamailio.log"

    @property
    def ctl_socket(self) -> Path:
        return self.workdir / "run" / "kamailio_ctl"

    def address(self, transport: str) -> str:
        """``host:port`` the dialer and the user agents send ``transport`` to."""
        return f"127.0.0.1:{self.tls_port if transport == 'tls' else self.port}"

    @property
    def ca_file(self) -> Path:
        return self.workdir / "ca.pem"

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Kamailio:
        self.tools = self.tools or ensure_kamailio()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.tls_port = self.tls_port or free_port()
        run = self.workdir / "run"
        run.mkdir(exist_ok=True)
        self.ctl_socket.unlink(missing_ok=True)
        self._write_subscribers()
        self._write_tls()
        config = self._write_config()
        self.starts += 1
        with self.log_file.open("ab") as log:
            self.log_offset = log.tell()
            log.write(f"=== start {self.starts}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self._command(config, run),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its children go with it (stop() signals the group)
            )
        self._wait_ready()
        return self

    def _command(self, config: Path, run: Path) -> list[str]:
        assert self.tools is not None
        # -DD: foreground (the children are still forked); -E: log to stderr (the log file)
        command = [self.tools.kamailio, "-DD", "-E"]
        for name in self.defines:
            command += ["-A", name]
        options = {
            "-f": config,
            "-Y": run,
            "-P": run / "kamailio.pid",
            "-m": self.shared_memory_mb,
            "-M": 8,
        }
        for flag, value in options.items():
            command += [flag, str(value)]
        return command

    def _wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"kamailio exited at start (rc {self.process.returncode}):\n"
                    + self.log_text()[-3000:]
                )
            if self.ctl_socket.exists() and self._accepts_tcp():
                return
            time.sleep(0.05)
        raise RuntimeError(f"kamailio not ready within {timeout} s:\n{self.log_text()[-3000:]}")

    def _accepts_tcp(self) -> bool:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            try:
                probe.connect(("127.0.0.1", self.port))
            except OSError:
                return False
        return True

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        # the children (same process group) are gone with the main process
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def restart(self) -> None:
        """Stop and start again on the same ports: registrations and nonces are lost."""
        self.stop()
        self.start()

    # ------------------------------------------------------------ files

    def _write_subscribers(self) -> None:
        db = self.workdir / "db"
        db.mkdir(exist_ok=True)
        (db / "version").write_text("table_name(string) table_version(int) \nsubscriber:7\n")
        # ha1/ha1b nullable: only plain passwords are stored (calculate_ha1), see
        # ../shared/interop/NOTES.md — otherwise auth_db fails with rc -1.
        rows = [
            f"{i}:{user}:{self.domain}:{password}::"
            for i, (user, password) in enumerate(self.subscribers.items(), start=1)
        ]
        header = (
            "id(int,auto) username(string) domain(string) password(string) "
            "ha1(string,null) ha1b(string,null) \n"
        )
        (db / "subscriber").write_text(header + "\n".join(rows) + "\n")

    def _write_tls(self) -> None:
        cert = self.ca.issue_cert("127.0.0.1", "localhost", self.domain)
        cert.private_key_pem.write_to_path(str(self.workdir / "server.key"))
        cert.cert_chain_pems[0].write_to_path(str(self.workdir / "server.pem"))
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        (self.workdir / "tls.cfg").write_text(
            "[server:default]\n"
            "method = TLSv1.2+\n"
            "verify_certificate = no\n"
            "require_certificate = no\n"
            f"private_key = {self.workdir / 'server.key'}\n"
            f"certificate = {self.workdir / 'server.pem'}\n"
            "\n[client:default]\n"
            "method = TLSv1.2+\n"
            "verify_certificate = no\n"
            "require_certificate = no\n"
        )

    def _write_config(self) -> Path:
        assert self.tools is not None
        values = {
            "DEBUG": str(self.debug),
            "CHILDREN": str(self.children),
            "FR_TIMER_MS": str(int(self.no_reply_timeout_s * 1000)),
            "FAR_ENDS": self._far_end_routes(),
            "DOMAIN": self.domain,
            "UDP_PORT": str(self.port),
            "TCP_PORT": str(self.port),
            "TLS_LISTEN": f"listen=tls:127.0.0.1:{self.tls_port}\nenable_tls=yes",
            "TLS_MODULE": f'loadmodule "tls.so"\nmodparam("tls", "config", '
            f'"{self.workdir / "tls.cfg"}")',
            "MODULES": f"{self.tools.modules}/",
            "CTL_SOCKET": str(self.ctl_socket),
            "AUTH_SECRET": secrets.token_hex(16),
            "NONCE_EXPIRE": str(self.nonce_expire_s),
            "DB_DIR": str(self.workdir / "db"),
        }
        text = CONFIG_TEMPLATE.read_text()
        for name, value in values.items():
            text = text.replace(f"@@{name}@@", value)
        assert "@@" not in text, "a placeholder of kamailio.cfg was not filled"
        path = self.workdir / "kamailio.cfg"
        path.write_text(text)
        return path

    def _far_end_routes(self) -> str:
        routes = [
            f'\tif ($rU =~ "{pattern}") {{\n'
            "\t\trecord_route();\n"
            f'\t\t$du = "sip:{address}";\n'
            "\t\troute(RELAY);\n"
            "\t}"
            for pattern, address in self.far_ends
        ]
        return "\n".join(routes)

    # ------------------------------------------------------------ what it saw

    def log_text(self, *, this_run: bool = False) -> str:
        """Kamailio's log; ``this_run``: only since the last (re)start."""
        try:
            with self.log_file.open("rb") as log:
                log.seek(self.log_offset if this_run else 0)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def wire(self, *, this_run: bool = False) -> list[str]:
        """The ``WIRE …`` lines, in order (requests, replies, challenges, relays)."""
        text = self.log_text(this_run=this_run)
        return [m.group(1) for line in text.splitlines() if (m := WIRE.search(line))]

    def lines(self, *words: str, this_run: bool = False) -> list[str]:
        """The wire lines that contain every one of ``words``."""
        return [line for line in self.wire(this_run=this_run) if all(w in line for w in words)]

    def bindings(self) -> dict[str, list[str]]:
        """``kamcmd ul.dump``: AoR (user) → its Contact addresses."""
        assert self.tools is not None
        result = subprocess.run(
            [self.tools.kamcmd, "-s", f"unix:{self.ctl_socket}", "ul.dump"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        bindings: dict[str, list[str]] = {}
        aor = None
        for line in result.stdout.splitlines():
            name, _, value = line.strip().partition(": ")
            if name == "AoR":
                aor = value.strip()
                bindings[aor] = []
            elif name == "Address" and aor is not None:
                bindings[aor].append(value.strip())
        return bindings
