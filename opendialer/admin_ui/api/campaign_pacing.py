"""The pacing parts of ``/api/v1/campaigns``: the fields' types (their bounds are
documented in the schema and checked by ``core/services/campaign_pacing.py``, so a
refusal carries its code), the summary's ``pacing`` and ``GET /api/v1/pacing-modes``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency

from opendialer.core.services import campaign_pacing, campaigns
from opendialer.core.services.common import Actor
from opendialer.sdk.pacing import ABANDON_WINDOWS


def _bounded(description: str, low: float, high: float, example: float) -> Any:
    # Documented, not enforced by msgspec: the service refuses with a coded error.
    return msgspec.Meta(
        description=description,
        examples=[example],
        extra_json_schema={"extra": {"minimum": low, "maximum": high}},
    )


PacingModeName = Annotated[
    str,
    msgspec.Meta(
        description=(
            "a registered pacing mode (GET /api/v1/pacing-modes): progressive (one call per "
            "free agent), power, predictive, or a plugin's"
        ),
        examples=["progressive"],
    ),
]
LinesPerAgent = Annotated[
    float, _bounded("power: calls launched per free agent", *campaign_pacing.LINES_PER_AGENT, 1.5)
]
AbandonTargetPct = Annotated[
    float,
    _bounded(
        "abandoned calls allowed, in percent of live-answered calls in the window",
        *campaign_pacing.ABANDON_TARGET_PCT,
        3.0,
    ),
]
AbandonWindow = Annotated[
    str,
    msgspec.Meta(
        description="24h (Ofcom), 30d (US TSR) or campaign (its whole life)",
        examples=["30d"],
        extra_json_schema={"extra": {"enum": list(ABANDON_WINDOWS)}},
    ),
]
AbandonTimeoutMs = Annotated[
    int,
    _bounded(
        "how long a person who answered waits for a free agent before being abandoned "
        "(the safe-harbour message is played); TSR and Ofcom count 2 s",
        *campaign_pacing.ABANDON_TIMEOUT_MS,
        2000,
    ),
]
MaxLinesPerAgent = Annotated[
    float,
    _bounded(
        "cap of calls not yet with an agent, per agent (power and predictive)",
        *campaign_pacing.MAX_LINES_PER_AGENT,
        3.0,
    ),
]


class SafeHarbourMessage(msgspec.Struct):
    """The campaign's safe-harbour message (its audio: ``.../safe-harbour-message/audio``)."""

    kind: str
    filename: str
    #: 1000-30000 when uploaded (the limits of docs/api.md).
    duration_ms: int
    uploaded_at: datetime
    #: Always ``G.711 µ-law`` at 8000 Hz mono: what every engine node plays.
    encoding: str
    sample_rate: int


class AbandonRate(msgspec.Struct):
    """Abandoned ÷ live-answered calls in the campaign's window (every node counted)."""

    window: str
    target_pct: float
    live_answered: int
    abandoned: int
    rate_pct: float
    over_target: bool


class PacingNode(msgspec.Struct):
    """One engine node's last decision for the campaign."""

    node: str
    mode: str
    dial_level: float
    launched: int
    predicted_free_agents: float
    #: Busy share of the agents the node counts, 0-1 (null: the target tells only free agents).
    occupancy: float | None
    reason: str
    detail: str
    decided_at: datetime


class PacingNow(msgspec.Struct):
    """How the campaign is paced now: the engine nodes' decisions of the last minute
    (``paced`` false: no engine is pacing it, and ``status`` says why), and its abandon
    rate."""

    mode: str
    over_dials: bool
    paced: bool
    #: ``paced``; else why not: ``stopped``, ``no_engine`` (no engine node alive),
    #: ``not_dialing`` (waiting or held: ``held_code``), ``starting`` (started or an
    #: engine joined under 30 s ago), ``not_paced`` (engines run, none paces it).
    status: str
    #: When Start last started the campaign (null: not since the upgrade that added it).
    started_at: datetime | None
    #: Engine nodes alive (heartbeat) when no decision is fresh; the pacing ones otherwise.
    live_engines: int
    #: With ``not_dialing``: the campaign's ``held_reason`` code (``waiting_next_run``...).
    held_code: str | None
    #: With ``no_engine`` and ``not_paced``: where an engine is diagnosed (a Master's page).
    fix_path: str | None
    engines: int
    #: Mean over the nodes: lines per agent aimed at (1.0 is progressive).
    dial_level: float | None
    launched: int
    predicted_free_agents: float
    occupancy: float | None
    #: The newest decision's short code (``progressive``, ``abandon_budget``...) and sentence.
    reason: str | None
    detail: str | None
    decided_at: datetime | None
    nodes: list[PacingNode]
    abandon: AbandonRate
    #: An over-dialing mode with no safe-harbour message: abandoned people hear silence.
    safe_harbour_missing: bool


class PacingModeOut(msgspec.Struct):
    name: str
    #: Launches calls without an agent held for each: people may be abandoned.
    over_dials: bool


class PacingModesController(Controller):
    path = "/pacing-modes"
    tags = ["campaigns"]

    @get("/", summary="The pacing modes a campaign may use (the installed ones)")
    async def list_modes(self, actor: NamedDependency[Actor]) -> list[PacingModeOut]:
        campaigns.visible_groups(actor)  # the campaign roles' list, like the campaigns
        return [PacingModeOut(m.name, m.over_dials) for m in campaign_pacing.pacing_modes()]


ROUTES: list[Any] = [PacingModesController]
