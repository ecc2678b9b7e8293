"""Is a STARTED campaign dialing now, and if not, why — the one answer pages and API give.

:func:`dialing_states` decides, for each campaign, in this order:

1. STOPPED: not dialing, no reason (its state says it all).
2. No engine node alive (no ``engine_node`` heartbeat within
   ``OPENDIALER_NODE_DEAD_AFTER_S``, 15 s by default; e.g. ``serve --role web``
   alone): ``no_engine``.
3. Today's window is not open (before it opens, after it closed, no entry
   today): waiting for the next entry (``waiting_next_run`` with its date and
   start, in the campaign's zone) — or ``no_schedule_left`` when none is ahead.
4. The engine holds it: the reason it stored in today's schedule row
   (core/held.py: routing target not installed / not configured / failed to
   start / not up, platform down, DNC service out of service, the campaign's pacing
   mode not installed or failing).
   Today's entry still NOT_RUNNING in its open window within
   :data:`STARTING_GRACE_S` of Start: no engine has taken the campaign up yet
   (``starting``; later, the engines' silence is pacing_summary's ``not_paced``).
5. No lead due now and no call up: waiting for retries (``no_leads_due`` with
   the earliest due time), or ``no_leads_left`` when every lead is done.

Each reason comes with where to fix it (``fix_path``) and which role can go
there (``fix_role``); ``waiting`` marks the states that are no fault. The
campaign's group being disabled is reported apart (``group_disabled``): the
campaign still runs to the end of its schedule (DESIGN.md §3).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.query.functions.aggregate import Count, Min

from opendialer.core import held
from opendialer.core.domain import CampaignState, LeadStatus, Role, ScheduleState
from opendialer.core.engine.pacing_data import aware
from opendialer.core.engine.scheduler import ACTIVE
from opendialer.core.engine.window import TimeZoneError, local_date, window_for, zone
from opendialer.core.routing_defaults import settings_page
from opendialer.core.storage.tables import (
    CallRecord,
    Campaign,
    DialerGroup,
    EngineNode,
    Lead,
    Schedule,
)

NO_ENGINE = "no_engine"
WAITING_NEXT_RUN = "waiting_next_run"
NO_SCHEDULE_LEFT = "no_schedule_left"
NO_LEADS_DUE = "no_leads_due"
NO_LEADS_LEFT = "no_leads_left"
STARTING = "starting"
#: How long after Start a campaign no engine has taken up is "starting", not a fault.
STARTING_GRACE_S = 30.0

#: Every code :func:`dialing_states` may answer (engine codes included).
CODES = frozenset(
    {
        NO_ENGINE,
        WAITING_NEXT_RUN,
        NO_SCHEDULE_LEFT,
        NO_LEADS_DUE,
        NO_LEADS_LEFT,
        STARTING,
        held.LEGACY,
    }
    | held.ENGINE_CODES
)
#: No fault: it waits by design (the engine's first look, the next run, retries, the
#: leads' local hours).
WAITING_CODES = frozenset({STARTING, WAITING_NEXT_RUN, NO_LEADS_DUE, held.LOCAL_HOURS_CLOSED})


@dataclass(frozen=True, slots=True)
class DialingState:
    dialing: bool
    #: Why a STARTED campaign is not dialing (None: it dials, or it is STOPPED).
    code: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    #: Where to fix it, and the role that may go there.
    fix_path: str | None = None
    fix_role: Role | None = None
    #: The campaign's group is disabled (it runs to its end; it cannot be restarted).
    group_disabled: bool = False

    @property
    def waiting(self) -> bool:
        return self.code in WAITING_CODES


def dead_after() -> timedelta:
    raw = os.environ.get("OPENDIALER_NODE_DEAD_AFTER_S", "").strip()
    try:
        seconds = float(raw) if raw else 15.0
    except ValueError:
        seconds = 15.0
    return timedelta(seconds=seconds if seconds > 0 else 15.0)


def routing_fix_path(target: str) -> str:
    """Where a Master configures a routing target (System → IVR, System → Contact center)."""
    return settings_page(target).path


def _engine_hold(campaign: Mapping[str, Any], entry: Mapping[str, Any]) -> DialingState | None:
    found = held.decode(entry["reason"])
    if entry["state"] == ScheduleState.DNC_OUT_OF_SERVICE.value:
        detail = found.params.get("detail", "") if found is not None else ""
        found = held.hold(held.DNC_OUT_OF_SERVICE, detail=detail)
    if found is None:
        return None
    platform_codes = {held.PLATFORM_DOWN, held.PLATFORM_NOT_CHOSEN}
    if found.code in held.PACING_CODES:  # the campaign names a mode: pick another one
        path, role = f"/campaigns/{campaign['id']}/edit", Role.CAMPAIGN_ADMIN
    elif found.code == held.ENGINE_FAULT:  # the node's log says more (System → Diagnostics)
        path, role = "/system", Role.MASTER
    elif found.code in (held.LOCAL_HOURS_CLOSED, held.SHORT_CALL_GUARD):  # its policy
        path, role = f"/campaigns/{campaign['id']}/compliance", Role.CAMPAIGN_ADMIN
    elif found.code in held.ENGINE_CODES - {held.DNC_OUT_OF_SERVICE, *platform_codes}:
        path, role = routing_fix_path(found.params.get("target", "")), Role.MASTER
    elif found.code in platform_codes:
        path, role = "/system/platform", Role.MASTER
    elif found.code == held.DNC_OUT_OF_SERVICE:
        path, role = "/dnc", Role.CAMPAIGN_ADMIN
    else:
        path, role = "/system", Role.MASTER
    return DialingState(False, found.code, found.params, path, role)


async def _leads_state(campaign: Mapping[str, Any], now: datetime) -> DialingState | None:
    cid = campaign["id"]
    if (
        await CallRecord.exists()
        .where((CallRecord.campaign == cid) & CallRecord.status.is_null())
        .run()
    ):
        return None  # a call is up: it dials
    fresh = (Lead.campaign == cid) & (Lead.status == LeadStatus.NOT_CALLED.value)
    fresh = fresh & (Lead.attempts == 0) & Lead.next_attempt_at.is_null()
    if await Lead.exists().where(fresh).run():
        return None  # never dialed: due as soon as the engine arms them
    row = (
        await Lead.select(Min(Lead.next_attempt_at, alias="next"), Count(alias="n"))
        .where((Lead.campaign == cid) & Lead.next_attempt_at.is_not_null())
        .first()
        .run()
    )
    upcoming = aware(row["next"]) if row else None  # SQLite aggregates come back as text
    if upcoming is None:
        path = f"/campaigns/{cid}/leads/upload"
        return DialingState(False, NO_LEADS_LEFT, {}, path, Role.CAMPAIGN_ADMIN)
    if upcoming <= now:
        return None
    local = upcoming.astimezone(zone(campaign["timezone"]))
    params = {"date": local.date().isoformat(), "time": local.strftime("%H:%M")}
    if local.date() == local_date(now, campaign["timezone"]):
        params["today"] = "1"
    return DialingState(False, NO_LEADS_DUE, params)


async def _just_started(campaign_id: int, now: datetime) -> bool:
    row = await Campaign.select(Campaign.started_at).where(Campaign.id == campaign_id).first().run()
    started = aware(row["started_at"]) if row else None
    return started is not None and now - started < timedelta(seconds=STARTING_GRACE_S)


async def _one(campaign: Mapping[str, Any], now: datetime) -> DialingState:
    cid, tz = campaign["id"], campaign["timezone"]
    try:
        today = local_date(now, tz)
    except TimeZoneError:
        path = f"/campaigns/{cid}/schedules"
        return DialingState(False, NO_SCHEDULE_LEFT, {}, path, Role.CAMPAIGN_ADMIN)
    entries = (
        await Schedule.select()
        .where((Schedule.campaign == cid) & (Schedule.date >= today))
        .order_by(Schedule.date)
        .limit(2)
        .run()
    )
    schedules_path = f"/campaigns/{cid}/schedules"
    for entry in entries:
        window = window_for(entry["date"], entry["start_time"], entry["end_time"], tz)
        if entry["date"] == today and window.contains(now):
            if entry["state"] in ACTIVE or entry["state"] == ScheduleState.NOT_RUNNING.value:
                # Engines store holds on the entries they dial (RUNNING, DNC out of
                # service); a NOT_RUNNING entry's reason is the note of a stop.
                hold = _engine_hold(campaign, entry) if entry["state"] in ACTIVE else None
                if hold is not None:
                    return hold
                if entry["state"] == ScheduleState.NOT_RUNNING.value and await _just_started(
                    cid, now
                ):
                    # The engine opens the window, then weighs what the web cannot see
                    # (its routing target, platform, DNC service) and stores a hold:
                    # until it has, "dialing" would be a guess.
                    return DialingState(False, STARTING)
                return await _leads_state(campaign, now) or DialingState(True)
            continue  # FINISHED early (a stop and start the same day): the next entry
        if now < window.opens:
            params = {
                "date": entry["date"].isoformat(),
                "time": entry["start_time"].strftime("%H:%M"),
            }
            if entry["date"] == today:
                params["today"] = "1"
            return DialingState(
                False, WAITING_NEXT_RUN, params, schedules_path, Role.CAMPAIGN_ADMIN
            )
    return DialingState(False, NO_SCHEDULE_LEFT, {}, schedules_path, Role.CAMPAIGN_ADMIN)


async def engine_alive(now: datetime) -> bool:
    return bool(
        await EngineNode.exists().where(EngineNode.heartbeat_at >= now - dead_after()).run()
    )


async def dialing_states(
    campaigns: Iterable[Mapping[str, Any]], now: datetime | None = None
) -> dict[int, DialingState]:
    """Each campaign's :class:`DialingState`, by id (campaign bodies of core/services/campaigns)."""
    now = now or datetime.now(UTC)
    rows = list(campaigns)
    started = [c for c in rows if c["state"] == CampaignState.STARTED.value]
    disabled: set[int] = set()
    alive = True
    if started:
        groups = {c["group_id"] for c in started}
        disabled = {
            g["id"]
            for g in await DialerGroup.select(DialerGroup.id, DialerGroup.enabled)
            .where(DialerGroup.id.is_in(sorted(groups)))
            .run()
            if not g["enabled"]
        }
        alive = await engine_alive(now)
    out: dict[int, DialingState] = {}
    for c in rows:
        if c["state"] != CampaignState.STARTED.value:
            out[c["id"]] = DialingState(False)
            continue
        if not alive:
            state = DialingState(False, NO_ENGINE, {}, "/system", Role.MASTER)
        else:
            state = await _one(c, now)
        if c["group_id"] in disabled:
            state = DialingState(
                state.dialing, state.code, state.params, state.fix_path, state.fix_role, True
            )
        out[c["id"]] = state
    return out


async def dialing_state(campaign: Mapping[str, Any], now: datetime | None = None) -> DialingState:
    return (await dialing_states([campaign], now))[campaign["id"]]


__all__ = [
    "CODES",
    "STARTING_GRACE_S",
    "DialingState",
    "dead_after",
    "dialing_state",
    "dialing_states",
    "engine_alive",
    "routing_fix_path",
]
