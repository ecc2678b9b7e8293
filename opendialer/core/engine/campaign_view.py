"""What the engine knows of a campaign: its row, parsed once per read.

The scheduler reads the dialable campaigns' rows on every housekeeping tick;
each becomes a :class:`CampaignView` there, so nothing on a call's way (the
pacer, the DNC check, the dial, the outcome) looks a column up by name or
parses ``amd_params`` again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from opendialer.core import amd_settings
from opendialer.core.services.compliance_policy import CompliancePolicy, from_stored
from opendialer.sdk.contracts import AmdDecision, CallAction, RoutingRequest
from opendialer.sdk.pacing import PROGRESSIVE, PacingSettings

log = logging.getLogger(__name__)

#: An AMD verdict → what to do with the call (the campaign's ``on_machine`` …).
VerdictAction = Callable[[AmdDecision], CallAction]


def verdict_action(amd_params: Mapping[str, Any]) -> VerdictAction:
    """The campaign's verdict → action (``on_machine`` ... ``on_notsure``, core/amd_settings)."""
    actions = amd_settings.verdict_actions(amd_params)

    def decide(decision: AmdDecision) -> CallAction:
        # an unknown label: a person may be there, never drop them on a guess
        return actions.get(decision.label, CallAction.TRANSFER)

    return decide


def _amd_params(raw: Any) -> dict[str, Any]:
    """``amd_params`` as stored (a dict, or JSON text on some backends); {} if unreadable."""
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _number(row: Mapping[str, Any], name: str, default: float) -> float:
    value = row.get(name)
    return default if value is None else float(value)


def pacing_settings(row: Mapping[str, Any]) -> PacingSettings:
    """The campaign's pacing columns (m0011); a missing one takes the contract's default."""
    default = PacingSettings()
    return PacingSettings(
        mode=str(row.get("pacing_mode") or PROGRESSIVE),
        lines_per_agent=_number(row, "lines_per_agent", default.lines_per_agent),
        abandon_target_pct=_number(row, "abandon_target_pct", default.abandon_target_pct),
        abandon_window=str(row.get("abandon_window") or default.abandon_window),
        abandon_timeout_ms=int(_number(row, "abandon_timeout_ms", default.abandon_timeout_ms)),
        max_lines_per_agent=_number(row, "max_lines_per_agent", default.max_lines_per_agent),
    )


@lru_cache(maxsize=256)
def _policy(text: str) -> CompliancePolicy:
    return from_stored(text)


def compliance_policy(raw: Any) -> CompliancePolicy:
    """The stored policy, parsed once per distinct value (rows are read every second)."""
    if isinstance(raw, Mapping):
        raw = json.dumps(raw, sort_keys=True)
    return _policy(raw if isinstance(raw, str) else "{}")


@dataclass(frozen=True, slots=True)
class CampaignView:
    """A dialable campaign as the engine uses it (read-only; a new one per read of the row)."""

    id: int
    name: str
    type: str
    queue: str
    pilot_number: str
    caller_id: str | None
    no_answer_timeout_s: float
    max_attempts: int
    retry_after_minutes: int
    timezone: str
    #: The routing target's name: the campaign's own, else the one for its type.
    routing_target: str
    #: The DNC service checked before each call; None: numbers are not checked.
    dnc_service: int | None
    amd_enabled: bool
    amd_params: Mapping[str, Any] = field(default_factory=dict)
    #: The AMD strategy the campaign names (None: the engine's default).
    amd_strategy: str | None = None
    on_verdict: VerdictAction = field(default=verdict_action({}), compare=False)
    #: The pacing mode the campaign names and its settings.
    pacing: PacingSettings = field(default_factory=PacingSettings)
    #: Its compliance policy (local hours, holidays, contact limits…).
    compliance: CompliancePolicy = field(default_factory=CompliancePolicy)
    #: The campaign names its routing target (False: its type's default, which the
    #: chosen platform's own target stands in for while it is not configured).
    routing_chosen: bool = False

    @classmethod
    def from_row(cls, row: Mapping[str, Any], routing_by_type: Mapping[str, str]) -> CampaignView:
        """From a ``campaign`` row as Piccolo selects it."""
        params = _amd_params(row.get("amd_params"))
        strategy = params.get("strategy")
        return cls(
            id=int(row["id"]),
            name=str(row.get("name") or ""),
            type=str(row["type"]),
            queue=str(row.get("queue") or ""),
            pilot_number=str(row["pilot_number"]),
            caller_id=row.get("caller_id"),
            no_answer_timeout_s=float(row.get("no_answer_timeout_s") or 30),
            max_attempts=int(row["max_attempts"]),
            retry_after_minutes=int(row["retry_after_minutes"]),
            timezone=str(row.get("timezone") or "UTC"),
            routing_target=str(
                row.get("routing_target") or routing_by_type.get(str(row["type"]), "")
            ),
            dnc_service=int(row["dnc_service"]) if row.get("dnc_service") else None,
            amd_enabled=bool(row.get("amd_enabled")),
            amd_params=params,
            amd_strategy=str(strategy) if strategy else None,
            on_verdict=verdict_action(params),
            pacing=pacing_settings(row),
            compliance=compliance_policy(row.get("compliance")),
            routing_chosen=bool(row.get("routing_target")),
        )

    def routing_request(self) -> RoutingRequest:
        return RoutingRequest(
            campaign_id=self.id,
            campaign_type=self.type,
            queue=self.queue,
            pilot_number=self.pilot_number,
        )


__all__ = ["CampaignView", "VerdictAction", "pacing_settings", "verdict_action"]
