"""Dialer groups: created and edited by a Master, enabled/disabled by their Managers,
never deleted (the product guide: groups are disabled, not removed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from opendialer.core.domain import Role
from opendialer.core.services.common import (
    Actor,
    PageRequest,
    page_body,
    reject_unknown,
    require_bool,
    require_str,
)
from opendialer.core.services.errors import (
    Conflict,
    FieldErrors,
    MethodNotAllowed,
    NotFound,
    PermissionDenied,
)
from opendialer.core.storage.tables import ApiToken, DialerGroup, UserGroup

#: Roles that cannot work without an enabled group (Managers and Masters can).
GROUP_BOUND_ROLES = (Role.CAMPAIGN_ADMIN.value, Role.CAMPAIGN_SUPERVISOR.value)

GROUP_FIELDS = {"name", "description", "enabled"}


def group_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "enabled": bool(row["enabled"]),
    }


def _visible_ids(actor: Actor) -> frozenset[int] | None:
    """None means every group."""
    if actor.role is Role.MASTER:
        return None
    return actor.group_ids


async def list_groups(actor: Actor, page: PageRequest | None = None) -> dict[str, Any]:
    """Masters see every group; others the groups they belong to or manage."""
    page = page or PageRequest(per_page=500)
    query = DialerGroup.select().order_by(DialerGroup.name)
    count = DialerGroup.count()
    visible = _visible_ids(actor)
    if visible is not None:
        if not visible:
            return page_body([], 0, page)
        query = query.where(DialerGroup.id.is_in(list(visible)))
        count = count.where(DialerGroup.id.is_in(list(visible)))
    rows = await query.limit(page.per_page).offset(page.offset).run()
    return page_body([group_json(r) for r in rows], await count.run(), page)


async def get_group(actor: Actor, group_id: int) -> dict[str, Any]:
    visible = _visible_ids(actor)
    row = None
    if visible is None or group_id in visible:
        row = await DialerGroup.select().where(DialerGroup.id == group_id).first().run()
    if row is None:  # another's group is answered exactly as a missing one
        raise NotFound("group.not_found", id=group_id)
    return group_json(row)


def require_may_create(actor: Actor) -> None:
    """Only a Master creates groups (a Manager enables and disables its own)."""
    if actor.role is not Role.MASTER:
        raise PermissionDenied("group.create_denied")


async def create_group(actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    require_may_create(actor)
    problems = FieldErrors()
    problems.check(reject_unknown, data, GROUP_FIELDS)
    name = problems.check(require_str, data, "name", max_length=100)
    description = problems.check(require_str, data, "description", max_length=2000, required=False)
    enabled = problems.check(require_bool, data, "enabled", True)
    problems.raise_if_any()
    if await DialerGroup.exists().where(DialerGroup.name == name).run():
        raise Conflict("group.name_taken", field="name", name=name)
    row = DialerGroup(name=name, description=description, enabled=enabled)
    await row.save().run()
    return await get_group(actor, row.id)


async def update_group(actor: Actor, group_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Masters change anything; Managers only enable/disable the groups they manage."""
    problems = FieldErrors()
    problems.check(reject_unknown, data, GROUP_FIELDS)
    current = await get_group(actor, group_id)  # 404 when out of scope
    if actor.role is Role.MANAGER:
        if set(data) & (GROUP_FIELDS - {"enabled"}):
            raise PermissionDenied("group.manager_toggles_only", field="name")
    elif actor.role is not Role.MASTER:
        raise PermissionDenied("group.change_denied")
    changes: dict[Any, Any] = {}
    if "name" in data:
        changes[DialerGroup.name] = problems.check(require_str, data, "name", max_length=100)
    if "description" in data:
        changes[DialerGroup.description] = problems.check(
            require_str, data, "description", max_length=2000, required=False
        )
    if "enabled" in data:
        changes[DialerGroup.enabled] = problems.check(require_bool, data, "enabled", True)
    problems.raise_if_any()
    name = changes.get(DialerGroup.name)
    if (
        name is not None
        and name != current["name"]
        and await DialerGroup.exists().where(DialerGroup.name == name).run()
    ):
        raise Conflict("group.name_taken", field="name", name=name)
    if changes:
        async with DialerGroup._meta.db.transaction():
            await DialerGroup.update(changes).where(DialerGroup.id == group_id).run()
            if current["enabled"] and changes.get(DialerGroup.enabled) is False:
                await _end_access_through(group_id)
    return await get_group(actor, group_id)


async def _end_access_through(group_id: int) -> None:
    """A group was just disabled: the sessions and API tokens of the Campaign
    Administrators and Supervisors who have no other enabled group end for good
    (revoked, not merely refused), so enabling the group again revives none of them."""
    members = [
        r["user"]
        for r in await UserGroup.select(UserGroup.user)
        .where(UserGroup.group == group_id, UserGroup.user.role.is_in(list(GROUP_BOUND_ROLES)))
        .run()
    ]
    if not members:
        return
    still = {
        r["user"]
        for r in await UserGroup.select(UserGroup.user)
        .where(
            UserGroup.user.is_in(members),
            UserGroup.group != group_id,
            UserGroup.group.enabled == True,  # noqa: E712 (SQL, not Python)
        )
        .run()
    }
    ended = [u for u in members if u not in still]
    if ended:
        await (
            ApiToken.update({ApiToken.revoked_at: datetime.now(UTC)})
            .where(ApiToken.user.is_in(ended), ApiToken.revoked_at.is_null())
            .run()
        )


def delete_group(actor: Actor, group_id: int) -> None:
    raise MethodNotAllowed("group.never_deleted")


async def existing_group_ids(ids: list[int]) -> set[int]:
    if not ids:
        return set()
    rows = await DialerGroup.select(DialerGroup.id).where(DialerGroup.id.is_in(ids)).run()
    return {r["id"] for r in rows}


async def group_is_enabled(group_id: int) -> bool:
    row = (
        await DialerGroup.select(DialerGroup.enabled)
        .where(DialerGroup.id == group_id)
        .first()
        .run()
    )
    return bool(row and row["enabled"])
