"""A campaign's compliance policy as its admins read and change it, and what the policy
asks of the rest of the campaign (issue 18; the rules: compliance_policy.py).

- Reading: a Campaign Administrator or Supervisor who sees the campaign.
- Changing: a Campaign Administrator of its group, STARTED or not (a running
  campaign's engine reads it on its next round). A preset whose rules the campaign's
  own settings break is not refused: those settings are *tightened* to it in the same
  transaction (a longer no-answer timeout, a lower abandon target…) and the answer
  names each one (``adjusted``) — so choosing ``us_tsr`` is one step, never a 422
  followed by a trip to another page.
- The campaign's settings: once a policy is set, the campaign form cannot loosen them
  past it (:func:`check_campaign_values`: a 422 naming the field).
- Start: a policy that requires a caller ID (the campaign's or the platform's), a
  recorded message for abandoned calls (over-dialing campaigns) or a DNC list of a
  limited age (a DNC service to ask) refuses to start without it
  (:func:`require_startable`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from opendialer.core.domain import CampaignState
from opendialer.core.services import compliance_policy as rules
from opendialer.core.services.campaigns import load, require_writer, write_transaction
from opendialer.core.services.common import Actor
from opendialer.core.services.compliance_policy import CompliancePolicy, PolicyChange
from opendialer.core.services.errors import Conflict, FieldErrors, ValidationFailed
from opendialer.core.services.holiday_calendars import holiday_names
from opendialer.core.storage.tables import Campaign

#: Abandon windows from the loosest to the strictest.
_WINDOW_ORDER = ("campaign", "30d", "24h")


def policy_of(row: dict[str, Any]) -> CompliancePolicy:
    return rules.from_stored(row.get("compliance"))


def _window_ok(policy: CompliancePolicy, window: str) -> bool:
    if policy.abandon_window is None:
        return True
    return _WINDOW_ORDER.index(window) >= _WINDOW_ORDER.index(policy.abandon_window)


def tightened_settings(policy: CompliancePolicy, row: dict[str, Any]) -> dict[str, Any]:
    """The campaign's settings the policy moves (column → new value), none looser."""
    changes: dict[str, Any] = {}
    ring = policy.min_ring_seconds
    if ring is not None and (row.get("no_answer_timeout_s") or 0) < ring:
        changes["no_answer_timeout_s"] = ring
    if policy.max_abandon_pct is not None and row["abandon_target_pct"] > policy.max_abandon_pct:
        changes["abandon_target_pct"] = policy.max_abandon_pct
    if policy.abandon_window is not None and not _window_ok(policy, row["abandon_window"]):
        changes["abandon_window"] = policy.abandon_window
    limit = policy.max_abandon_timeout_ms
    if limit is not None and row["abandon_timeout_ms"] > limit:
        changes["abandon_timeout_ms"] = limit
    return changes


def check_campaign_values(policy: CompliancePolicy, values: dict[str, Any]) -> None:
    """The campaign's new settings keep its policy; else one 422 per field."""
    problems = FieldErrors()
    ring = policy.min_ring_seconds
    timeout = values.get("no_answer_timeout_s")
    if ring is not None and timeout is not None and timeout < ring:
        problems.add(
            ValidationFailed(
                "compliance.ring_time_below_policy",
                field="no_answer_timeout_s",
                value=timeout,
                min=ring,
            )
        )
    target = values.get("abandon_target_pct")
    if policy.max_abandon_pct is not None and target is not None:
        if target > policy.max_abandon_pct:
            problems.add(
                ValidationFailed(
                    "compliance.abandon_above_policy",
                    field="abandon_target_pct",
                    value=target,
                    max=policy.max_abandon_pct,
                )
            )
    window = values.get("abandon_window")
    if window is not None and not _window_ok(policy, window):
        problems.add(
            ValidationFailed(
                "compliance.abandon_window_policy",
                field="abandon_window",
                value=window,
                window=policy.abandon_window,
            )
        )
    wait = values.get("abandon_timeout_ms")
    if policy.max_abandon_timeout_ms is not None and wait is not None:
        if wait > policy.max_abandon_timeout_ms:
            problems.add(
                ValidationFailed(
                    "compliance.abandon_timeout_above_policy",
                    field="abandon_timeout_ms",
                    value=wait,
                    max=policy.max_abandon_timeout_ms,
                )
            )
    problems.raise_if_any()


async def _platform_caller_id() -> str:
    """The communication platform's default caller ID ('' when none or not editable)."""
    from opendialer.core.services.platform_config import load_platform_config

    try:
        stored = await load_platform_config()
    except Exception:  # no editable platform (the simulator): it has no caller ID
        return ""
    return str((stored or {}).get("caller_id") or "")


async def require_startable(row: dict[str, Any]) -> None:
    """Start refuses a campaign its policy forbids to dial as it is."""
    from opendialer.core.services.campaign_messages import audio_of
    from opendialer.core.services.campaign_pacing import over_dials

    policy = policy_of(row)
    if policy.caller_id_required and not row.get("caller_id"):
        if not await _platform_caller_id():
            raise Conflict(
                "compliance.caller_id_required", error="caller_id_required", field="caller_id"
            )
    if policy.dnc_max_age_days is not None and not row.get("dnc_service"):
        raise Conflict(
            "compliance.dnc_service_required",
            error="dnc_service_required",
            field="dnc_service",
            days=policy.dnc_max_age_days,
        )
    if policy.safe_harbour_required and over_dials(row.get("pacing_mode") or "progressive"):
        if await audio_of(row["id"]) is None:
            raise Conflict(
                "compliance.safe_harbour_required",
                error="safe_harbour_required",
                field="safe_harbour_message",
            )


def policy_body(row: dict[str, Any], *, loosened: list[str] | None = None) -> dict[str, Any]:
    """What ``GET /campaigns/{id}/compliance`` answers."""
    return {
        "campaign_id": row["id"],
        **rules.as_json(policy_of(row)),
        "loosened": loosened or [],
        "adjusted": {},
    }


async def get_policy(actor: Actor, campaign_id: int) -> dict[str, Any]:
    return policy_body(await load(actor, campaign_id))


async def update_policy(actor: Actor, campaign_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Replace the campaign's policy with the one ``data`` asks for (a preset and the
    values given over it); the campaign's settings the policy moves are tightened in
    the same transaction and named in ``adjusted``."""
    row = await load(actor, campaign_id)
    require_writer(actor)
    change: PolicyChange = rules.build(data)
    adjusted = tightened_settings(change.policy, row)
    stored = json.dumps(rules.as_json(change.policy), sort_keys=True)
    if row["state"] == CampaignState.STARTED.value:
        # A running campaign must keep the policy it is given from its next call on:
        # what start would refuse (no caller ID, no recorded message) is refused here.
        await require_startable({**row, **adjusted, "compliance": stored})
    async with write_transaction():
        values: dict[Any, Any] = {getattr(Campaign, k): v for k, v in adjusted.items()}
        values[Campaign.compliance] = stored
        values[Campaign.updated_at] = datetime.now(UTC)
        await Campaign.update(values).where(Campaign.id == campaign_id).run()
    body = policy_body({**row, **adjusted, "compliance": stored}, loosened=change.loosened)
    body["adjusted"] = adjusted
    return body


def presets() -> list[dict[str, Any]]:
    """Every preset's values (the form fills them in when one is chosen)."""
    return [
        rules.as_json(replace(rules.PRESET_VALUES.get(name, CompliancePolicy()), preset=name))
        for name in rules.PRESETS
        if name != "custom"
    ]


async def campaign_policy(actor: Actor, campaign_id: int) -> CompliancePolicy:
    return policy_of(await load(actor, campaign_id))


def skipped_days(
    policy: CompliancePolicy, days: list[date], language: str = "en"
) -> dict[date, list[str]]:
    """Of ``days`` (the campaign's schedule), those its policy's holidays skip, with why
    (``*``: one of the campaign's own days off)."""
    if not (policy.holiday_calendars or policy.holiday_dates):
        return {}
    out: dict[date, list[str]] = {}
    for day in days:
        names = holiday_names(day, policy.holiday_calendars, policy.holiday_dates, language)
        if names:
            out[day] = names
    return out


__all__ = [
    "campaign_policy",
    "check_campaign_values",
    "get_policy",
    "policy_body",
    "policy_of",
    "presets",
    "require_startable",
    "skipped_days",
    "tightened_settings",
    "update_policy",
]
