"""Runs the Litestar app under uvicorn (HTTPS when given a certificate)."""

from __future__ import annotations

import uvicorn

from opendialer.admin_ui.app import create_app


async def serve_forever(
    *, host: str, port: int, certfile: str | None = None, keyfile: str | None = None
) -> None:
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(),
            host=host,
            port=port,
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
            log_level="info",
            lifespan="on",
        )
    )
    await server.serve()
