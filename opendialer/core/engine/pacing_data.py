"""What pacing reads from and writes to the database, every few seconds, never per decision.

* a campaign's last :data:`RECENT_CALLS` ended call records, as the
  :class:`~opendialer.sdk.pacing.EndedCall`\\ s its :class:`OutcomeStats` are made of;
* its abandon budget (``core/services/abandon_rate.py``: every node counts the same
  rows, so the budget is one for all nodes);
* its safe-harbour message (``campaign_message``, kind ``safe_harbour``), read again
  only when its ``uploaded_at`` moved;
* each node's last decision per campaign (``pacing_decision``): written here, read by
  the web's Summary and, for the fair share of free agents, by the other nodes — with
  its unresolved calls and the fewest participants they were launched among;
* the engine nodes alive (``engine_node`` heartbeats) and when each started: the fair
  share counts in a node that has not reported yet (``fair_share.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from opendialer.core.domain import LeadStatus
from opendialer.core.engine.fair_share import Reported
from opendialer.core.engine.window import TimeZoneError, zone
from opendialer.core.services.abandon_rate import (
    AbandonCounts,
    abandon_counts_between,
    is_live_answered,
    window_start,
)
from opendialer.core.storage.tables import (
    CallRecord,
    CampaignMessage,
    EngineNode,
    PacingDecisionRow,
)
from opendialer.sdk.contracts import CampaignPacingState
from opendialer.sdk.pacing import AbandonBudget, EndedCall, OutcomeStats, PacingSettings

#: Ended calls the statistics are made of (the most recent).
RECENT_CALLS = 500
#: The ``campaign_message`` kind played to a person the dialer abandons.
SAFE_HARBOUR = "safe_harbour"
#: The message left on answering machines (``on_machine: leave_message``).
VOICEMAIL = "voicemail"


def aware(value: Any) -> datetime | None:
    """A timestamp column as a UTC-aware datetime (SQLite may hand back text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def ended_call(row: Mapping[str, Any], tz: ZoneInfo) -> EndedCall | None:
    """One call record as the statistics see it (None: not a call that went out)."""
    created, answered, ended = (
        aware(row["created_at"]),
        aware(row["answered_at"]),
        aware(row["ended_at"]),
    )
    if created is None or ended is None:
        return None
    disposition = str(row["disposition"] or "")
    decision_ms = row["amd_decision_ms"]
    return EndedCall(
        hour=created.astimezone(tz).hour,
        live=is_live_answered(answered is not None, disposition, row["amd_verdict"]),
        ring_s=max(0.0, ((answered or ended) - created).total_seconds()),
        answered=answered is not None,
        amd_s=None if decision_ms is None else float(decision_ms) / 1000,
        abandoned=disposition == "abandoned",
    )


async def recent_outcome_stats(campaign_id: int, timezone: str) -> OutcomeStats:
    """The statistics of the campaign's last :data:`RECENT_CALLS` ended calls (every
    node's: the records are shared). DNC blocks placed no call and are left out."""
    rows = (
        await CallRecord.select(
            CallRecord.created_at,
            CallRecord.answered_at,
            CallRecord.ended_at,
            CallRecord.disposition,
            CallRecord.amd_verdict,
            CallRecord.amd_decision_ms,
        )
        .where(
            (CallRecord.campaign == campaign_id)
            & CallRecord.ended_at.is_not_null()
            & CallRecord.status.is_not_null()
            & (CallRecord.status != LeadStatus.DO_NOT_CALL.value)
        )
        # the (campaign, ended_at) index, read backwards: the most recent ends first
        .order_by(CallRecord.ended_at, ascending=False)
        .limit(RECENT_CALLS)
        .run()
    )
    try:
        tz = zone(timezone)
    except TimeZoneError:
        tz = ZoneInfo("UTC")
    calls = [c for c in (ended_call(r, tz) for r in reversed(rows)) if c is not None]
    return OutcomeStats.from_calls(calls)


def _plus(a: AbandonCounts, b: AbandonCounts, sign: int = 1) -> AbandonCounts:
    return AbandonCounts(
        live_answered=a.live_answered + sign * b.live_answered,
        abandoned=a.abandoned + sign * b.abandoned,
    )


class BudgetCounter:
    """A campaign's abandon counts in its window, kept up to date with small reads.

    Counting a 30-day window of a busy campaign takes a few hundred milliseconds
    (``docs/architecture.md``); read every few seconds by every node, that is real
    load. So the window is counted in full once every :data:`FULL_EVERY_S` and, in
    between, moved: the calls that ended since the last read are added, those that
    left the window's start are taken off — each a short range of the
    ``call_record (campaign, ended_at)`` index. The last :data:`SETTLE_S` are always
    counted afresh: a call's record is stored a moment after it ended (group commit,
    another node), so that stretch is not final yet."""

    #: A call's record is stored within this of its end (else: counted at the next full read).
    SETTLE_S = 60.0
    FULL_EVERY_S = 300.0

    def __init__(self, campaign_id: int) -> None:
        self.campaign_id = campaign_id
        self._window: str | None = None
        self._full_at = float("-inf")
        #: Counts of the calls that ended in [_start, _settled_to).
        self._settled = AbandonCounts(0, 0)
        self._start: datetime | None = None
        self._settled_to: datetime | None = None

    async def counts(self, window: str, now: datetime, mono: float) -> AbandonCounts:
        """The window's counts at ``now`` (``mono``: the engine's monotonic clock)."""
        cid = self.campaign_id
        start = window_start(window, now)
        settled_to = now - timedelta(seconds=self.SETTLE_S)
        full = (
            window != self._window
            or self._settled_to is None
            or mono - self._full_at >= self.FULL_EVERY_S
        )
        if full:
            self._settled = await abandon_counts_between(cid, start, settled_to)
            self._full_at = mono
        else:
            added = await abandon_counts_between(cid, self._settled_to, settled_to)
            self._settled = _plus(self._settled, added)
            if start is not None and self._start is not None and start > self._start:
                left = await abandon_counts_between(cid, self._start, start)
                self._settled = _plus(self._settled, left, -1)
        self._window, self._start, self._settled_to = window, start, settled_to
        recent_counts = await abandon_counts_between(cid, settled_to, None)
        return _plus(self._settled, recent_counts)


async def abandon_budget(
    counter: BudgetCounter, settings: PacingSettings, now: datetime, mono: float
) -> AbandonBudget:
    """Live-answered and abandoned calls of the campaign in its window, every node's."""
    counts = await counter.counts(settings.abandon_window, now, mono)
    return AbandonBudget(
        window=settings.abandon_window,
        target_pct=settings.abandon_target_pct,
        live_answered=counts.live_answered,
        abandoned=counts.abandoned,
    )


class SafeHarbourMessage:
    """A campaign's recorded message of ``kind`` (8 kHz µ-law; the safe-harbour one by
    default, or the voicemail message), cached until it is uploaded again."""

    def __init__(self, campaign_id: int, kind: str = SAFE_HARBOUR) -> None:
        self.campaign_id = campaign_id
        self.kind = kind
        self.audio: bytes | None = None
        self._stamp: datetime | None = None

    async def refresh(self) -> None:
        """Read ``uploaded_at``; the audio itself only when it changed (or was removed)."""
        where = (CampaignMessage.campaign == self.campaign_id) & (CampaignMessage.kind == self.kind)
        row = await CampaignMessage.select(CampaignMessage.uploaded_at).where(where).first().run()
        stamp = aware(row["uploaded_at"]) if row is not None else None
        if stamp == self._stamp:
            return
        audio: bytes | None = None
        if stamp is not None:
            found = await CampaignMessage.select(CampaignMessage.audio).where(where).first().run()
            raw = found["audio"] if found is not None else None
            audio = bytes(raw) if raw else None
        self.audio, self._stamp = audio, stamp


async def store_decision(
    node: str,
    state: CampaignPacingState,
    occupancy: float | None,
    unresolved: tuple[int, int] = (0, 1),
) -> None:
    """Upsert this node's last decision for the campaign (``pacing_decision``) with its
    ``unresolved`` calls: how many, and the fewest participants they were launched among
    (``fair_share.py``)."""
    decision, budget = state.decision, state.abandon
    row = PacingDecisionRow(
        campaign=state.campaign_id,
        node=node,
        mode=state.mode[:32],
        dial_level=float(decision.dial_level),
        predicted_free_agents=float(decision.predicted_free_agents),
        launched=int(decision.launch),
        reason=decision.reason[:32],
        detail=decision.detail,
        abandon_rate_pct=budget.rate_pct,
        live_answered=budget.live_answered,
        abandoned=budget.abandoned,
        occupancy=occupancy,
        unresolved=unresolved[0],
        unresolved_among=unresolved[1],
        decided_at=state.decided_at,
    )
    columns = PacingDecisionRow
    await (
        PacingDecisionRow.insert(row)
        .on_conflict(
            target=(columns.campaign, columns.node),
            action="DO UPDATE",
            values=[
                columns.mode,
                columns.dial_level,
                columns.predicted_free_agents,
                columns.launched,
                columns.reason,
                columns.detail,
                columns.abandon_rate_pct,
                columns.live_answered,
                columns.abandoned,
                columns.occupancy,
                columns.unresolved,
                columns.unresolved_among,
                columns.decided_at,
            ],
        )
        .run()
    )


async def nodes_pacing(since: datetime, campaigns: list[int]) -> dict[int, dict[str, Reported]]:
    """Per campaign, the nodes whose last decision for it is at or after ``since``, and
    what that decision's row tells of their calls."""
    if not campaigns:
        return {}
    columns = PacingDecisionRow
    rows = (
        await columns.select(
            columns.campaign,
            columns.node,
            columns.unresolved,
            columns.unresolved_among,
            columns.decided_at,
        )
        .where(columns.campaign.is_in(campaigns) & (columns.decided_at >= since))
        .run()
    )
    out: dict[int, dict[str, Reported]] = {}
    for row in rows:
        decided = aware(row["decided_at"]) or since
        out.setdefault(int(row["campaign"]), {})[str(row["node"])] = Reported(
            unresolved=int(row["unresolved"] or 0),
            among=max(1, int(row["unresolved_among"] or 1)),
            decided_s=decided.timestamp(),
        )
    return out


async def live_nodes(now: datetime, dead_after: timedelta) -> dict[str, datetime]:
    """The engine nodes heard from within ``dead_after`` of ``now``, with when each started.
    A heartbeat further ahead of ``now`` than that is a clock gone wrong (or a test's row
    left from another time), not a node alive."""
    rows = (
        await EngineNode.select(EngineNode.node_id, EngineNode.started_at)
        .where(
            (EngineNode.heartbeat_at >= now - dead_after)
            & (EngineNode.heartbeat_at <= now + dead_after)
        )
        .run()
    )
    return {str(row["node_id"]): aware(row["started_at"]) or now for row in rows}


def recent(now: datetime, seconds: float) -> datetime:
    return now - timedelta(seconds=seconds)


__all__ = [
    "RECENT_CALLS",
    "SAFE_HARBOUR",
    "VOICEMAIL",
    "BudgetCounter",
    "SafeHarbourMessage",
    "abandon_budget",
    "aware",
    "ended_call",
    "live_nodes",
    "nodes_pacing",
    "recent",
    "recent_outcome_stats",
    "store_decision",
]
