"""`opendialer demo` dials by itself; `opendialer serve --role ...` runs web and engine apart."""

from __future__ import annotations

import signal
import socket

import httpx
import pytest
from engine_support import engine_process_env, full_day_campaign, start_engine_process, wait_for
from helpers import reset_database, run_cli

from opendialer.core.demo import DEMO_CAMPAIGN, DEMO_LEADS
from opendialer.core.services import installation
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, Campaign, EngineNode, Lead

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_demo_seeds_a_campaign_that_dials_by_itself(
    db: Database, cli_env: dict[str, str], tmp_path
) -> None:
    port = free_port()
    proc = start_engine_process(cli_env, tmp_path / "demo.log", ("demo", "--port", str(port)))
    try:

        async def calls_and_counts_move() -> bool:
            finished = await CallRecord.count().where(CallRecord.status.is_not_null()).run()
            called = await Lead.count().where(Lead.status != "NOT_CALLED").run()
            return finished >= 3 and called >= 3

        await wait_for(calls_and_counts_move, deadline_s=120, what="demo calls")
        async with httpx.AsyncClient() as client:
            health = await client.get(f"http://127.0.0.1:{port}/healthz")
        assert health.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    try:
        output = (tmp_path / "demo.log").read_text()
        assert f"http://127.0.0.1:{port}/" in output
        assert "master / opendialer-demo" in output and "demo / opendialer-demo" in output
        campaign = await Campaign.select().where(Campaign.name == DEMO_CAMPAIGN).first().run()
        assert campaign["state"] == "STARTED"
        assert await Lead.count().where(Lead.campaign == campaign["id"]).run() == DEMO_LEADS
        assert await CallRecord.count().where(CallRecord.status.is_null()).run() == 0  # drained
        assert await installation.is_demo()  # `serve` refuses this database now
    finally:
        # The session's database is shared with servers started later (ui_browser's
        # live_server): it must not stay a demo database.
        await reset_database(db)


def test_serve_rejects_an_unknown_role(cli_env: dict[str, str]) -> None:
    bad = run_cli("serve", "--role", "dialer", env=cli_env)
    assert bad.returncode == 1
    assert "--role 'dialer': use one of all, web, engine" in bad.stderr


async def test_engine_role_dials_without_a_web_server(
    db: Database, cli_env: dict[str, str], tmp_path
) -> None:
    cid = await full_day_campaign(5)
    env = engine_process_env(cli_env, "engine-only")
    proc = start_engine_process(env, tmp_path / "engine.log")
    try:

        async def all_called() -> bool:
            return (
                await Lead.count().where((Lead.campaign == cid) & (Lead.status == "SUCCESS")).run()
                == 5
            )

        try:
            await wait_for(all_called, what="the engine-only node to call every lead")
        except BaseException:
            # What the node said is the diagnosis (an intermittent stall: issue 16's note).
            log = (tmp_path / "engine.log").read_text(errors="replace")[-4000:]
            print(f"--- engine.log (last 4000 characters) ---\n{log}")
            raise
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert "Uvicorn running" not in (tmp_path / "engine.log").read_text()
    assert await EngineNode.count().run() == 0  # a clean stop leaves no node behind
