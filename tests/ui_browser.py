"""Fixtures for the HTML admin's browser tests: a live server and Debian's Chromium.

* ``chromium_executable`` (session): ``/usr/bin/chromium``, the Debian package
  ``chromium`` that ``scripts/setup-test-deps`` installs; without it the test skips, or
  fails under ``CI=true``. Never ``playwright install``: the browser is the distribution's.
* ``live_server`` (session, per backend): ``uvicorn`` in a child process serving
  ``create_app()`` on a free loopback port, against the test session's database
  (``db_url``: SQLite and PostgreSQL). Tests seed through ``core/services`` on their
  own event loop and the server reads the same database.
* ``browser`` (session) and ``tab`` (per test: a new page with no cookies, its
  ``base_url`` the live server; script errors and CSP violations fail the test).

Import them into a test module: ``from ui_browser import browser, chromium_executable, live_server, tab``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from system_deps import missing

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    """Debian's Chromium; the test skips (fails under ``CI=true``) when it is missing."""
    if not CHROMIUM.exists():
        missing(str(CHROMIUM), "chromium")
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    database_url: str,
    data_dir: Path,
    *,
    certfile: str | None = None,
    keyfile: str | None = None,
    role: str = "web",
    env_extra: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """``opendialer serve`` in a child process; returns it and its base URL once it answers.
    ``role="all"`` runs the dialing engine too (its platform: the one a Master chooses,
    unless ``env_extra`` sets ``OPENDIALER_PLATFORM``)."""
    port = free_port()
    env = {**os.environ, "OPENDIALER_DATABASE_URL": database_url}
    env.pop("OPENDIALER_PLATFORM", None)
    env["OPENDIALER_DATA_DIR"] = str(data_dir)
    env.update(env_extra or {})
    command = [
        sys.executable,
        "-m",
        "opendialer.cli",
        "serve",
        "--role",
        role,
        "--port",
        str(port),
    ]
    if certfile and keyfile:
        command += ["--certfile", certfile, "--keyfile", keyfile]
    log = (data_dir / "server.out").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    scheme = "https" if certfile else "http"
    base = f"{scheme}://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the server exited with {process.returncode}:\n"
                + (data_dir / "server.out").read_text(errors="replace")[-3000:]
            )
        try:
            httpx.get(f"{base}/healthz", timeout=1, verify=False)
            return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server did not answer on {base} within 60 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def live_server(db_url: str, database: object) -> Iterator[str]:
    """Base URL of a server on the session's database (``database`` migrated it)."""
    data_dir = Path(tempfile.mkdtemp(prefix="opendialer-ui-"))
    process, base = start_server(db_url, data_dir)
    try:
        yield base
    finally:
        stop_server(process)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
async def browser(chromium_executable: Path) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    profile = tempfile.mkdtemp(prefix="opendialer-chromium-")
    async with async_playwright() as playwright:
        # A persistent context is the only way to give Chromium a user-data-dir of ours.
        context = await playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(chromium_executable),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1360, "height": 900},
        )
        try:
            yield context
        finally:
            await context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
async def tab(browser: object, live_server: str) -> AsyncIterator[object]:
    """A fresh tab with no cookies, its base URL set to the live server."""
    context = browser
    await context.clear_cookies()  # type: ignore[attr-defined]
    tab = await context.new_page()  # type: ignore[attr-defined]
    tab.set_default_timeout(15_000)
    tab.base_url = live_server  # type: ignore[attr-defined]
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    try:
        yield tab
    finally:
        await tab.close()
    assert not errors, f"the page raised script errors or CSP violations: {errors}"
