"""``/api/v1/routing``: a Master configures the routing targets (``oscc``, ``ivr``)
over the JSON API; other roles are refused; each target's own checks name the bad
option; secrets are write-only (``has_<name>``, left out / blank / mask keeps, null
clears). Both backends, the real app (``app_client``)."""

from __future__ import annotations

import pytest
from api_client import ApiClient

from opendialer.core.services import routing_config
from opendialer.core.services.common import SYSTEM
from opendialer.plugins.route_oscc.simulator.model import ContactCenter
from opendialer.plugins.route_oscc.simulator.server import SimulatorServer

OSCC = {
    "base_url": "https://oscc.example:9443/rest",
    "username": "dialer",
    "password": "s3cret-pw",
    "keepalive_interval_ms": 5000,
}


async def test_master_lists_gets_puts_and_deletes(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    r = await master.get("/api/v1/routing")
    assert r.status_code == 200, r.text
    listed = {v["target"]: v for v in r.json()}
    assert {"oscc", "ivr"} <= set(listed)
    assert listed["ivr"] == {"target": "ivr", "configured": False, "options": {},
                             "updated_at": None}  # fmt: skip
    r = await master.get("/api/v1/routing/ivr")
    assert r.status_code == 200 and r.json()["configured"] is False

    r = await master.put("/api/v1/routing/ivr", json={"options": {"channels": 30}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["configured"] is True and body["options"] == {"channels": 30}
    assert body["updated_at"]
    assert await routing_config.load_options("ivr") == {"channels": 30}  # what the engine reads
    r = await master.get("/api/v1/routing/ivr")
    assert r.json()["options"] == {"channels": 30}

    r = await master.delete("/api/v1/routing/ivr")
    assert r.status_code == 204, r.text
    assert await routing_config.load_options("ivr") is None
    r = await master.delete("/api/v1/routing/ivr")
    assert r.status_code == 404 and r.json()["detail"] == "routing target 'ivr' is not configured"


async def test_secrets_are_write_only(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    r = await master.put("/api/v1/routing/oscc", json={"options": OSCC})
    assert r.status_code == 200, r.text
    assert "s3cret-pw" not in r.text and "password" not in r.json()["options"]
    assert r.json()["options"]["has_password"] is True
    r = await master.get("/api/v1/routing")
    assert "s3cret-pw" not in r.text
    got = await master.get("/api/v1/routing/oscc")
    assert "s3cret-pw" not in got.text and got.json()["options"]["has_password"] is True

    # The GET body PUT back (has_password, target, updated_at included) keeps the secret.
    changed = got.json()
    changed["options"]["keepalive_interval_ms"] = 8000
    r = await master.put("/api/v1/routing/oscc", json=changed)
    assert r.status_code == 200, r.text
    stored = await routing_config.load_options("oscc")
    assert stored == {**OSCC, "keepalive_interval_ms": 8000}
    # Blank and the old mask keep it too (existing callers write the mask back).
    for kept in ("", routing_config.MASK):
        r = await master.put("/api/v1/routing/oscc", json={"options": {**OSCC, "password": kept}})
        assert r.status_code == 200, r.text
        assert (await routing_config.load_options("oscc") or {})["password"] == "s3cret-pw"
    # A new value replaces it; null clears it.
    r = await master.put("/api/v1/routing/oscc", json={"options": {**OSCC, "password": "n3w"}})
    assert (await routing_config.load_options("oscc") or {})["password"] == "n3w"
    r = await master.put("/api/v1/routing/oscc", json={"options": {**OSCC, "password": None}})
    assert r.status_code == 200, r.text
    assert r.json()["options"]["has_password"] is False
    assert (await routing_config.load_options("oscc") or {})["password"] == ""


@pytest.mark.parametrize(
    "target, options, field, words",
    [
        ("ivr", {}, "options.channels", "'channels' is required"),
        ("ivr", {"channels": "thirty"}, "options.channels", "whole number >= 0"),
        ("ivr", {"channels": 4, "status_url": "ftp://x"}, "options.status_url", "http"),
        # absurd numbers are refused, not stored (a node carries at most 300 calls)
        ("ivr", {"channels": 5001}, "options.channels", "at most 5000"),
        ("ivr", {"channels": 99999999999999999999}, "options.channels", "at most 5000"),
        (
            "ivr",
            {"channels": 4, "hold_timeout_ms": 10**20},
            "options.hold_timeout_ms",
            "at most 86400000 milliseconds",
        ),
        (
            "oscc",
            {**OSCC, "poll_interval_ms": 86400001},
            "options.poll_interval_ms",
            "at most 86400000 milliseconds",
        ),
        ("oscc", {**OSCC, "poll_interval_ms": "1s"}, "options.poll_interval_ms", "milliseconds"),
        ("oscc", {"username": "x"}, "options.base_url", "is required"),
        ("oscc", {**OSCC, "colour": "red"}, "options.colour", "is not known"),
    ],
)
async def test_bad_options_are_422_naming_the_option(
    app_client: ApiClient, target: str, options: dict[str, object], field: str, words: str
) -> None:
    master = await app_client.login_as("master")
    r = await master.put(f"/api/v1/routing/{target}", json={"options": options})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field and words in r.json()["detail"]
    assert await routing_config.load_options(target) is None  # nothing half-written


async def test_unknown_target_and_body_shape(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    r = await master.get("/api/v1/routing/carrier-pigeon")
    assert r.status_code == 404 and "installed:" in r.json()["detail"]
    r = await master.put("/api/v1/routing/ivr", json={"channels": 30})  # options not wrapped
    assert r.status_code in (400, 422), r.text
    assert await routing_config.load_options("ivr") is None


@pytest.mark.parametrize("role", ["manager", "campaign_admin", "campaign_supervisor"])
async def test_other_roles_are_refused(app_client: ApiClient, role: str) -> None:
    await routing_config.put(SYSTEM, "oscc", OSCC)
    group = await app_client.group()
    client = await app_client.login_as(role, [group])
    for answer in (
        await client.get("/api/v1/routing"),
        await client.get("/api/v1/routing/oscc"),
        await client.put("/api/v1/routing/oscc", json={"options": {**OSCC, "password": "x"}}),
        await client.delete("/api/v1/routing/oscc"),
    ):
        assert answer.status_code == 403, answer.text
        assert "s3cret-pw" not in answer.text
    assert await routing_config.load_options("oscc") == OSCC


async def test_options_are_tried_against_the_simulator_without_storing(
    app_client: ApiClient,
) -> None:
    center = ContactCenter(session_timeout_s=5)
    center.set_queue("sales", agents=2, free=1)
    server = SimulatorServer(center)
    await server.start()
    try:
        master = await app_client.login_as("master")
        fast = {"connect_timeout_ms": 1000, "request_timeout_ms": 1000}
        r = await master.post(
            "/api/v1/routing/oscc/test", json={"options": {"base_url": server.url, **fast}}
        )
        assert r.status_code == 200, r.text
        assert r.json()["ok"] is True and "session up" in r.json()["detail"]
        assert await routing_config.load_options("oscc") is None
        r = await master.post("/api/v1/routing/oscc/test", json={"options": {"username": "x"}})
        assert r.status_code == 422 and r.json()["field"] == "options.base_url"
    finally:
        await server.stop()
    r = await master.post(
        "/api/v1/routing/oscc/test", json={"options": {"base_url": server.url, **fast}}
    )
    assert r.status_code == 200 and r.json()["ok"] is False
    assert "cannot connect" in r.json()["detail"]
