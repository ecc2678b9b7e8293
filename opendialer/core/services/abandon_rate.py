"""A campaign's abandon rate in its window, counted in the database.

Every engine node and the web count the same rows, so the abandon budget is one
budget however many nodes dial the campaign (``docs/pacing.md``).

Definitions (the US TSR's, which the UK's Ofcom shares for calls a person answered):

* **live-answered**: a call answered (``answered_at`` set) and not judged a machine —
  its AMD verdict is HUMAN or NOTSURE, or AMD was off — that reached the dialer's
  hand-over: transferred, transfer failed, abandoned, or hung up by the person
  before the hand-over;
* **abandoned**: disposition ``abandoned``: no agent freed within the campaign's
  ``abandon_timeout_ms`` and the safe-harbour message was played.

Ofcom also counts AMD false positives (people judged machines and hung up on) as
abandoned; the dialer cannot know them on a real call, so they are estimated in
the bench only (``bench/pacing.py``, the UK figure).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from opendialer.core.storage.tables import CallRecord
from opendialer.sdk.pacing import ABANDON_WINDOWS

#: Window name → how far back it reaches (None: the campaign's whole life).
WINDOW_SPAN: dict[str, timedelta | None] = {
    "24h": timedelta(hours=24),
    "30d": timedelta(days=30),
    "campaign": None,
}
assert set(WINDOW_SPAN) == set(ABANDON_WINDOWS)

#: Dispositions of a call that reached the hand-over to an agent.
HANDED_OVER = ("transferred", "transfer_failed", "abandoned", "far_end_hangup")
#: AMD verdicts that mean "not a person": such calls are not live-answered.
NOT_A_PERSON = ("MACHINE", "FAX", "SILENCE")


@dataclass(frozen=True, slots=True)
class AbandonCounts:
    live_answered: int
    abandoned: int

    @property
    def rate_pct(self) -> float:
        return 100.0 * self.abandoned / self.live_answered if self.live_answered else 0.0


def is_live_answered(answered: bool, disposition: str, amd_verdict: str | None) -> bool:
    """One call, by the definition :func:`abandon_counts` counts in the database (the
    engine counts its own calls between two reads, and its statistics, with it)."""
    return answered and disposition in HANDED_OVER and amd_verdict not in NOT_A_PERSON


def window_start(window: str, now: datetime) -> datetime | None:
    """The first instant ``window`` counts from (None: every call of the campaign)."""
    span = WINDOW_SPAN[window]
    return None if span is None else now - span


async def abandon_counts(campaign_id: int, window: str, now: datetime) -> AbandonCounts:
    """Live-answered and abandoned calls of ``campaign_id`` ended in ``window`` before ``now``."""
    return await abandon_counts_between(campaign_id, window_start(window, now), None)


async def abandon_counts_between(
    campaign_id: int, start: datetime | None, end: datetime | None
) -> AbandonCounts:
    """The same counts for the calls that ended in ``[start, end)`` (None: unbounded).
    Half-open, so adjacent ranges add up exactly (the engine keeps a long window's
    counts up to date with small reads: ``core/engine/pacing_data.BudgetCounter``)."""
    where = (
        (CallRecord.campaign == campaign_id)
        & CallRecord.answered_at.is_not_null()
        & CallRecord.disposition.is_in(list(HANDED_OVER))
        & (CallRecord.amd_verdict.is_null() | CallRecord.amd_verdict.not_in(list(NOT_A_PERSON)))
    )
    if start is not None:
        where = where & (CallRecord.ended_at >= start)
    if end is not None:
        where = where & (CallRecord.ended_at < end)
    live = await CallRecord.count().where(where).run()
    is_abandoned = CallRecord.disposition == "abandoned"
    abandoned = await CallRecord.count().where(where & is_abandoned).run()
    return AbandonCounts(live_answered=int(live), abandoned=int(abandoned))


__all__ = [
    "HANDED_OVER",
    "WINDOW_SPAN",
    "AbandonCounts",
    "abandon_counts",
    "abandon_counts_between",
    "is_live_answered",
    "window_start",
]
