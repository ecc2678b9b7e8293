"""The short-call guard (issue 18, Brazil): hold new launches of a campaign whose caller
ID's calls today are mostly very short.

A campaign whose compliance policy sets ``short_call_guard_pct`` is held with
``short_call_guard`` while today's share of calls of 6 s or less under its caller ID
(the campaign's ``caller_id``; '' — the platform's default — for one without) is at or
above that share, counted over at least ``MIN_CALLS`` calls
(``core/services/short_calls.py``: every campaign and node, UTC day). Calls already up
go on; it dials again when the share is back under (other campaigns' longer calls, a
new UTC day, a higher threshold).

The shares are read in the engine's housekeeping every :data:`REFRESH_S` seconds — one
query for the caller IDs of this node's guarded campaigns — not on the pacing path.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from opendialer.core import held
from opendialer.core.engine.campaign_view import CampaignView
from opendialer.core.held import Hold, hold
from opendialer.core.services.short_calls import ShortCallShare, shares_today

#: How often the shares are read again (seconds).
REFRESH_S = 30.0


def guarded_caller_id(campaign: CampaignView) -> str | None:
    """The caller ID the campaign's guard counts; None: its policy has no guard."""
    if campaign.compliance.short_call_guard_pct is None:
        return None
    return campaign.caller_id or ""


class ShortCallGuard:
    """Today's short-call shares of the caller IDs this node's campaigns guard."""

    def __init__(self) -> None:
        self.shares: dict[str, ShortCallShare] = {}
        self._read_at = float("-inf")

    async def refresh(self, campaigns: Iterable[CampaignView], now: datetime, mono: float) -> None:
        """Read the shares again every :data:`REFRESH_S` s, or at once for a caller ID
        not read yet (a campaign that just started)."""
        wanted = {c for c in map(guarded_caller_id, campaigns) if c is not None}
        if not wanted:
            self.shares = {}
            return
        if mono - self._read_at < REFRESH_S and wanted <= set(self.shares):
            return
        self._read_at = mono
        self.shares = {s.caller_id: s for s in await shares_today(now, sorted(wanted))}

    def hold_for(self, campaign: CampaignView) -> Hold | None:
        """Why the campaign may not launch now (None: it may)."""
        caller_id = guarded_caller_id(campaign)
        if caller_id is None:
            return None
        share = self.shares.get(caller_id)
        threshold = campaign.compliance.short_call_guard_pct
        if share is None or not share.over(threshold):
            return None
        return hold(
            held.SHORT_CALL_GUARD,
            caller_id=caller_id,
            share=f"{share.share_pct:.1f}",
            threshold=f"{threshold:g}",
            calls=share.calls,
        )


__all__ = ["REFRESH_S", "ShortCallGuard", "guarded_caller_id"]
