"""Run the simulator on a real socket inside the current event loop (tests),
stop it, and start it again on the same port — as a contact center that
restarts. ``python -m opendialer.plugins.route_oscc.simulator`` uses the same class.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator, Mapping

import uvicorn

from opendialer.plugins.route_oscc.simulator.app import SimulatorApp
from opendialer.plugins.route_oscc.simulator.model import ContactCenter


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # In-process: leave the host's signal handlers (pytest's, the CLI's) alone.
        yield


class SimulatorServer:
    def __init__(
        self,
        center: ContactCenter | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        base_path: str = "",
        paths: Mapping[str, str] | None = None,
        fields: Mapping[str, str] | None = None,
        session_header: str = "",
        certfile: str | None = None,
        keyfile: str | None = None,
    ) -> None:
        self.center = center or ContactCenter()
        self.app = SimulatorApp(
            self.center, base_path=base_path, paths=paths, fields=fields,
            session_header=session_header,
        )  # fmt: skip
        self.host = host
        self.port = port
        self._certfile = certfile
        self._keyfile = keyfile
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The protocol's base URL (what the routing target's ``base_url`` is)."""
        scheme = "https" if self._certfile else "http"
        return f"{scheme}://{self.host}:{self.port}{self.app.base_path}"

    @property
    def control_url(self) -> str:
        scheme = "https" if self._certfile else "http"
        return f"{scheme}://{self.host}:{self.port}/_sim"

    async def start(self) -> None:
        """Listen (on the port of the last run, or a free one the first time)."""
        if self._task is not None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            ssl_certfile=self._certfile,
            ssl_keyfile=self._keyfile,
            timeout_graceful_shutdown=1,
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise RuntimeError("simulator stopped while starting")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop listening and drop every connection; the state stays in ``center``."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._server = None
        self._task = None

    async def restart(self, *, keep_queues: bool = True, down_s: float = 0.0) -> None:
        """Stop, lose the sessions (as a real restart does), wait ``down_s``, listen again."""
        await self.stop()
        self.center.restart(keep_queues=keep_queues)
        if down_s:
            await asyncio.sleep(down_s)
        await self.start()

    async def __aenter__(self) -> SimulatorServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
