"""A campaign's pacing fields over /api/v1/campaigns (issue 17): defaults, every field
round-trips and PATCH changes only what is sent, each bad value is a 422 with its own
code at its field (and nothing is saved), the modes are the installed ones
(``GET /api/v1/pacing-modes``), and the OpenAPI document lists the fields with their
bounds. On SQLite and PostgreSQL (whose REAL columns keep ~7 digits)."""

from __future__ import annotations

from typing import Any

import pytest
from api_client import ApiClient
from pacing_support import ModesPlugin, over_dialing_modes  # noqa: F401  (fixture)
from test_api_campaigns import admin_and_group, campaign_body

from opendialer.core.plugins import get_plugin_manager

pytestmark = [pytest.mark.pg, pytest.mark.usefixtures("over_dialing_modes")]

DEFAULTS = {
    "pacing_mode": "progressive",
    "lines_per_agent": 1.5,
    "abandon_target_pct": 3.0,
    "abandon_window": "30d",
    "abandon_timeout_ms": 2000,
    "max_lines_per_agent": 3.0,
}


async def test_a_new_campaign_paces_progressively_by_default(app_client: ApiClient) -> None:
    admin, group = await admin_and_group(app_client)
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group))
    assert r.status_code == 201, r.text
    created = r.json()
    assert {k: created[k] for k in DEFAULTS} == DEFAULTS
    assert created["safe_harbour_message"] is None
    listed = (await admin.get("/api/v1/campaigns")).json()["items"]
    assert listed == [created]


async def test_every_pacing_field_round_trips_and_patch_changes_only_what_is_sent(
    app_client: ApiClient,
) -> None:
    admin, group = await admin_and_group(app_client)
    settings = {
        "pacing_mode": "power",
        "lines_per_agent": 1.3,  # a REAL on PostgreSQL reads back 1.2999999523
        "abandon_target_pct": 2.7,
        "abandon_window": "24h",
        "abandon_timeout_ms": 1500,
        "max_lines_per_agent": 4.1,
    }
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group, **settings))
    assert r.status_code == 201, r.text
    created = r.json()
    assert {k: created[k] for k in settings} == settings
    cid = created["id"]
    assert (await admin.get(f"/api/v1/campaigns/{cid}")).json() == created
    r = await admin.patch(
        f"/api/v1/campaigns/{cid}", json={"pacing_mode": "predictive", "abandon_window": "campaign"}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {**created, "pacing_mode": "predictive", "abandon_window": "campaign"}
    # whole numbers are numbers too; the bounds are inclusive
    r = await admin.patch(
        f"/api/v1/campaigns/{cid}",
        json={
            "pacing_mode": "power",
            "lines_per_agent": 5,
            "max_lines_per_agent": 5.0,
            "abandon_target_pct": 0,
            "abandon_timeout_ms": 10000,
        },
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["lines_per_agent"], got["max_lines_per_agent"]) == (5.0, 5.0)
    assert (got["abandon_target_pct"], got["abandon_timeout_ms"]) == (0.0, 10000)
    r = await admin.patch(f"/api/v1/campaigns/{cid}", json={"pacing_mode": "progressive"})
    assert r.status_code == 200 and r.json()["lines_per_agent"] == 5.0, r.text


BAD_VALUES = [
    ({"pacing_mode": "turbo"}, "pacing_mode", "campaign.pacing_mode_unknown"),
    ({"pacing_mode": ""}, "pacing_mode", "campaign.pacing_mode_unknown"),
    ({"lines_per_agent": 0.99}, "lines_per_agent", "campaign.lines_per_agent_out_of_range"),
    ({"lines_per_agent": 5.01}, "lines_per_agent", "campaign.lines_per_agent_out_of_range"),
    (
        {"abandon_target_pct": -0.1},
        "abandon_target_pct",
        "campaign.abandon_target_pct_out_of_range",
    ),
    (
        {"abandon_target_pct": 10.5},
        "abandon_target_pct",
        "campaign.abandon_target_pct_out_of_range",
    ),
    ({"abandon_window": "7d"}, "abandon_window", "campaign.abandon_window_invalid"),
    ({"abandon_window": "30D"}, "abandon_window", "campaign.abandon_window_invalid"),
    ({"abandon_timeout_ms": 499}, "abandon_timeout_ms", "campaign.abandon_timeout_ms_out_of_range"),
    (
        {"abandon_timeout_ms": 10001},
        "abandon_timeout_ms",
        "campaign.abandon_timeout_ms_out_of_range",
    ),
    (
        {"max_lines_per_agent": 0.5},
        "max_lines_per_agent",
        "campaign.max_lines_per_agent_out_of_range",
    ),
    (
        {"max_lines_per_agent": 6},
        "max_lines_per_agent",
        "campaign.max_lines_per_agent_out_of_range",
    ),
    (
        {"pacing_mode": "power", "lines_per_agent": 3.5, "max_lines_per_agent": 3.0},
        "lines_per_agent",
        "campaign.lines_above_max",
    ),
]


@pytest.mark.parametrize(("values", "field", "code"), BAD_VALUES)
async def test_each_bad_value_is_a_422_with_its_code_and_nothing_is_saved(
    app_client: ApiClient, values: dict[str, Any], field: str, code: str
) -> None:
    admin, group = await admin_and_group(app_client)
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group, **values))
    assert r.status_code == 422, r.text
    body = r.json()
    assert (body["error"], body["code"], body["field"]) == ("validation_failed", code, field)
    assert field in body["detail"]
    assert (await admin.get("/api/v1/campaigns")).json()["total"] == 0
    good = await admin.post("/api/v1/campaigns", json=campaign_body(group))
    cid = good.json()["id"]
    r = await admin.patch(f"/api/v1/campaigns/{cid}", json=values)
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (422, code, field), r.text
    assert (await admin.get(f"/api/v1/campaigns/{cid}")).json() == good.json()


async def test_every_bad_field_is_listed_at_once(app_client: ApiClient) -> None:
    admin, group = await admin_and_group(app_client)
    bad = {
        "pacing_mode": "turbo",
        "abandon_target_pct": 11,
        "abandon_window": "week",
        "abandon_timeout_ms": 100,
    }
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group, **bad))
    assert r.status_code == 422, r.text
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [
        ("pacing_mode", "campaign.pacing_mode_unknown"),
        ("abandon_target_pct", "campaign.abandon_target_pct_out_of_range"),
        ("abandon_window", "campaign.abandon_window_invalid"),
        ("abandon_timeout_ms", "campaign.abandon_timeout_ms_out_of_range"),
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [("lines_per_agent", "lots"), ("abandon_timeout_ms", 2000.5), ("pacing_mode", 3)],
)
async def test_a_value_of_the_wrong_type_is_a_422_naming_its_field(
    app_client: ApiClient, field: str, value: Any
) -> None:
    admin, group = await admin_and_group(app_client)
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group, **{field: value}))
    assert r.status_code == 422 and r.json()["field"] == field, r.text


async def test_the_modes_are_the_installed_ones(app_client: ApiClient) -> None:
    admin, group = await admin_and_group(app_client)
    r = await admin.get("/api/v1/pacing-modes")
    assert r.status_code == 200, r.text
    modes = {m["name"]: m["over_dials"] for m in r.json()}
    assert r.json()[0] == {"name": "progressive", "over_dials": False}
    assert modes["power"] is True and modes["predictive"] is True
    assert set(modes) == set(get_plugin_manager().factories("pacing_modes"))
    # a mode a plugin registers is accepted by its name, and refused once it is gone
    pm = get_plugin_manager()
    assert pm.register(ModesPlugin(["gentle"]), name="gentle_mode")
    try:
        r = await admin.post("/api/v1/campaigns", json=campaign_body(group, pacing_mode="gentle"))
        assert r.status_code == 201 and r.json()["pacing_mode"] == "gentle", r.text
    finally:
        pm.unregister("gentle_mode")
    r = await admin.post(
        "/api/v1/campaigns", json=campaign_body(group, "Other", pacing_mode="gentle")
    )
    assert r.json()["code"] == "campaign.pacing_mode_unknown", r.text
    assert "gentle" not in r.json()["detail"].split("use one of")[1]


async def test_a_supervisor_reads_the_fields_and_cannot_change_them(
    app_client: ApiClient,
) -> None:
    admin, group = await admin_and_group(app_client)
    supervisor = await app_client.login_as("campaign_supervisor", [group])
    cid = (await admin.post("/api/v1/campaigns", json=campaign_body(group))).json()["id"]
    r = await supervisor.get(f"/api/v1/campaigns/{cid}")
    assert r.status_code == 200 and r.json()["abandon_window"] == "30d", r.text
    r = await supervisor.patch(f"/api/v1/campaigns/{cid}", json={"abandon_target_pct": 1.0})
    assert r.status_code == 403, r.text


async def test_the_openapi_document_lists_the_fields_with_their_bounds(
    app_client: ApiClient,
) -> None:
    schema = (await app_client.get("/schema/openapi.json")).json()
    components = schema["components"]["schemas"]
    for name in ("Campaign", "CampaignCreate", "CampaignUpdate"):
        properties = components[name]["properties"]
        assert set(DEFAULTS) <= set(properties), name

    def field(name: str) -> dict[str, Any]:
        prop = components["CampaignCreate"]["properties"][name]
        return next((p for p in prop.get("oneOf", []) if p.get("type") != "null"), prop)

    assert (field("lines_per_agent")["minimum"], field("lines_per_agent")["maximum"]) == (1.0, 5.0)
    assert (field("abandon_target_pct")["minimum"], field("abandon_target_pct")["maximum"]) == (
        0.0,
        10.0,
    )
    assert (field("abandon_timeout_ms")["minimum"], field("abandon_timeout_ms")["maximum"]) == (
        500,
        10000,
    )
    assert field("abandon_window")["enum"] == ["24h", "30d", "campaign"]
    assert field("pacing_mode")["description"].startswith("a registered pacing mode")
    assert "safe_harbour_message" in components["Campaign"]["properties"]
    assert "pacing" in components["CampaignSummary"]["properties"]
    assert {"dial_level", "abandon", "reason", "occupancy", "paced"} <= set(
        components["PacingNow"]["properties"]
    )
    assert "/api/v1/pacing-modes" in schema["paths"]
    message = schema["paths"]["/api/v1/campaigns/{campaign_id}/safe-harbour-message"]
    upload = message["put"]
    assert set(upload["requestBody"]["content"]) == {
        "audio/wav",
        "audio/mpeg",
        "multipart/form-data",
    }
    assert upload["requestBody"]["content"]["multipart/form-data"]["schema"]["required"] == ["file"]
    assert {"409", "413", "415", "422"} <= set(upload["responses"])
    assert {"get", "delete"} <= set(message)
    audio = schema["paths"]["/api/v1/campaigns/{campaign_id}/safe-harbour-message/audio"]["get"]
    assert list(audio["responses"]["200"]["content"]) == ["audio/wav"]
