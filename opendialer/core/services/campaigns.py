"""Campaigns: create, change, delete, list, summary — with the role table and group
scoping of the product guide. Starting and stopping: :mod:`.campaign_states`.

Who may do what (DESIGN.md §3):

* Campaign Administrator: everything, on campaigns of its groups.
* Campaign Supervisor: reads (list, get, summary, schedules, leads, calls) on
  campaigns of its groups; every change is a 403.
* Master and Manager: no access to campaigns (403). The role table gives them
  users and groups; campaigns are the Campaign Administrator's (least privilege).
* :data:`SYSTEM` (the CLI, the engine): unrestricted.

A campaign outside the caller's groups is a 404, whatever the method, so its
existence does not leak. "Within its enabled groups" is enforced at log-in (a
campaign role with no enabled group cannot log in); a disabled group's campaigns
stay visible to its members, so a running one can still be watched and stopped,
and starting a stopped one answers 409 with the reason rather than a 404.
Settings, schedules and leads change only while the campaign is STOPPED (409
otherwise). A disabled group's STARTED campaigns keep
running; its STOPPED ones cannot start, and no campaign is created in or moved
to it (409: the request is well formed, the group's state forbids it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.query.functions.aggregate import Count

from opendialer.core.domain import CampaignState, LeadStatus, Role
from opendialer.core.services import campaign_fields as fields
from opendialer.core.services.common import SYSTEM, Actor, PageRequest, page_body
from opendialer.core.services.errors import (
    Conflict,
    FieldErrors,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from opendialer.core.storage.tables import (
    CallRecord,
    Campaign,
    DialerGroup,
    DncService,
    Lead,
    Schedule,
)

if TYPE_CHECKING:
    from opendialer.core.services.message_audio import ConvertedAudio

CAMPAIGN_ROLES = (Role.CAMPAIGN_ADMIN, Role.CAMPAIGN_SUPERVISOR)


def is_system(actor: Actor) -> bool:
    return actor.user_id == SYSTEM.user_id and actor.username == SYSTEM.username


def visible_groups(actor: Actor) -> frozenset[int] | None:
    """Groups whose campaigns ``actor`` sees (None: all); 403 for roles without campaigns."""
    if is_system(actor):
        return None
    if actor.role not in CAMPAIGN_ROLES:
        raise PermissionDenied("campaign.no_access", role=actor.role.value)
    return actor.group_ids


def require_writer(actor: Actor) -> None:
    if is_system(actor) or actor.role is Role.CAMPAIGN_ADMIN:
        return
    visible_groups(actor)  # 403 with the role explanation for masters and managers
    raise PermissionDenied("campaign.supervisor_views")


def write_transaction() -> Any:
    """A transaction that takes SQLite's write lock up front (no lock-upgrade deadlocks)."""
    engine = Campaign._meta.db
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def load(actor: Actor, campaign_id: int) -> dict[str, Any]:
    """The campaign row if ``actor`` may see it; NotFound otherwise."""
    groups = visible_groups(actor)
    row = (
        await Campaign.select()
        .where(Campaign.id == campaign_id)
        .output(load_json=True)
        .first()
        .run()
    )
    if row is None or (groups is not None and row["group"] not in groups):
        # Another group's campaign is answered exactly as a missing one.
        raise NotFound("campaign.not_found", id=campaign_id)
    return row


async def load_for_change(actor: Actor, campaign_id: int) -> dict[str, Any]:
    """The campaign row, if ``actor`` may change it and it is STOPPED."""
    row = await load(actor, campaign_id)
    require_writer(actor)
    require_stopped(row)
    return row


def require_stopped(row: dict[str, Any]) -> None:
    if row["state"] != CampaignState.STOPPED.value:
        raise Conflict("campaign.started", error="campaign_started", name=row["name"], id=row["id"])


async def _check_group(actor: Actor, group_id: int) -> None:
    group = (
        await DialerGroup.select(DialerGroup.name, DialerGroup.enabled)
        .where(DialerGroup.id == group_id)
        .first()
        .run()
    )
    if group is None:  # checked with the other fields (check_existence); raced away since
        raise ValidationFailed("campaign.group_not_found", field="group_id", id=group_id)
    if not is_system(actor) and group_id not in actor.group_ids:
        raise PermissionDenied(
            "campaign.group_not_yours",
            field="group_id",
            id=group_id,
            yours=sorted(actor.enabled_group_ids),
        )
    if not group["enabled"]:
        raise Conflict(
            "campaign.group_disabled", field="group_id", error="group_disabled", name=group["name"]
        )


def _positive_id(raw: Any) -> int | None:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 1 else None


async def _check_group_exists(raw: Any) -> None:
    group_id = _positive_id(raw)
    if group_id is not None and not (
        await DialerGroup.exists().where(DialerGroup.id == group_id).run()
    ):
        raise ValidationFailed("campaign.group_not_found", field="group_id", id=group_id)


async def _check_dnc_service_exists(raw: Any) -> None:
    service_id = _positive_id(raw)
    if service_id is not None and not (
        await DncService.exists().where(DncService.id == service_id).run()
    ):
        raise ValidationFailed(
            "campaign.dnc_service_not_found", field="dnc_service_id", id=service_id
        )


async def validate(data: dict[str, Any]) -> dict[str, Any]:
    """The settings as column values, or ONE ValidationFailed listing every field in
    error — the unknown group and DNC service among them (a 422 like any bad value)."""
    problems = FieldErrors()
    values = problems.check(fields.validate, data)
    await problems.check_async(_check_group_exists, data.get("group_id"))
    await problems.check_async(_check_dnc_service_exists, data.get("dnc_service_id"))
    problems.raise_if_any()
    assert values is not None  # fields.validate raised otherwise, and problems with it
    return values


async def _check_references(actor: Actor, values: dict[str, Any], current: dict[str, Any] | None):
    """The rules after validation: the group's permission (403) and state (409), the name (409)."""
    if current is None or values["group"] != current["group"]:
        await _check_group(actor, values["group"])
    same_name = Campaign.exists().where(Campaign.name == values["name"])
    if current is not None:
        same_name = same_name.where(Campaign.id != current["id"])
    if await same_name.run():
        raise Conflict("campaign.name_taken", field="name", name=values["name"])


async def _embedded_dnc_service() -> int | None:
    row = (
        await DncService.select(DncService.id)
        .where(DncService.builtin.eq(True))
        .order_by(DncService.id)
        .first()
        .run()
    )
    return row["id"] if row else None


async def resolve(actor: Actor, name_or_id: str) -> dict[str, Any]:
    """A campaign by id (all digits) or by exact name, for the CLI."""
    text = name_or_id.strip()
    if text.isdigit():
        return await get_campaign(actor, int(text))
    row = await Campaign.select(Campaign.id).where(Campaign.name == text).first().run()
    if row is None:
        raise NotFound("campaign.not_found_by_name", name=text)
    return await get_campaign(actor, row["id"])


async def get_campaign(actor: Actor, campaign_id: int) -> dict[str, Any]:
    return (await with_messages([fields.campaign_json(await load(actor, campaign_id))]))[0]


async def with_messages(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Campaign bodies with their ``safe_harbour_message`` and ``voicemail_message`` (file
    name, length and upload time; None without one): a query per kind, never the audio."""
    from opendialer.core.services import campaign_messages

    ids = [b["id"] for b in bodies]
    found = await campaign_messages.messages_of(ids)
    voicemail = await campaign_messages.messages_of(ids, campaign_messages.VOICEMAIL)
    return [
        {
            **b,
            "safe_harbour_message": found.get(b["id"]),
            "voicemail_message": voicemail.get(b["id"]),
        }
        for b in bodies
    ]


async def list_campaigns(
    actor: Actor, page: PageRequest | None = None, state: str | None = None
) -> dict[str, Any]:
    page = page or PageRequest()
    groups = visible_groups(actor)
    query = Campaign.select().output(load_json=True).order_by(Campaign.name)
    count = Campaign.count()
    if groups is not None:
        if not groups:
            return page_body([], 0, page)
        query = query.where(Campaign.group.is_in(sorted(groups)))
        count = count.where(Campaign.group.is_in(sorted(groups)))
    if state is not None:
        if state not in {s.value for s in CampaignState}:
            raise ValidationFailed("campaign.state_filter_invalid", field="state")
        query = query.where(Campaign.state == state)
        count = count.where(Campaign.state == state)
    rows = await query.limit(page.per_page).offset(page.offset).run()
    bodies = await with_messages([fields.campaign_json(r) for r in rows])
    return page_body(bodies, await count.run(), page)


async def recent_timezone(actor: Actor) -> str | None:
    """The time zone of the campaign made last in the groups ``actor`` sees (the new
    campaign form's default), or None when there is none."""
    groups = visible_groups(actor)
    query = Campaign.select(Campaign.timezone).order_by(Campaign.id, ascending=False)
    if groups is not None:
        if not groups:
            return None
        query = query.where(Campaign.group.is_in(sorted(groups)))
    row = await query.first().run()
    zone = row["timezone"] if row is not None else None
    return zone if zone in fields.ZONES else None


async def create_campaign(
    actor: Actor,
    data: dict[str, Any],
    voicemail: tuple[ConvertedAudio, str | None] | None = None,
) -> dict[str, Any]:
    """Create a STOPPED campaign and its schedules (every date in range on a selected day).

    ``voicemail`` (converted audio, file name) is stored with it, in the same
    transaction: a new campaign may leave messages from its first save."""
    from opendialer.core.services import campaign_messages, schedules

    visible_groups(actor)
    require_writer(actor)
    data = dict(data)
    if "dnc_service_id" not in data:
        data["dnc_service_id"] = await _embedded_dnc_service()
    values = await validate(data)
    await campaign_messages.check_leave_message(
        None, values["amd_params"], arriving=voicemail is not None
    )
    await _check_references(actor, values, None)
    async with write_transaction():
        row = Campaign(**values)
        await row.save().run()
        await schedules.generate(row.id, values, keep_before=None)
        if voicemail is not None:
            audio, filename = voicemail
            await campaign_messages.insert(row.id, audio, filename, campaign_messages.VOICEMAIL)
    return await get_campaign(actor, row.id)


def _as_input(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row in the API's field names, to apply a PATCH on top."""
    body = fields.campaign_json(row)
    for key in fields.READ_ONLY:
        body.pop(key, None)
    return body


async def update_campaign(actor: Actor, campaign_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Change a STOPPED campaign's settings. A new date range, weekdays or zone
    regenerates the schedule from today on; new working hours go to today's and later
    days that have not run (``schedules.follow_working_hours``): one transaction."""
    from opendialer.core.services import campaign_messages, schedules
    from opendialer.core.services.campaign_compliance import check_campaign_values, policy_of

    current = await load_for_change(actor, campaign_id)
    values = await validate({**_as_input(current), **data})
    check_campaign_values(policy_of(current), values)
    await campaign_messages.check_leave_message(campaign_id, values["amd_params"])
    await _check_references(actor, values, current)
    shaping_changed = any(values[c] != current[c] for c in fields.SCHEDULE_SHAPING_COLUMNS)
    hours_changed = any(values[c] != current[c] for c in ("start_time", "end_time"))
    async with write_transaction():
        changes = {getattr(Campaign, k): v for k, v in values.items()}
        changes[Campaign.updated_at] = datetime.now(UTC)
        updated = (
            await Campaign.update(changes)
            .where((Campaign.id == campaign_id) & (Campaign.state == CampaignState.STOPPED.value))
            .returning(Campaign.id)
            .run()
        )
        if not updated:  # started between our read and this write
            require_stopped({**current, "state": CampaignState.STARTED.value})
        if shaping_changed:
            await schedules.generate(campaign_id, values, keep_before=schedules.today_in(values))
        if hours_changed:
            await schedules.follow_working_hours(campaign_id, values)
    return await get_campaign(actor, campaign_id)


async def deletion_preview(actor: Actor, campaign_id: int) -> dict[str, Any]:
    """What deleting the campaign takes with it (for the confirmation): its name and how
    many leads, schedules and call records it has. Same checks as the delete itself."""
    row = await load_for_change(actor, campaign_id)
    return {
        "id": campaign_id,
        "name": row["name"],
        "leads": await Lead.count().where(Lead.campaign == campaign_id).run(),
        "schedules": await Schedule.count().where(Schedule.campaign == campaign_id).run(),
        "calls": await CallRecord.count().where(CallRecord.campaign == campaign_id).run(),
    }


async def delete_campaign(actor: Actor, campaign_id: int) -> None:
    await load_for_change(actor, campaign_id)
    async with write_transaction():
        # Lead, schedule and call_record rows go with it (ON DELETE CASCADE).
        await (
            Campaign.delete()
            .where((Campaign.id == campaign_id) & (Campaign.state == CampaignState.STOPPED.value))
            .run()
        )


def lead_counts(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    counts = {s.value: 0 for s in LeadStatus}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + int(r["count"])
    return {"total": sum(counts.values()), **counts}


async def campaign_summary(actor: Actor, campaign_id: int) -> dict[str, Any]:
    """The campaign's settings and state, with its leads counted by status, the
    schedule it runs on today (or next): ``next_schedule``, None when none is left, and
    how it is paced now (``pacing``: core/services/pacing_summary.py) and its caller
    ID's short calls today (``short_calls``: core/services/short_calls.py)."""
    from opendialer.core.services import pacing_summary, schedules, short_calls
    from opendialer.core.services.compliance_policy import from_stored

    row = await load(actor, campaign_id)
    campaign = (await with_messages([fields.campaign_json(row)]))[0]
    now = datetime.now(UTC)
    threshold = from_stored(row.get("compliance")).short_call_guard_pct
    short = await short_calls.share_of(row.get("caller_id") or "", now)
    rows = (
        await Lead.select(Lead.status, Count(alias="count"))
        .where(Lead.campaign == campaign_id)
        .group_by(Lead.status)
        .run()
    )
    return {
        **campaign,
        "leads": lead_counts(rows),
        "next_schedule": await schedules.current_or_next(campaign),
        "pacing": await pacing_summary.pacing_summary(
            campaign, campaign["safe_harbour_message"] is not None, row.get("started_at")
        ),
        "short_calls": short_calls.summary_json(short, threshold, now),
    }
