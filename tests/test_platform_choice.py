"""Which platform the engine uses is chosen in the product, not in an environment variable.

A new installation's `opendialer serve` starts its engine with no platform: started
campaigns wait, and they dial as soon as a Master picks one (System → Communication
platform or ``PUT /api/v1/platform/choice``) — no restart. A change of platform while
calls are up lets those calls end on the platform they started on.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from api_client import PASSWORD, ApiClient
from engine_support import engine_process_env, full_day_campaign, start_engine_process, wait_for

from opendialer.core.engine.chosen_platform import ChosenPlatform
from opendialer.core.services import platform_choice
from opendialer.core.services.common import SYSTEM
from opendialer.core.services.platform_choice import StoredChoice
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, EngineNode, Lead
from opendialer.sdk.contracts import (
    CallDisposition,
    CallOutcome,
    CallRequest,
    Health,
    PlatformUnavailable,
)

# -- the API -------------------------------------------------------------------


async def test_a_master_reads_and_chooses_the_platform(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    r = await master.get("/api/v1/platform/choice")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] is None
    assert {"sip", "sim"} <= set(body["available"])
    r = await master.put("/api/v1/platform/choice", json={"name": "sim"})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "sim"
    assert (await platform_choice.load()).name == "sim"
    # A GET body can be PUT back as it is.
    again = await master.put("/api/v1/platform/choice", json=r.json())
    assert again.status_code == 200 and again.json()["name"] == "sim"


async def test_an_unknown_platform_is_refused_naming_the_field(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    await master.put("/api/v1/platform/choice", json={"name": "sim"})
    r = await master.put("/api/v1/platform/choice", json={"name": "asterisk"})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "name"
    assert "sim" in r.json()["detail"] and "sip" in r.json()["detail"]
    assert (await platform_choice.load()).name == "sim"  # nothing changed


# -- the page ------------------------------------------------------------------


async def _browser(app: ApiClient, language: str = "en") -> httpx.AsyncClient:
    user = await app.user("master")
    client: httpx.AsyncClient = app.client()
    if language != "en":
        await client.get(f"/login?lang={language}")
    r = await client.post("/login", data={"username": user["username"], "password": PASSWORD})
    assert r.status_code == 303, r.text
    return client


async def test_the_page_says_none_is_chosen_and_saves_a_choice(app_client: ApiClient) -> None:
    client = await _browser(app_client)
    page = await client.get("/system/platform")
    assert page.status_code == 200
    assert 'id="platform-none"' in page.text
    assert "Simulator" in page.text and "SIP server" in page.text
    r = await client.post(
        "/system/platform/choice",
        data={"csrf_token": client.cookies["od_csrf"], "platform": "sim"},
        headers={"HX-Request": "true", "X-CSRF-Token": client.cookies["od_csrf"]},
    )
    assert r.status_code == 200, r.text
    assert 'id="platform-choice-saved"' in r.text
    assert 'id="platform-sim" checked' in r.text
    assert 'id="platform-none"' not in r.text
    assert (await platform_choice.load()).name == "sim"


async def test_the_page_speaks_portuguese_and_refuses_a_bad_choice(app_client: ApiClient) -> None:
    client = await _browser(app_client, "pt_BR")
    page = await client.get("/system/platform")
    assert "Plataforma em uso" in page.text and "Simulador" in page.text
    r = await client.post(
        "/system/platform/choice",
        data={"csrf_token": client.cookies["od_csrf"], "platform": "nope"},
    )
    assert r.status_code == 422
    assert "Escolha uma das plataformas instaladas" in r.text
    assert (await platform_choice.load()).name == ""


@pytest.mark.parametrize("role", ["manager", "campaign_admin", "campaign_supervisor"])
async def test_other_roles_cannot_choose(app_client: ApiClient, role: str) -> None:
    group = await app_client.group()
    user = await app_client.login_as(role, [group])
    r = await user.put("/api/v1/platform/choice", json={"name": "sim"})
    assert r.status_code == 403
    assert (await platform_choice.load()).name == ""


# -- the engine follows the choice -----------------------------------------------


@pytest.mark.slow
async def test_serve_dials_once_a_master_chooses_the_platform(
    db: Database, cli_env: dict[str, str], tmp_path: Any
) -> None:
    cid = await full_day_campaign(5)
    env = engine_process_env(cli_env, "follower")
    del env["OPENDIALER_PLATFORM"]  # a fresh install: nothing fixes the platform
    proc = start_engine_process(env, tmp_path / "engine.log")
    try:
        await wait_for(lambda: _node_alive("follower"), what="the engine to join")
        assert await CallRecord.count().run() == 0  # nothing to dial with yet
        await platform_choice.put(SYSTEM, "sim")

        async def all_called() -> bool:
            done = Lead.count().where((Lead.campaign == cid) & (Lead.status == "SUCCESS"))
            return await done.run() == 5

        await wait_for(all_called, what="the engine to dial on the chosen simulator")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    log = (tmp_path / "engine.log").read_text()
    assert "platform_chosen" in log and "name=sim" in log


async def _node_alive(node: str) -> bool:
    return bool(await EngineNode.count().where(EngineNode.node_id == node).run())


# -- switching with calls up -------------------------------------------------------


class RecordingPlatform:
    """A platform whose calls last until the test lets them end."""

    def __init__(self, name: str, events: list[str]) -> None:
        self.name, self.events = name, events
        self.release = asyncio.Event()

    async def start(self) -> None:
        self.events.append(f"start {self.name}")

    async def close(self) -> None:
        self.events.append(f"close {self.name}")

    def free_ports(self) -> int:
        return 3

    def health(self) -> Health:
        return Health(True, f"{self.name} up")

    async def originate(self, request: CallRequest) -> CallOutcome:
        self.events.append(f"call {request.call_id} on {self.name}")
        await self.release.wait()
        now = datetime.now(UTC)
        return CallOutcome(CallDisposition.NO_ANSWER, "p1", now, now)


def _request(call_id: str) -> CallRequest:
    return CallRequest(
        call_id=call_id,
        number="5541983015031",
        caller_id=None,
        transfer_to="4000",
        no_answer_timeout_s=5,
        amd_session=None,
        on_verdict=lambda decision: None,  # type: ignore[arg-type,return-value]
    )


async def test_a_switch_lets_calls_end_where_they_started() -> None:
    events: list[str] = []
    built: dict[str, RecordingPlatform] = {}
    stored = StoredChoice("", {}, "")

    def build(name: str, options: Mapping[str, Any]) -> RecordingPlatform:
        built[name] = RecordingPlatform(name, events)
        return built[name]

    async def load() -> StoredChoice:
        return stored

    chosen = ChosenPlatform(build, load, poll_s=3600)
    await chosen.start()
    try:
        assert chosen.free_ports() == 0
        assert not chosen.health().ok
        assert "no communication platform chosen" in chosen.health().detail
        with pytest.raises(PlatformUnavailable):
            await chosen.originate(_request("c0"))

        stored = StoredChoice("one", {}, "1")
        await chosen.refresh()
        assert chosen.health().detail == "one up" and chosen.free_ports() == 3
        first = asyncio.create_task(chosen.originate(_request("c1")))
        await asyncio.sleep(0)
        assert events == ["start one", "call c1 on one"]

        stored = StoredChoice("two", {}, "2")
        await chosen.refresh()
        second = asyncio.create_task(chosen.originate(_request("c2")))
        await asyncio.sleep(0)
        assert "close one" not in events  # c1 is still up on it
        assert events[-2:] == ["start two", "call c2 on two"]

        built["one"].release.set()
        await first
        await asyncio.sleep(0)  # the close runs as its own task
        assert "close one" in events and "close two" not in events
        built["two"].release.set()
        await second
    finally:
        await chosen.close()
    assert events[-1] == "close two"


async def test_a_platform_that_cannot_start_says_why() -> None:
    def build(name: str, options: Mapping[str, Any]) -> RecordingPlatform:
        raise ValueError("option 'ports' must be a whole number")

    async def load() -> StoredChoice:
        return StoredChoice("sim", {"ports": "x"}, "1")

    chosen = ChosenPlatform(build, load, poll_s=3600)
    await chosen.start()
    try:
        health = chosen.health()
        assert not health.ok
        assert "'sim' cannot start" in health.detail and "'ports'" in health.detail
        assert "System → Communication platform" in health.detail
    finally:
        await chosen.close()


# -- the CLI -------------------------------------------------------------------


async def test_an_operator_chooses_the_platform_from_the_cli(
    db: Database, cli_env: dict[str, str]
) -> None:
    from helpers import run_cli

    shown = run_cli("platform", "show", env=cli_env)
    assert shown.returncode == 0, shown.stderr
    assert "chosen: none" in shown.stdout and "sim" in shown.stdout
    bad = run_cli("platform", "choose", "asterisk", env=cli_env)
    assert bad.returncode == 1
    assert "installed platforms" in bad.stderr and "(name)" in bad.stderr
    chosen = run_cli("platform", "choose", "sim", env=cli_env)
    assert chosen.returncode == 0, chosen.stderr
    assert (await platform_choice.load()).name == "sim"
    assert "chosen: sim" in run_cli("platform", "show", env=cli_env).stdout
