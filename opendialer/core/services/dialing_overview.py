"""What the dialer is doing, cluster-wide, in a few cheap queries (for metrics).

``overview(now)`` reads the campaigns (a small table), today's schedule entry of
each STARTED campaign (the unique ``(campaign, date)`` index), the number of
leads due per STARTED campaign (the ``lead(campaign, next_attempt_at)`` index:
a range count per campaign, no table scan), the DNC services' names and each caller
ID's short calls today (``short_calls.py``: the calls of the UTC day by the
``call_record(campaign, created_at)`` index). Callers
cache the answer (the metrics exporter refreshes it every few seconds, not per
scrape): counting a million due leads is an index range, but still not free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from piccolo.query.functions.aggregate import Count

from opendialer.core.domain import CampaignState
from opendialer.core.engine.window import TimeZoneError, local_date
from opendialer.core.services.short_calls import ShortCallShare, shares_today
from opendialer.core.storage.tables import Campaign, DncService, Lead, Schedule


@dataclass(frozen=True, slots=True)
class CampaignOverview:
    id: int
    name: str
    type: str
    state: str
    #: Today's schedule entry state in the campaign's zone (STARTED campaigns; None:
    #: no entry today, or a STOPPED campaign).
    schedule_state: str | None = None
    #: Leads whose next attempt is due now (STARTED campaigns; 0 otherwise).
    leads_due: int = 0


@dataclass(frozen=True, slots=True)
class DialingOverview:
    campaigns: list[CampaignOverview] = field(default_factory=list)
    #: DNC service id → its configured name.
    dnc_service_names: dict[int, str] = field(default_factory=dict)
    #: Each caller ID's calls ended today (UTC) and its short ones ('': the platform's).
    short_calls: list[ShortCallShare] = field(default_factory=list)


async def overview(now: datetime) -> DialingOverview:
    """Campaigns with today's schedule state and due leads; DNC service names."""
    campaigns = await Campaign.select(
        Campaign.id, Campaign.name, Campaign.type, Campaign.state, Campaign.timezone
    ).run()
    started = [c for c in campaigns if c["state"] == CampaignState.STARTED.value]
    today: dict[int, date] = {}
    for campaign in started:
        try:
            today[campaign["id"]] = local_date(now, campaign["timezone"])
        except TimeZoneError:
            continue  # the engine logs it; nothing runs today for it either
    states: dict[int, str] = {}
    due: dict[int, int] = {}
    if today:
        rows = (
            await Schedule.select(Schedule.campaign, Schedule.date, Schedule.state)
            .where(
                Schedule.campaign.is_in(list(today))
                & Schedule.date.is_in(sorted(set(today.values())))
            )
            .run()
        )
        for row in rows:
            if today.get(row["campaign"]) == row["date"]:
                states[row["campaign"]] = row["state"]
        counted = (
            await Lead.select(Lead.campaign, Count(alias="due"))
            .where(Lead.campaign.is_in([c["id"] for c in started]) & (Lead.next_attempt_at <= now))
            .group_by(Lead.campaign)
            .run()
        )
        due = {row["campaign"]: int(row["due"]) for row in counted}
    names = {
        row["id"]: row["name"] for row in await DncService.select(DncService.id, DncService.name)
    }
    return DialingOverview(
        campaigns=[
            CampaignOverview(
                id=c["id"],
                name=c["name"],
                type=c["type"],
                state=c["state"],
                schedule_state=states.get(c["id"]),
                leads_due=due.get(c["id"], 0),
            )
            for c in campaigns
        ],
        dnc_service_names=names,
        short_calls=await shares_today(now),
    )


__all__ = ["CampaignOverview", "DialingOverview", "overview"]
