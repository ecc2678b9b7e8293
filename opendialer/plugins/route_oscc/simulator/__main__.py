"""``python -m opendialer.plugins.route_oscc.simulator --port 9001 --queue sales=5/3``

Serves the simulated contact center until SIGINT/SIGTERM. ``--protocol FILE``
takes a JSON object ``{"paths": {...}, "fields": {...}, "session_header": ""}``
of the same shape as the ``oscc`` routing target's options.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

from opendialer.plugins.route_oscc.simulator.model import ContactCenter
from opendialer.plugins.route_oscc.simulator.server import SimulatorServer


def _queue(text: str) -> tuple[str, int, int]:
    name, _, counts = text.partition("=")
    agents, _, free = counts.partition("/")
    try:
        return name, int(agents), int(free or agents)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--queue wants NAME=AGENTS[/FREE], e.g. sales=5/3; got {text!r}"
        ) from None


def _user(text: str) -> tuple[str, str]:
    name, sep, password = text.partition(":")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--user wants NAME:PASSWORD; got {text!r}")
    return name, password


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m opendialer.plugins.route_oscc.simulator", description=__doc__
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9001)
    p.add_argument("--base-path", default="", help="prefix of the protocol's paths, e.g. /rest")
    p.add_argument("--protocol", type=Path, help="JSON file: paths, fields, session_header")
    p.add_argument("--queue", type=_queue, action="append", default=[], help="NAME=AGENTS[/FREE]")
    p.add_argument(
        "--user", type=_user, action="append", default=[], help="NAME:PASSWORD (default: any)"
    )
    p.add_argument("--session-timeout-ms", type=int, default=30_000)
    p.add_argument("--certfile", help="PEM certificate: serve HTTPS")
    p.add_argument("--keyfile", help="PEM private key of --certfile")
    return p.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    protocol: dict[str, Any] = json.loads(args.protocol.read_text()) if args.protocol else {}
    center = ContactCenter(
        session_timeout_s=args.session_timeout_ms / 1000,
        credentials=dict(args.user) or None,
    )
    for name, agents, free in args.queue:
        center.set_queue(name, agents, free)
    server = SimulatorServer(
        center,
        host=args.host,
        port=args.port,
        base_path=args.base_path,
        paths=protocol.get("paths"),
        fields=protocol.get("fields"),
        session_header=protocol.get("session_header", ""),
        certfile=args.certfile,
        keyfile=args.keyfile,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    print(
        f"cc_simulator listening: protocol {server.url}  control {server.control_url}", flush=True
    )
    await stop.wait()
    await server.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except (OSError, ValueError) as exc:
        print(f"cc_simulator: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
