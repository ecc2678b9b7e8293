"""Schedule states, moved once a second by the leader node.

For each STARTED campaign, today's entry (the campaign's local date) follows its
window (see :mod:`opendialer.core.engine.window`):

    NOT_RUNNING ──window opens──► RUNNING ──window closes──► FINISHED
                                   │  ▲
                 DNC service fails ▼  │ answers again (probed by the leader)
                              DNC_OUT_OF_SERVICE

Entries of past days become FINISHED. When no entry is left to run, the
campaign stops by itself ("schedule ended"). A STOPPED campaign's running
entry goes back to NOT_RUNNING (manual stop). Times are read from the row on
every tick, so an edited schedule takes effect at once — an extended end
re-opens today's window. The group's enabled flag is not consulted: a
disabled group's STARTED campaigns run to the end of their schedules.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from opendialer.core.domain import CampaignState, ScheduleState
from opendialer.core.engine.campaign_view import CampaignView
from opendialer.core.engine.window import TimeZoneError, Window, local_date, window_for
from opendialer.core.plugins import PluginManager
from opendialer.core.services.campaign_fields import campaign_json
from opendialer.core.storage.tables import Campaign, Schedule
from opendialer.sdk import events

log = logging.getLogger(__name__)

ACTIVE = (ScheduleState.RUNNING.value, ScheduleState.DNC_OUT_OF_SERVICE.value)


@dataclass(frozen=True, slots=True)
class DialableEntry:
    """A campaign whose window is open now, with today's schedule entry."""

    campaign: CampaignView
    schedule_id: int
    schedule_date: date
    state: str
    reason: str
    window: Window


def desired_state(current: str, window: Window, now: datetime) -> str:
    if now < window.opens:
        return ScheduleState.NOT_RUNNING.value
    if window.contains(now):
        if current == ScheduleState.DNC_OUT_OF_SERVICE.value:
            return current  # only a DNC answer brings it back
        return ScheduleState.RUNNING.value
    return ScheduleState.FINISHED.value


class Scheduler:
    def __init__(self, pm: PluginManager) -> None:
        self.pm = pm

    async def tick(self, now: datetime) -> None:
        started = await Campaign.select().where(Campaign.state == CampaignState.STARTED.value).run()
        for campaign in started:
            try:
                await self._advance(campaign, now)
            except TimeZoneError as exc:
                log.error("campaign_bad_timezone campaign=%s error=%s", campaign["id"], exc)
        await self._settle_stopped()

    async def _advance(self, campaign: dict[str, Any], now: datetime) -> None:
        cid = campaign["id"]
        today = local_date(now, campaign["timezone"])
        await (
            Schedule.update({Schedule.state: ScheduleState.FINISHED.value})
            .where(
                (Schedule.campaign == cid)
                & (Schedule.date < today)
                & (Schedule.state != ScheduleState.FINISHED.value)
            )
            .run()
        )
        entry = (
            await Schedule.select()
            .where((Schedule.campaign == cid) & (Schedule.date == today))
            .first()
            .run()
        )
        if entry is not None:
            window = window_for(today, entry["start_time"], entry["end_time"], campaign["timezone"])
            wanted = desired_state(entry["state"], window, now)
            if wanted != entry["state"]:
                await (
                    Schedule.update({Schedule.state: wanted, Schedule.reason: ""})
                    .where((Schedule.id == entry["id"]) & (Schedule.state == entry["state"]))
                    .run()
                )
                log.info(
                    "schedule_state campaign=%s date=%s old=%s new=%s",
                    cid,
                    today,
                    entry["state"],
                    wanted,
                )
        ahead = (
            await Schedule.count()
            .where(
                (Schedule.campaign == cid)
                & (
                    (Schedule.date > today)
                    | ((Schedule.date == today) & (Schedule.state != ScheduleState.FINISHED.value))
                )
            )
            .run()
        )
        if ahead == 0:
            await self.stop_campaign(campaign, now, reason="schedule ended")

    async def stop_campaign(self, campaign: dict[str, Any], now: datetime, *, reason: str) -> None:
        changed = (
            await Campaign.update(
                {
                    Campaign.state: CampaignState.STOPPED.value,
                    Campaign.state_reason: reason,
                    Campaign.updated_at: now,
                }
            )
            .where(
                (Campaign.id == campaign["id"]) & (Campaign.state == CampaignState.STARTED.value)
            )
            .returning(Campaign.id)
            .run()
        )
        if not changed:
            return
        log.info(
            "campaign_state campaign=%s old=STARTED new=STOPPED reason=%r", campaign["id"], reason
        )
        # The API's serialiser, so plugins see what GET /api/v1/campaigns/{id} shows.
        stopped = {**campaign, "state": CampaignState.STOPPED.value, "state_reason": reason}
        if isinstance(stopped.get("amd_params"), str):
            stopped["amd_params"] = json.loads(stopped["amd_params"] or "{}")
        data = events.CampaignRecord.from_api(campaign_json(stopped))
        await self.pm.notify(
            "campaign_state_changed",
            campaign=data,
            old_state=CampaignState.STARTED.value,
            new_state=CampaignState.STOPPED.value,
            reason=reason,
        )

    async def _settle_stopped(self) -> None:
        """A stopped campaign's running entry goes back to NOT_RUNNING."""
        stopped = Campaign.select(Campaign.id).where(Campaign.state == CampaignState.STOPPED.value)
        await (
            Schedule.update(
                {
                    Schedule.state: ScheduleState.NOT_RUNNING.value,
                    Schedule.reason: "campaign stopped",
                }
            )
            .where(Schedule.state.is_in(list(ACTIVE)) & Schedule.campaign.is_in(stopped))
            .run()
        )


async def dialable_entries(
    now: datetime, routing_by_type: Mapping[str, str]
) -> list[DialableEntry]:
    """STARTED campaigns whose entry for today is RUNNING or DNC_OUT_OF_SERVICE, window open.

    Each campaign's row becomes a :class:`CampaignView` here (``routing_by_type``:
    the routing target of a campaign that names none).

    Every node reads this; the window is checked here too so no node dials past
    the end of a window while the leader is being replaced.
    """
    rows = (
        await Schedule.select(
            Schedule.id,
            Schedule.date,
            Schedule.start_time,
            Schedule.end_time,
            Schedule.state,
            Schedule.reason,
            *Schedule.campaign.all_columns(),
        )
        .where(
            Schedule.state.is_in(list(ACTIVE))
            & (Schedule.campaign.state == CampaignState.STARTED.value)
        )
        .output(nested=True)
        .run()
    )
    out: list[DialableEntry] = []
    for row in rows:
        campaign = row["campaign"]
        try:
            if local_date(now, campaign["timezone"]) != row["date"]:
                continue
            window = window_for(
                row["date"], row["start_time"], row["end_time"], campaign["timezone"]
            )
        except TimeZoneError:
            continue
        if window.contains(now):
            out.append(
                DialableEntry(
                    campaign=CampaignView.from_row(campaign, routing_by_type),
                    schedule_id=row["id"],
                    schedule_date=row["date"],
                    state=row["state"],
                    reason=row["reason"],
                    window=window,
                )
            )
    return out


async def set_schedule_state(schedule_id: int, *, expect: str, new: str, reason: str = "") -> bool:
    """Conditional move (another node may have moved it first)."""
    done = (
        await Schedule.update({Schedule.state: new, Schedule.reason: reason})
        .where((Schedule.id == schedule_id) & (Schedule.state == expect))
        .returning(Schedule.id)
        .run()
    )
    return bool(done)


async def set_schedule_reason(schedule_id: int, reason: str) -> None:
    await Schedule.update({Schedule.reason: reason}).where(Schedule.id == schedule_id).run()


__all__ = [
    "DialableEntry",
    "Scheduler",
    "desired_state",
    "dialable_entries",
    "set_schedule_reason",
    "set_schedule_state",
]
