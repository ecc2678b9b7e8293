"""Starting and stopping a campaign: the state change, what a start requires (its
group enabled, a schedule day ahead, a lead left to call), and the
``campaign_state_changed`` event. Who may: a Campaign Administrator of its groups
(:func:`.campaigns.require_writer`); a change that lost a race is a 409.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from opendialer.core.domain import CampaignState, LeadStatus, ScheduleState
from opendialer.core.engine.window import TimeZoneError, local_date, window_for
from opendialer.core.plugins import get_plugin_manager
from opendialer.core.services.campaign_compliance import require_startable
from opendialer.core.services.campaign_messages import require_voicemail
from opendialer.core.services.campaigns import get_campaign, load, require_writer
from opendialer.core.services.common import SYSTEM, Actor
from opendialer.core.services.errors import Conflict
from opendialer.core.storage.tables import Campaign, DialerGroup, Lead, Schedule
from opendialer.sdk import events


async def _set_state(
    actor: Actor, campaign_id: int, new: CampaignState, *, reason: str | None = None
) -> dict[str, Any]:
    row = await load(actor, campaign_id)
    require_writer(actor)
    old = CampaignState(row["state"])
    if old is new:
        raise Conflict(
            "campaign.already_in_state",
            error=f"already_{new.value.lower()}",
            name=row["name"],
            state=new.value,
        )
    if new is CampaignState.STARTED:
        group = (
            await DialerGroup.select(DialerGroup.name, DialerGroup.enabled)
            .where(DialerGroup.id == row["group"])
            .first()
            .run()
        )
        if group is None or not group["enabled"]:
            raise Conflict(
                "campaign.group_disabled_start",
                error="group_disabled",
                name=group["name"] if group else row["group"],
            )
        await _require_dialable(row)
        await require_startable(row)
        await require_voicemail(row)
    why = reason or f"user:{actor.username}"
    now = datetime.now(UTC)
    values: dict[Any, Any] = {
        Campaign.state: new.value,
        Campaign.state_reason: why,
        Campaign.updated_at: now,
    }
    if new is CampaignState.STARTED:
        values[Campaign.started_at] = now  # the Summary's "Starting" grace counts from it
    changed = (
        await Campaign.update(values)
        .where((Campaign.id == campaign_id) & (Campaign.state == old.value))
        .returning(Campaign.id)
        .run()
    )
    if not changed:
        raise Conflict("campaign.state_changed", name=row["name"])
    campaign = await get_campaign(SYSTEM, campaign_id)
    await get_plugin_manager().notify(
        "campaign_state_changed",
        campaign=events.CampaignRecord.from_api(campaign),
        old_state=old.value,
        new_state=new.value,
        reason=why,
    )
    return campaign


async def _require_dialable(row: dict[str, Any]) -> None:
    """Start refuses what can never dial: no schedule day left, no lead left to call."""
    now = datetime.now(UTC)
    try:
        today = local_date(now, row["timezone"])
    except TimeZoneError:
        today = now.date()
    entries = (
        await Schedule.select(Schedule.date, Schedule.start_time, Schedule.end_time)
        .where(
            (Schedule.campaign == row["id"])
            & (Schedule.date >= today)
            & (Schedule.state != ScheduleState.FINISHED.value)
        )
        .order_by(Schedule.date)
        .limit(2)
        .run()
    )
    ahead = [
        e
        for e in entries
        if e["date"] > today
        or now < window_for(e["date"], e["start_time"], e["end_time"], row["timezone"]).closes
    ]
    if not ahead:
        raise Conflict(
            "campaign.no_schedule_left",
            error="no_schedule_left",
            name=repr(row["name"]),
            id=row["id"],
        )
    callable_now = (Lead.campaign == row["id"]) & (
        Lead.next_attempt_at.is_not_null()
        | ((Lead.status == LeadStatus.NOT_CALLED.value) & (Lead.attempts == 0))
    )
    if not await Lead.exists().where(callable_now).run():
        raise Conflict(
            "campaign.no_leads_left", error="no_leads", name=repr(row["name"]), id=row["id"]
        )


async def start_campaign(actor: Actor, campaign_id: int) -> dict[str, Any]:
    return await _set_state(actor, campaign_id, CampaignState.STARTED)


async def stop_campaign(actor: Actor, campaign_id: int) -> dict[str, Any]:
    return await _set_state(actor, campaign_id, CampaignState.STOPPED)
