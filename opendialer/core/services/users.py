"""Dialer users and their groups, with the product guide's role rules.

* Master: create/update/delete/list every user, reset passwords, assign groups.
* Manager: create/update/delete/list users of the groups it manages, assigning
  only those groups; it creates Campaign Administrators and Supervisors (not
  Masters or Managers: no one raises themselves through a subordinate).
* Campaign Administrators and Supervisors do not manage users.
* Campaign Administrators and Supervisors whose groups are all disabled cannot
  log in; Managers can.

One module (~420 lines) on purpose: the log-in rule, the scope of a Manager and
the roles one may give are one role table (the product guide's), read and
changed together; split, a reader would chase a rule across files.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from typing import Any

from opendialer.core.domain import Role
from opendialer.core.services import passwords
from opendialer.core.services.common import (
    Actor,
    PageRequest,
    page_body,
    reject_unknown,
    require_str,
)
from opendialer.core.services.errors import (
    Conflict,
    FieldErrors,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from opendialer.core.services.groups import existing_group_ids
from opendialer.core.storage.tables import ApiToken, DialerGroup, DialerUser, UserGroup

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
LANGUAGES = ("en", "pt_BR", "es")
CREATE_FIELDS = {"username", "password", "first_name", "last_name", "role", "group_ids", "language"}
UPDATE_FIELDS = CREATE_FIELDS - {"password"}
MANAGER_MAY_CREATE = {Role.CAMPAIGN_ADMIN, Role.CAMPAIGN_SUPERVISOR}


class NoEnabledGroup(PermissionDenied):
    error = "no_enabled_group"


def _role(value: Any, field: str = "role") -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValidationFailed(
            "user.role_invalid", field=field, roles=", ".join(r.value for r in Role)
        ) from None


async def _groups_of(user_ids: list[int]) -> dict[int, list[int]]:
    if not user_ids:
        return {}
    rows = (
        await UserGroup.select(UserGroup.user, UserGroup.group)
        .where(UserGroup.user.is_in(user_ids))
        .run()
    )
    out: dict[int, list[int]] = {uid: [] for uid in user_ids}
    for r in rows:
        out[r["user"]].append(r["group"])
    return {k: sorted(v) for k, v in out.items()}


def user_json(row: dict[str, Any], group_ids: list[int]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "username": row["username"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "role": row["role"],
        "language": row["language"] or "en",  # not chosen yet: English until the first login
        "group_ids": group_ids,
    }


async def actor_for(user_id: int) -> Actor:
    """Build the acting identity of a stored user (groups read fresh each time)."""
    row = await DialerUser.select().where(DialerUser.id == user_id).first().run()
    if row is None:
        raise NotAuthenticated("auth.user_gone")
    group_ids = (await _groups_of([user_id]))[user_id]
    enabled: set[int] = set()
    if group_ids:
        rows = (
            await DialerGroup.select(DialerGroup.id)
            .where(DialerGroup.id.is_in(group_ids), DialerGroup.enabled.eq(True))
            .run()
        )
        enabled = {r["id"] for r in rows}
    return Actor(
        user_id=row["id"],
        username=row["username"],
        role=Role(row["role"]),
        group_ids=frozenset(group_ids),
        enabled_group_ids=frozenset(enabled),
        language=row["language"] or "en",
    )


def ensure_may_log_in(actor: Actor) -> None:
    if (
        actor.role in (Role.CAMPAIGN_ADMIN, Role.CAMPAIGN_SUPERVISOR)
        and not actor.enabled_group_ids
    ):
        raise NoEnabledGroup("auth.no_enabled_group")


async def authenticate(username: str, password: str) -> Actor:
    """Check credentials and the log-in rule; raise NotAuthenticated or NoEnabledGroup."""
    row = None
    if USERNAME_RE.match(username):  # no valid user has any other name (nor NUL bytes)
        row = (
            await DialerUser.select(DialerUser.id, DialerUser.password_hash)
            .where(DialerUser.username == username)
            .first()
            .run()
        )
    stored = row["password_hash"] if row else passwords.dummy_hash()
    ok = await passwords.verify_password(stored, password)
    if row is None or not ok:
        raise NotAuthenticated("auth.wrong_credentials")
    actor = await actor_for(row["id"])
    ensure_may_log_in(actor)
    return actor


# -- scope ---------------------------------------------------------------


def _require_user_admin(actor: Actor) -> None:
    if actor.role not in (Role.MASTER, Role.MANAGER):
        raise PermissionDenied("user.manage_denied")


def _in_scope(actor: Actor, role: str, group_ids: list[int]) -> bool:
    if actor.role is Role.MASTER:
        return True
    if actor.role is Role.MANAGER:
        return role in MANAGER_MAY_CREATE and bool(set(group_ids) & actor.group_ids)
    return False


async def list_users(actor: Actor, page: PageRequest | None = None) -> dict[str, Any]:
    _require_user_admin(actor)
    page = page or PageRequest()
    if actor.role is Role.MASTER:
        total = await DialerUser.count().run()
        rows = (
            await DialerUser.select()
            .order_by(DialerUser.username)
            .limit(page.per_page)
            .offset(page.offset)
            .run()
        )
    else:
        if not actor.group_ids:
            return page_body([], 0, page)
        member_rows = (
            await UserGroup.select(UserGroup.user)
            .where(UserGroup.group.is_in(list(actor.group_ids)))
            .run()
        )
        ids = sorted({r["user"] for r in member_rows})
        if not ids:
            return page_body([], 0, page)
        where = (DialerUser.id.is_in(ids)) & (
            DialerUser.role.is_in([r.value for r in MANAGER_MAY_CREATE])
        )
        total = await DialerUser.count().where(where).run()
        rows = (
            await DialerUser.select()
            .where(where)
            .order_by(DialerUser.username)
            .limit(page.per_page)
            .offset(page.offset)
            .run()
        )
    groups = await _groups_of([r["id"] for r in rows])
    return page_body([user_json(r, groups[r["id"]]) for r in rows], total, page)


async def get_user(actor: Actor, user_id: int) -> dict[str, Any]:
    _require_user_admin(actor)
    row = await DialerUser.select().where(DialerUser.id == user_id).first().run()
    if row is None:
        raise NotFound("user.not_found", id=user_id)
    group_ids = (await _groups_of([user_id]))[user_id]
    if not _in_scope(actor, row["role"], group_ids):
        # Out of scope is answered exactly as missing: the 404 must not confirm the id.
        raise NotFound("user.not_found", id=user_id)
    return user_json(row, group_ids)


async def _validate_group_ids(actor: Actor, raw: Any, role: Role | None) -> list[int]:
    """The group ids to store; ``role`` None (itself invalid) skips the role's rules."""
    if raw is None:
        raw = []
    if not isinstance(raw, list) or not all(
        isinstance(g, int) and not isinstance(g, bool) for g in raw
    ):
        raise ValidationFailed("user.group_ids_invalid", field="group_ids")
    ids = sorted(set(raw))
    missing = set(ids) - await existing_group_ids(ids)
    if missing:
        raise ValidationFailed(
            "user.groups_missing", field="group_ids", ids=", ".join(map(str, sorted(missing)))
        )
    if actor.role is Role.MANAGER:
        foreign = set(ids) - actor.group_ids
        if foreign:
            raise PermissionDenied(
                "user.groups_not_managed", field="group_ids", ids=sorted(foreign)
            )
        if not ids:
            raise ValidationFailed("user.no_managed_group", field="group_ids")
    if role in (Role.CAMPAIGN_ADMIN, Role.CAMPAIGN_SUPERVISOR, Role.MANAGER) and not ids:
        assert role is not None
        raise ValidationFailed("user.group_needed", field="group_ids", role=role.value)
    if role is Role.MASTER and ids:
        raise ValidationFailed("user.master_no_group", field="group_ids")
    return ids


def _validate_username(data: dict[str, Any]) -> str:
    username = require_str(data, "username", max_length=64)
    if not USERNAME_RE.match(username):
        raise ValidationFailed("user.name_invalid", field="username")
    return username


#: A user's language nobody chose (a Master made on a shell whose locale names none,
#: e.g. a container's C locale): the pages are English until the first login, which
#: adopts the browser's language.
NOT_CHOSEN = ""


def _validate_language(data: dict[str, Any], default: str) -> str:
    language = data.get("language", default)
    if language is None:  # the CLI and the demo only: the API's and the form's are strings
        return NOT_CHOSEN
    if language not in LANGUAGES:
        raise ValidationFailed(
            "user.language_invalid", field="language", languages=", ".join(LANGUAGES)
        )
    return str(language)


def _check_new_role(actor: Actor, role: Role, *, creating: bool) -> None:
    if actor.role is not Role.MANAGER or role in MANAGER_MAY_CREATE:
        return
    if creating:
        raise PermissionDenied("user.manager_creates", field="role")
    raise PermissionDenied("user.manager_assigns", field="role")


async def create_user(
    actor: Actor, data: dict[str, Any], *, found: FieldErrors | None = None
) -> dict[str, Any]:
    """Create a user. ``found``: problems the caller already found in its own fields (the
    admin form's password confirmation), reported with the service's; nothing is
    written while there are any."""
    _require_user_admin(actor)
    problems = found if found is not None else FieldErrors()
    check = problems.check
    check(reject_unknown, data, CREATE_FIELDS)
    username = check(_validate_username, data)
    role = check(_role, data.get("role"))
    if role is not None:
        _check_new_role(actor, role, creating=True)
    group_ids = await problems.check_async(_validate_group_ids, actor, data.get("group_ids"), role)
    password = data.get("password")
    check(passwords.check_policy, password, username or "")
    first_name = check(require_str, data, "first_name", max_length=100, required=False)
    last_name = check(require_str, data, "last_name", max_length=100, required=False)
    # Not given: the creator's language (a Master working in Spanish creates users who
    # read Spanish until they choose otherwise).
    language = check(_validate_language, data, actor.language)
    problems.raise_if_any()
    assert username is not None and role is not None and group_ids is not None
    if await DialerUser.exists().where(DialerUser.username == username).run():
        raise Conflict("user.name_taken", field="username", name=username)
    password_hash = await passwords.hash_password(password)  # type: ignore[arg-type]
    async with DialerUser._meta.db.transaction():
        user = DialerUser(
            username=username,
            password_hash=password_hash,
            first_name=first_name,
            last_name=last_name,
            role=role.value,
            language=language,
        )
        await user.save().run()
        for gid in group_ids:
            await UserGroup(user=user.id, group=gid).save().run()
    return await get_user(actor, user.id)


def _no_password(data: dict[str, Any]) -> None:
    if "password" in data:
        raise ValidationFailed("user.password_elsewhere", field="password")


async def update_user(
    actor: Actor, user_id: int, data: dict[str, Any], *, found: FieldErrors | None = None
) -> dict[str, Any]:
    """Change a user; ``found`` as for :func:`create_user`."""
    problems = found if found is not None else FieldErrors()
    check = problems.check
    check(_no_password, data)
    check(reject_unknown, {k: v for k, v in data.items() if k != "password"}, UPDATE_FIELDS)
    current = await get_user(actor, user_id)  # scope check: 404 when not visible
    changes: dict[Any, Any] = {}
    role: Role | None = Role(current["role"])
    if "role" in data:
        role = check(_role, data["role"])
        if role is not None:
            _check_new_role(actor, role, creating=False)
            changes[DialerUser.role] = role.value
    username = None
    if "username" in data:
        username = check(_validate_username, data)
        changes[DialerUser.username] = username
    for name, column in (
        ("first_name", DialerUser.first_name),
        ("last_name", DialerUser.last_name),
    ):
        if name in data:
            changes[column] = check(require_str, data, name, max_length=100, required=False)
    if "language" in data:
        changes[DialerUser.language] = check(_validate_language, data, current["language"])

    new_groups: list[int] | None = None
    if "group_ids" in data or "role" in data:
        requested = data.get("group_ids", current["group_ids"])
        mine = await problems.check_async(_validate_group_ids, actor, requested, role)
        if mine is not None and actor.role is Role.MANAGER:
            # A Manager rewrites only its own groups' memberships; others stay.
            kept = [g for g in current["group_ids"] if g not in actor.group_ids]
            new_groups = sorted(set(kept) | set(mine))
        else:
            new_groups = mine
    problems.raise_if_any()
    if role is not None and user_id == actor.user_id and role is not actor.role:
        raise Conflict("user.own_role", field="role")
    if (
        username is not None
        and username != current["username"]
        and await DialerUser.exists().where(DialerUser.username == username).run()
    ):
        raise Conflict("user.name_taken", field="username", name=username)

    async with DialerUser._meta.db.transaction():
        if changes:
            changes[DialerUser.updated_at] = datetime.now(UTC)
            await DialerUser.update(changes).where(DialerUser.id == user_id).run()
        if new_groups is not None:
            await UserGroup.delete().where(UserGroup.user == user_id).run()
            for gid in new_groups:
                await UserGroup(user=user_id, group=gid).save().run()
    return await get_user(actor, user_id)


async def delete_user(actor: Actor, user_id: int) -> None:
    current = await get_user(actor, user_id)
    if user_id == actor.user_id:
        raise Conflict("user.delete_self")
    if actor.role is Role.MANAGER and set(current["group_ids"]) - actor.group_ids:
        raise PermissionDenied("user.foreign_groups")
    if current["role"] == Role.MASTER.value:
        masters = await DialerUser.count().where(DialerUser.role == Role.MASTER.value).run()
        if masters <= 1:
            raise Conflict("user.last_master")
    await DialerUser.delete().where(DialerUser.id == user_id).run()


def require_password_resetter(actor: Actor) -> None:
    if actor.role is not Role.MASTER:
        raise PermissionDenied("user.reset_denied")


async def reset_password(actor: Actor, user_id: int, password: Any) -> None:
    require_password_resetter(actor)
    current = await get_user(actor, user_id)
    passwords.check_policy(password, current["username"])
    password_hash = await passwords.hash_password(password)
    async with DialerUser._meta.db.transaction():
        await (
            DialerUser.update({DialerUser.password_hash: password_hash})
            .where(DialerUser.id == user_id)
            .run()
        )
        # Whoever knew the old password may hold a session or token: end them all.
        await (
            ApiToken.update({ApiToken.revoked_at: datetime.now(UTC)})
            .where(ApiToken.user == user_id, ApiToken.revoked_at.is_null())
            .run()
        )


#: The pages' languages, by what the shell's locale starts with.
LOCALE_LANGUAGES = (("pt", "pt_BR"), ("es", "es"), ("en", "en"))


def language_of_the_shell() -> str | None:
    """The operator's language for the pages: the shell's locale
    (LC_ALL, LC_MESSAGES, LANG; e.g. pt_BR.UTF-8 → pt_BR; another language → English);
    None when the locale names no language (unset, C, POSIX: a container's)."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "").lower()
        if value and value not in ("c", "posix") and not value.startswith("c."):
            return next(
                (lang for prefix, lang in LOCALE_LANGUAGES if value.startswith(prefix)), "en"
            )
    return None


async def create_master(
    username: str, password: str, language: str | None = "en"
) -> dict[str, Any]:
    """For the CLI and the demo: a Master needs no one's permission to exist.
    ``language`` None: not chosen, the browser's at the first login."""
    from opendialer.core.services.common import SYSTEM

    return await create_user(
        SYSTEM,
        {
            "username": username,
            "password": password,
            "role": "master",
            "group_ids": [],
            "language": language,
        },
    )


async def adopt_language(actor: Actor, language: str) -> bool:
    """At login: the user's language becomes ``language`` (the browser's) if nobody
    chose one yet; False if one was chosen (it stays)."""
    _validate_language({"language": language}, "en")
    adopted = await (
        DialerUser.update({DialerUser.language: language})
        .where((DialerUser.id == actor.user_id) & (DialerUser.language == NOT_CHOSEN))
        .returning(DialerUser.id)
        .run()
    )
    return bool(adopted)


async def set_language(actor: Actor, language: str) -> None:
    _validate_language({"language": language}, "en")
    await (
        DialerUser.update({DialerUser.language: language})
        .where(DialerUser.id == actor.user_id)
        .run()
    )


async def me(actor: Actor) -> dict[str, Any]:
    """The acting user's own record, with which of its groups are enabled."""
    row = await DialerUser.select().where(DialerUser.id == actor.user_id).first().run()
    if row is None:
        raise NotAuthenticated("auth.user_gone")
    body = user_json(row, sorted(actor.group_ids))
    body["enabled_group_ids"] = sorted(actor.enabled_group_ids)
    return body
