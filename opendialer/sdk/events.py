"""What the event hooks receive: frozen dataclasses, built by the JSON API's own
serialisers (``core/services/calls.call_json``, ``leads.lead_json``,
``campaign_fields.campaign_json``), so a plugin sees exactly what an API client
sees — never storage internals such as a lead's ``lease_owner``.

Each payload is also a read-only :class:`~collections.abc.Mapping` of its JSON
form (``call["status"]``, ``lead["created_at"]`` as an ISO string): hooks
written when these arrived as plain dicts keep working. New code reads the
typed attributes (``call.status``, ``call.ended_at`` as a ``datetime``).

The hot-path hooks (``call_originated``, ``call_refused``, ``dnc_checked``)
take a few typed scalars instead: they are called for every call, before any
record exists, and must cost nothing to build.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time
from typing import Any, Self


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date | time) else value


class ApiPayload(Mapping[str, Any]):
    """The mapping side of an event payload: its fields as the JSON API shows them."""

    __slots__ = ()

    @classmethod
    def from_api(cls, body: Mapping[str, Any], **extra: Any) -> Self:
        """The payload from an API body (keys it does not name are ignored)."""
        merged = {**body, **extra}
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        return cls(**{name: merged.get(name) for name in names})

    def __getitem__(self, key: str) -> Any:
        if key not in self._names():
            raise KeyError(key)
        return _jsonable(getattr(self, key))

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def _names(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self))  # type: ignore[arg-type]

    def as_json(self) -> dict[str, Any]:
        """A plain, JSON-serialisable dict (what ``GET /api/v1/...`` answers)."""
        return dict(self.items())


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=True)
class CallRecord(ApiPayload):
    """One call attempt (or DNC block) as ``GET /api/v1/campaigns/{id}/calls`` shows it."""

    id: int
    campaign_id: int
    lead_id: int
    lead_name: str | None
    attempt: int
    call_id: str | None
    node: str | None
    port: str | None
    phone: str | None
    created_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    sip_code: int | None
    disposition: str | None
    amd_verdict: str | None
    amd_decision_ms: float | None
    amd_reasons: str | None
    transfer_result: str | None
    dnc_service: str | None
    dnc_checked_at: datetime | None
    dnc_result: str | None
    #: A :class:`~opendialer.sdk.LeadStatus` value (the call's outcome).
    status: str | None
    detail: str | None
    #: The detail's code (docs/errors.md) and its values; None for an uncoded detail.
    detail_code: str | None = None
    detail_params: Mapping[str, str] | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=True)
class LeadRecord(ApiPayload):
    """A lead as ``GET /api/v1/campaigns/{id}/leads`` shows it, with its campaign's id."""

    id: int
    campaign_id: int
    name: str | None
    description: str | None
    phone: str
    attempts: int
    status: str
    next_attempt_at: datetime | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=True)
class CampaignRecord(ApiPayload):
    """A campaign as ``GET /api/v1/campaigns/{id}`` shows it."""

    id: int
    name: str
    description: str | None
    group_id: int | None
    start_date: date | None
    end_date: date | None
    start_time: time | None
    end_time: time | None
    timezone: str
    weekdays: list[str]
    pilot_number: str | None
    max_attempts: int
    retry_after_minutes: int
    type: str
    queue: str | None
    amd_enabled: bool
    dnc_service_id: int | None
    amd_params: Mapping[str, Any]
    default_region: str | None
    caller_id: str | None
    no_answer_timeout_s: int | None
    routing_target: str | None
    #: ``"STARTED"`` or ``"STOPPED"``.
    state: str
    state_reason: str | None
    #: The campaign's pacing (``docs/pacing.md``); None in payloads built before them.
    pacing_mode: str | None = None
    lines_per_agent: float | None = None
    abandon_target_pct: float | None = None
    abandon_window: str | None = None
    abandon_timeout_ms: int | None = None
    max_lines_per_agent: float | None = None


__all__ = ["ApiPayload", "CallRecord", "CampaignRecord", "LeadRecord"]
