"""Child processes of ``opendialer`` as an admin runs them: start one, wait until it
answers, stop it, log in to it over HTTP (tests of the demo and of the log files)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from helpers import OPENDIALER

from opendialer.core.services import installation


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(data_dir: Path) -> dict[str, str]:
    """A first-hour admin's environment: a data directory, nothing else configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENDIALER_")}
    env["OPENDIALER_DATA_DIR"] = str(data_dir)
    env["COLUMNS"] = "300"  # one line per message, whatever the terminal
    return env


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    base: str
    output: Path

    def text(self) -> str:
        return self.output.read_text(errors="replace")


def start(args: list[str], env: dict[str, str], output: Path) -> Running:
    """``opendialer ARGS --port P`` in a child process, once ``/healthz`` answers."""
    port = free_port()
    with output.open("wb") as out:
        process = subprocess.Popen(
            [*OPENDIALER, *args, "--port", str(port)], env=env, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}:\n{output.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return Running(process, base, output)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"no answer on {base}:\n{output.read_text()}")


def stop(running: Running) -> None:
    running.process.terminate()
    try:
        running.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        running.process.kill()
        running.process.wait(timeout=5)


def log_in(base: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    client.get("/login?lang=en")
    answer = client.post("/login", data={"username": username, "password": password})
    assert answer.status_code == 303, answer.text
    return client


def instance_of(sqlite_file: Path) -> str:
    """The installation id stored in an SQLite database."""
    with sqlite3.connect(sqlite_file) as conn:
        (value,) = conn.execute(
            "SELECT value FROM setting WHERE key = ?", (installation.INSTANCE_KEY,)
        ).fetchone()
    return str(json.loads(value)["id"])
