"""Serves an ASGI app with uvicorn (HTTPS when given a certificate) until a signal."""

from __future__ import annotations

import signal
from typing import Any

import uvicorn

from opendialer.core import health


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGINT/SIGTERM once it has shut down, which would kill the
    process before the engine drained its calls; here a signal only asks to stop."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True


async def serve_app(
    app: object, host: str, port: int, certfile: str | None, keyfile: str | None
) -> None:
    """Serve ``app`` until SIGINT/SIGTERM asks to stop (a second SIGINT forces it)."""
    health.note_web_certificate(certfile)  # System → Diagnostics checks its expiry
    server = _Server(
        uvicorn.Config(
            app,  # type: ignore[arg-type]
            host=host,
            port=port,
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
            log_level="info",
            lifespan="on",
        )
    )
    await server.serve()
