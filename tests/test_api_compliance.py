"""A campaign's compliance policy over HTTP (issue 18): presets fill the values, a
tighter value keeps the preset and a looser one makes it ``custom``, the campaign's own
settings are tightened to it and can no longer be loosened past it, start refuses what
it forbids, and bad values are 422s naming the field; the leads' time zones come from
the CSV's column, its region, the number or the campaign."""

from __future__ import annotations

from typing import Any

from api_client import ApiClient
from test_api_campaigns import admin_and_group, campaign_body, give_leads


async def _campaign(admin: Any, group: int, **extra: Any) -> int:
    r = await admin.post("/api/v1/campaigns", json=campaign_body(group, **extra))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def test_a_new_campaign_has_no_policy_and_the_presets_are_listed(
    app_client: ApiClient,
) -> None:
    admin, group = await admin_and_group(app_client)
    cid = await _campaign(admin, group)
    r = await admin.get(f"/api/v1/campaigns/{cid}/compliance")
    assert r.status_code == 200, r.text
    policy = r.json()
    assert policy["preset"] == "none" and policy["local_hours"] is None
    assert policy["max_attempts_per_day"] is None and policy["caller_id_required"] is False

    presets = {p["preset"]: p for p in (await admin.get("/api/v1/compliance-presets")).json()}
    assert set(presets) == {"none", "us_tsr", "uk_ofcom", "br_anatel", "fr_2022"}
    assert presets["us_tsr"]["local_hours"]["sun"] == ["08:00-21:00"]
    assert presets["fr_2022"]["local_hours"]["mon"] == ["10:00-13:00", "14:00-20:00"]
    assert presets["fr_2022"]["local_hours"]["sat"] == []
    assert presets["fr_2022"]["max_attempts_per_30_days"] == 4
    assert presets["uk_ofcom"]["hours_after_abandon"] == 72
    assert presets["br_anatel"]["short_call_guard_pct"] == 80.0


async def test_a_preset_tightens_the_campaign_and_keeps_its_name_when_tightened(
    app_client: ApiClient,
) -> None:
    admin, group = await admin_and_group(app_client)
    cid = await _campaign(
        admin, group, no_answer_timeout_s=10, abandon_target_pct=5.0, abandon_window="campaign"
    )
    r = await admin.put(f"/api/v1/campaigns/{cid}/compliance", json={"preset": "us_tsr"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["preset"] == "us_tsr" and body["loosened"] == []
    # The campaign's own settings were moved to the policy, and the answer says so.
    assert body["adjusted"] == {
        "no_answer_timeout_s": 15,
        "abandon_target_pct": 3.0,
        "abandon_window": "30d",
    }
    campaign = (await admin.get(f"/api/v1/campaigns/{cid}")).json()
    assert campaign["no_answer_timeout_s"] == 15 and campaign["abandon_window"] == "30d"
    assert campaign["compliance_preset"] == "us_tsr"

    # Tighter than the preset: still us_tsr.
    tighter = {
        "preset": "us_tsr",
        "local_hours": {d: ["09:00-20:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        "max_attempts_per_day": 2,
        "min_ring_seconds": 20,
    }
    r = await admin.put(f"/api/v1/campaigns/{cid}/compliance", json=tighter)
    assert r.status_code == 200, r.text
    assert r.json()["preset"] == "us_tsr", r.json()
    assert r.json()["local_hours"]["sat"] == []
    assert r.json()["adjusted"] == {"no_answer_timeout_s": 20}

    # Looser: a later end and no caller ID make it custom, and the answer names both.
    looser = {
        "preset": "us_tsr",
        "local_hours": {d: ["08:00-22:00"] for d in ("mon", "tue")},
        "caller_id_required": False,
    }
    r = await admin.put(f"/api/v1/campaigns/{cid}/compliance", json=looser)
    assert r.status_code == 200, r.text
    assert r.json()["preset"] == "custom"
    assert r.json()["loosened"] == ["local_hours", "caller_id_required"]
    assert (await admin.get(f"/api/v1/campaigns/{cid}")).json()["compliance_preset"] == "custom"


async def test_the_campaign_cannot_be_loosened_past_its_policy(app_client: ApiClient) -> None:
    admin, group = await admin_and_group(app_client)
    cid = await _campaign(admin, group)
    await admin.put(f"/api/v1/campaigns/{cid}/compliance", json={"preset": "uk_ofcom"})
    r = await admin.patch(
        f"/api/v1/campaigns/{cid}",
        json={"no_answer_timeout_s": 12, "abandon_target_pct": 4.0, "abandon_window": "30d"},
    )
    assert r.status_code == 422, r.text
    fields = {e["field"]: e["code"] for e in r.json()["errors"]}
    assert fields == {
        "no_answer_timeout_s": "compliance.ring_time_below_policy",
        "abandon_target_pct": "compliance.abandon_above_policy",
        "abandon_window": "compliance.abandon_window_policy",
    }
    assert "requires" in r.json()["detail"]
    campaign = (await admin.get(f"/api/v1/campaigns/{cid}")).json()
    assert campaign["no_answer_timeout_s"] == 30 and campaign["abandon_window"] == "24h"
    # Within the policy: saved.
    r = await admin.patch(f"/api/v1/campaigns/{cid}", json={"no_answer_timeout_s": 25})
    assert r.status_code == 200, r.text


async def test_start_refuses_what_the_policy_requires(app_client: ApiClient) -> None:
    admin, group = await admin_and_group(app_client)
    cid = await _campaign(admin, group)
    await give_leads(admin, cid)
    await admin.put(f"/api/v1/campaigns/{cid}/compliance", json={"preset": "br_anatel"})
    r = await admin.post(f"/api/v1/campaigns/{cid}/start")
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "compliance.caller_id_required"
    assert r.json()["field"] == "caller_id"
    assert (await admin.get(f"/api/v1/campaigns/{cid}")).json()["state"] == "STOPPED"

    r = await admin.patch(f"/api/v1/campaigns/{cid}", json={"caller_id": "+55 41 3015 0310"})
    assert r.status_code == 200, r.text
    r = await admin.post(f"/api/v1/campaigns/{cid}/start")
    assert r.status_code == 200, r.text

    # Over-dialing under a policy that requires the recorded message: refused without it.
    other = await _campaign(admin, group, name="Predictive", pacing_mode="predictive")
    await give_leads(admin, other)
    await admin.put(
        f"/api/v1/campaigns/{other}/compliance",
        json={"preset": "uk_ofcom", "caller_id_required": False},
    )
    r = await admin.post(f"/api/v1/campaigns/{other}/start")
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "compliance.safe_harbour_required"

    # A policy limiting the DNC list's age needs a DNC service to ask.
    unchecked = await _campaign(admin, group, name="Unchecked", dnc_service_id=None)
    await give_leads(admin, unchecked)
    await admin.put(f"/api/v1/campaigns/{unchecked}/compliance", json={"dnc_max_age_days": 31})
    r = await admin.post(f"/api/v1/campaigns/{unchecked}/start")
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "compliance.dnc_service_required"
    assert r.json()["field"] == "dnc_service"
    assert "(31 days)" in r.json()["detail"]


async def test_bad_values_are_422_naming_each_field_and_nothing_changes(
    app_client: ApiClient,
) -> None:
    admin, group = await admin_and_group(app_client)
    cid = await _campaign(admin, group)
    bad = {
        "preset": "custom",
        "local_hours": {"mon": ["21:00-08:00"]},
        "holiday_calendars": ["BR-XX"],
        "holiday_dates": ["24/12/2026"],
        "max_attempts_per_day": 0,
        "short_call_guard_pct": 150,
    }
    r = await admin.put(f"/api/v1/campaigns/{cid}/compliance", json=bad)
    assert r.status_code == 422, r.text
    fields = {e["field"]: e["code"] for e in r.json()["errors"]}
    assert fields == {
        "local_hours": "compliance.local_hours_invalid",
        "holiday_calendars": "compliance.holiday_subdivision_unknown",
        "holiday_dates": "compliance.holiday_date_invalid",
        "max_attempts_per_day": "compliance.value_out_of_range",
        "short_call_guard_pct": "compliance.value_out_of_range",
    }
    r = await admin.put(
        f"/api/v1/campaigns/{cid}/compliance", json={"local_hours": {"moon": ["08:00-09:00"]}}
    )
    assert r.status_code == 422 and r.json()["code"] == "compliance.local_hours_days"
    r = await admin.put(f"/api/v1/campaigns/{cid}/compliance", json={"preset": "gdpr"})
    assert r.status_code == 422 and r.json()["code"] == "compliance.preset_unknown"
    r = await admin.put(f"/api/v1/campaigns/{cid}/compliance", json={"nightly": True})
    assert r.status_code in (400, 422), r.text
    assert (await admin.get(f"/api/v1/campaigns/{cid}/compliance")).json()["preset"] == "none"

    # A custom policy with holidays of a country and a subdivision, and days of its own.
    good = {
        "holiday_calendars": ["br", "BR-SP"],
        "holiday_dates": ["2026-12-24", "2026-12-31"],
        "max_attempts_per_day": 3,
    }
    r = await admin.put(f"/api/v1/campaigns/{cid}/compliance", json=good)
    assert r.status_code == 200, r.text
    assert r.json()["preset"] == "custom"
    assert r.json()["holiday_calendars"] == ["BR", "BR-SP"]


async def test_a_supervisor_reads_the_policy_and_cannot_change_it(app_client: ApiClient) -> None:
    admin, group = await admin_and_group(app_client)
    supervisor = await app_client.login_as("campaign_supervisor", [group])
    cid = await _campaign(admin, group)
    assert (await supervisor.get(f"/api/v1/campaigns/{cid}/compliance")).status_code == 200
    r = await supervisor.put(f"/api/v1/campaigns/{cid}/compliance", json={"preset": "us_tsr"})
    assert r.status_code == 403, r.text


async def test_each_lead_gets_its_time_zone(app_client: ApiClient) -> None:
    """From the CSV's timezone, its region, the number's area code, else the campaign."""
    admin, group = await admin_and_group(app_client)
    cid = await _campaign(admin, group, timezone="America/Sao_Paulo")
    csv_text = (
        "nome,telefone,região,fuso_horario\n"
        "Ana,554183015031,,\n"  # the guide's number: Curitiba's area code
        "Bia,5592991234567,,\n"  # Manaus's area code
        "Caio,5511987654321,AM,\n"  # a region beats the number
        "Duda,5511987654322,,America/Rio_Branco\n"  # a zone beats both
        "Edu,+1 212 555 0143,,\n"  # New York
        "Fabi,5511987654323,TX,\n"  # TX is no Brazilian state: refused, named
        "Gil,5511987654324,,Mars/Olympus\n"  # refused, named
    )
    r = await admin.post(
        f"/api/v1/campaigns/{cid}/leads",
        content=csv_text.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 422, r.text  # two bad rows: nothing imported, both named
    errors = {(e["line"], e["field"]): e["code"] for e in r.json()["errors"]}
    assert errors == {
        (7, "region"): "lead_row.region_unknown",
        (8, "timezone"): "lead_row.timezone_unknown",
    }

    good = "\n".join(csv_text.splitlines()[:6]) + "\nFabi,5511987654323,US-TX,\n"
    r = await admin.post(
        f"/api/v1/campaigns/{cid}/leads",
        content=good.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    leads = (await admin.get(f"/api/v1/campaigns/{cid}/leads")).json()["items"]
    zones = {lead["name"]: (lead["timezone"], lead["timezone_source"]) for lead in leads}
    assert zones == {
        "Ana": ("America/Sao_Paulo", "number"),
        "Bia": ("America/Manaus", "number"),
        "Caio": ("America/Eirunepe America/Manaus", "region"),
        "Duda": ("America/Rio_Branco", "csv"),
        "Edu": ("America/New_York", "number"),
        "Fabi": ("America/Chicago America/Denver", "region"),
    }
    assert all(lead["deferred"] is None for lead in leads)


async def test_a_running_campaign_cannot_be_given_a_policy_it_breaks(
    app_client: ApiClient,
) -> None:
    """Start refuses a campaign without the caller ID its policy requires; a running
    campaign is refused the policy itself (it would break it from its next call on)."""
    admin, group = await admin_and_group(app_client)
    cid = await _campaign(admin, group)
    await give_leads(admin, cid)
    assert (await admin.post(f"/api/v1/campaigns/{cid}/start")).status_code == 200
    r = await admin.put(f"/api/v1/campaigns/{cid}/compliance", json={"preset": "us_tsr"})
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "compliance.caller_id_required"
    assert (await admin.get(f"/api/v1/campaigns/{cid}/compliance")).json()["preset"] == "none"
    # One it keeps is taken at once, the campaign still running.
    r = await admin.put(f"/api/v1/campaigns/{cid}/compliance", json={"preset": "fr_2022"})
    assert r.status_code == 200, r.text
    assert (await admin.get(f"/api/v1/campaigns/{cid}")).json()["state"] == "STARTED"
