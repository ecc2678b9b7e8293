"""``opendialer routing show|set`` in a child process, against the test database:
the same routing settings service as the pages and the API (secrets never printed,
errors one line naming the option, exit 1)."""

from __future__ import annotations

import asyncio
import json

from helpers import run_cli

from opendialer.core.services import routing_config
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.plugins.route_oscc.simulator.model import ContactCenter
from opendialer.plugins.route_oscc.simulator.server import SimulatorServer


async def test_set_and_show_the_ivr(db: Database, cli_env: dict[str, str]) -> None:
    shown = run_cli("routing", "show", "ivr", env=cli_env)
    assert shown.returncode == 0, shown.stderr
    assert "ivr: not configured yet" in shown.stdout

    done = run_cli("routing", "set", "ivr", "channels=30", "status_url=http://ivr.local/free",
                   env=cli_env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "channels = 30" in done.stdout
    assert await routing_config.load_options("ivr") == {
        "channels": 30,
        "status_url": "http://ivr.local/free",
    }
    # set changes only what it names; --unset goes back to the default
    again = run_cli("routing", "set", "ivr", "hold_timeout_ms=300000", "--unset", "status_url",
                    env=cli_env)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert await routing_config.load_options("ivr") == {"channels": 30, "hold_timeout_ms": 300000}

    as_json = run_cli("routing", "show", "--json", env=cli_env)
    assert as_json.returncode == 0, as_json.stderr
    listed = {v["target"]: v for v in json.loads(as_json.stdout)}
    assert listed["ivr"]["options"] == {"channels": 30, "hold_timeout_ms": 300000}
    assert listed["oscc"]["configured"] is False


async def test_errors_name_the_option_on_one_line(db: Database, cli_env: dict[str, str]) -> None:
    bad = run_cli("routing", "set", "ivr", "channels=thirty", env=cli_env)
    assert bad.returncode == 1
    lines = [line for line in bad.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, bad.stderr
    assert "'channels'" in lines[0] and "options.channels" in lines[0]
    assert await routing_config.load_options("ivr") is None
    for args, words in (
        (("routing", "set", "ivr", "channels"), "KEY=VALUE"),
        (("routing", "set", "ivr"), "nothing to set"),
        (("routing", "show", "carrier-pigeon"), "no routing target 'carrier-pigeon'"),
    ):
        failed = run_cli(*args, env=cli_env)
        assert failed.returncode == 1 and words in failed.stderr, failed.stderr


async def test_the_password_is_kept_never_printed_and_cleared(
    db: Database, cli_env: dict[str, str]
) -> None:
    first = run_cli("routing", "set", "oscc", "base_url=https://oscc.example:9443/rest",
                    "username=dialer", "password=123456", env=cli_env)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "123456" not in first.stdout and "password = (set)" in first.stdout
    stored = await routing_config.load_options("oscc")
    assert stored is not None and stored["password"] == "123456"  # digits stay text
    more = run_cli("routing", "set", "oscc", "paths.logon=PUT /session/logon",
                   "queues=[\"sales\"]", env=cli_env)  # fmt: skip
    assert more.returncode == 0, more.stderr
    stored = await routing_config.load_options("oscc")
    assert stored is not None and stored["password"] == "123456"
    assert stored["paths"] == {"logon": "PUT /session/logon"} and stored["queues"] == ["sales"]
    shown = run_cli("routing", "show", "oscc", "--json", env=cli_env)
    assert "123456" not in shown.stdout
    assert json.loads(shown.stdout)["options"]["has_password"] is True
    cleared = run_cli("routing", "set", "oscc", "--unset", "password", env=cli_env)
    assert cleared.returncode == 0, cleared.stderr
    assert "password = (not set)" in cleared.stdout
    assert (await routing_config.load_options("oscc") or {})["password"] == ""


async def test_routing_test_tries_the_stored_options(db: Database, cli_env: dict[str, str]) -> None:
    center = ContactCenter(session_timeout_s=5)
    center.set_queue("sales", agents=2, free=1)
    server = SimulatorServer(center)
    await server.start()
    try:
        await routing_config.put(
            SYSTEM, "oscc", {"base_url": "https://nowhere.invalid/rest", "connect_timeout_ms": 500}
        )
        # the simulator answers in this event loop: the child runs in a thread meanwhile
        works = await asyncio.to_thread(
            run_cli, "routing", "test", "oscc", f"base_url={server.url}", env=cli_env
        )
        assert works.returncode == 0, works.stderr
        assert "oscc: works: contact center session up" in works.stdout
        stored = await routing_config.load_options("oscc")
        assert stored is not None and stored["base_url"] == "https://nowhere.invalid/rest"
    finally:
        await server.stop()
    fails = await asyncio.to_thread(
        run_cli, "routing", "test", "oscc", f"base_url={server.url}", "--timeout", "2",
        env=cli_env,
    )  # fmt: skip
    assert fails.returncode == 1 and "cannot connect" in fails.stderr, fails.stderr
