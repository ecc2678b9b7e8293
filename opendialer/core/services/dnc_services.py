"""Do-Not-Call services: which lists exist and how to reach them (not their numbers —
``dnc_numbers.py`` imports those).

Who may: Masters and Campaign Administrators manage services (the product guide's
"Do-Not-Call services and lists" tab is theirs); Campaign Supervisors may read them,
since a campaign's settings name its service; Managers (users and groups only) get 403.
Services are shared by every group — a national list is the same for all.

The built-in Embedded Service is part of the product: PATCH and DELETE on it are
refused with 409 ``builtin_service``. A service that a campaign uses cannot be
deleted (409 ``service_in_use``): move the campaigns to another service first.

Credentials are write-only, like the SIP port passwords (a url's password reads back
as ``***``, sensitive header values blank; sent back so, they keep the stored ones):
see :mod:`.dnc_credentials`. Providers read the table, so they get the real values.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from opendialer.core.domain import Role
from opendialer.core.plugins import get_plugin_manager
from opendialer.core.services.common import (
    Actor,
    PageRequest,
    jsonable,
    page_body,
    reject_unknown,
    require_bool,
    require_str,
)
from opendialer.core.services.dnc_credentials import (
    keep_secret_headers,
    keep_url_password,
    mask_url,
    options_of,
    origin,
    secret_headers,
    stored_headers_stay_home,
    url_parts,
)
from opendialer.core.services.errors import (
    Conflict,
    FieldErrors,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from opendialer.core.services.option_refusals import refused
from opendialer.core.storage.tables import Campaign, DncNumber, DncService
from opendialer.sdk import options as options_contract

READ_ROLES = frozenset({Role.MASTER, Role.CAMPAIGN_ADMIN, Role.CAMPAIGN_SUPERVISOR})
MANAGE_ROLES = frozenset({Role.MASTER, Role.CAMPAIGN_ADMIN})
FIELDS = {"name", "kind", "url", "ca_bundle", "timeout_ms", "insecure", "options"}
TIMEOUT_MS_RANGE = (50, 60_000)
MAX_OPTIONS_JSON = 10_000
#: The longest CA bundle the checks accept (the API schema says so too).
MAX_CA_BUNDLE = options_contract.MAX_CA_BUNDLE


def known_kinds() -> list[str]:
    """The service kinds the installed DNC providers offer (``register_dnc_providers``)."""
    return sorted(get_plugin_manager().factories("dnc_providers"))


def service_json(row: dict[str, Any]) -> dict[str, Any]:
    """A service as every reader sees it: credentials masked (see the module's doc)."""
    options = options_of(row)
    secrets = secret_headers(options)
    if secrets:
        options = {**options, "headers": {**options["headers"], **dict.fromkeys(secrets, "")}}
    _, password, _ = url_parts(row["url"]) if row["url"] else (None, None, "")
    return jsonable(
        {
            "id": row["id"],
            "name": row["name"],
            "kind": row["kind"],
            "url": mask_url(row["url"]),
            "has_url_password": bool(password),
            "ca_bundle": row["ca_bundle"],
            "timeout_ms": row["timeout_ms"],
            "insecure": bool(row["insecure"]),
            "options": options,
            "secret_headers": sorted(secrets),
            "builtin": bool(row["builtin"]),
            "list_version": row["list_version"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }
    )


def _require(actor: Actor, roles: frozenset[Role], what: str) -> None:
    if actor.role not in roles:
        raise PermissionDenied(
            "dnc.role_denied", roles=" and ".join(r.value for r in sorted(roles)), what=what
        )


async def list_services(actor: Actor, page: PageRequest | None = None) -> dict[str, Any]:
    _require(actor, READ_ROLES, "see")
    page = page or PageRequest()
    rows = (
        await DncService.select()
        .order_by(DncService.builtin, ascending=False)
        .order_by(DncService.name)
        .limit(page.per_page)
        .offset(page.offset)
        .run()
    )
    total = await DncService.count().run()
    return page_body([service_json(r) for r in rows], total, page)


async def _stored(service_id: int) -> dict[str, Any]:
    """The row with its real credentials — never for display."""
    row = await DncService.select().where(DncService.id == service_id).first().run()
    if row is None:
        raise NotFound("dnc.service_not_found", id=service_id)
    return dict(row)


async def get_service(actor: Actor, service_id: int) -> dict[str, Any]:
    _require(actor, READ_ROLES, "see")
    return service_json(await _stored(service_id))


# -- validation ------------------------------------------------------------


def _kind(value: Any) -> str:
    kinds = known_kinds()
    if not isinstance(value, str) or value not in kinds:
        raise ValidationFailed("dnc.kind_invalid", field="kind", kinds=", ".join(kinds))
    return value


def _timeout_ms(value: Any) -> int:
    low, high = TIMEOUT_MS_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed("dnc.timeout_range", field="timeout_ms", low=low, high=high)
    return value


def _options(value: Any) -> str:
    if not isinstance(value, dict):
        raise ValidationFailed("options.not_object", field="options")
    text = json.dumps(value)
    if len(text) > MAX_OPTIONS_JSON or "\\u0000" in text:
        raise ValidationFailed("dnc.options_too_long", field="options", n=MAX_OPTIONS_JSON)
    return text


def _kind_of(data: dict[str, Any], merged: dict[str, Any], creating: bool) -> str:
    if creating and "kind" not in data:
        raise ValidationFailed("dnc.kind_required", field="kind", kinds=", ".join(known_kinds()))
    return _kind(merged.get("kind"))


def _connection(kind: str, merged: dict[str, Any], insecure: bool) -> dict[str, Any]:
    """The kind's url, ca_bundle (and options, when it normalises them) as its provider
    validates them (:class:`~opendialer.sdk.contracts.ValidatesOptions`); one
    ValidationFailed per refused field. A kind whose provider has no check gets the
    generic one: an optional url (http:// allowed) and a PEM ca_bundle."""
    factory = get_plugin_manager().factories("dnc_providers").get(kind)
    validate = getattr(factory, "validate_options", None)
    given = {
        "url": merged.get("url"),
        "ca_bundle": merged.get("ca_bundle"),
        "insecure": insecure,
        "timeout_ms": merged.get("timeout_ms", 2000),
        "options": options_of(merged),
    }
    try:
        checked = dict(validate(given)) if callable(validate) else _generic_connection(given)
    except ValueError as exc:  # the provider's OptionError(s): ``option`` is the field
        raise refused(exc, field=lambda option: option, service="dnc") from None
    return {"url": None, "ca_bundle": None, **checked}


def _generic_connection(given: dict[str, Any]) -> dict[str, Any]:
    """A plugin's kind without its own check: what its url means is its business."""
    problems = options_contract.OptionProblems()
    url = given["url"]
    check_url = options_contract.checked_url
    checked = {
        "url": None if url in (None, "") else problems.check(check_url, url, insecure=True),
        "ca_bundle": problems.check(options_contract.checked_ca_bundle, given["ca_bundle"]),
    }
    problems.raise_if_any()
    return checked


def _validated(data: dict[str, Any], current: dict[str, Any] | None) -> dict[Any, Any]:
    """Column values for a create (``current`` None) or an update (only what changes),
    validated against the service as it will be after the change; ONE ValidationFailed
    lists every field in error. The url and ca_bundle rules depend on the kind, so they
    are checked only once the kind is valid."""
    problems = FieldErrors()
    check = problems.check
    check(reject_unknown, data, FIELDS)
    data = dict(data)
    stored_url = (current or {}).get("url")
    same_address = "url" not in data or origin(data["url"]) == origin(stored_url)
    if "url" in data:
        url = check(keep_url_password, data["url"], stored_url)
        if url is None and data["url"] is not None:  # reported: check the rest as stored
            del data["url"]
        else:
            data["url"] = url
    if "options" in data:
        options = check(
            keep_secret_headers,
            data["options"],
            options_of(current or {}),
            same_address,
        )
        data["options"] = options if options is not None else {}
    elif current is not None and not same_address:
        check(stored_headers_stay_home, current)
    merged = {**(current or {}), **data}
    kind = check(_kind_of, data, merged, current is None)
    insecure = check(require_bool, merged, "insecure", False)
    values: dict[Any, Any] = {
        DncService.kind: kind,
        DncService.insecure: insecure,
        DncService.timeout_ms: check(_timeout_ms, merged.get("timeout_ms", 2000)),
    }
    if current is None or "name" in data:
        values[DncService.name] = check(require_str, data, "name", max_length=100)
    # An invalid insecure flag is reported above; do not add a guessed "plain http" error.
    lenient = True if insecure is None else insecure
    if kind is not None:  # the url and ca_bundle rules are the kind's provider's
        connection = check(_connection, kind, merged, lenient)
        if connection is not None:
            values[DncService.url] = connection["url"]
            values[DncService.ca_bundle] = connection["ca_bundle"]
            if "options" in connection:
                merged = {**merged, "options": connection["options"]}
    if "options" in data or current is None:
        values[DncService.options] = check(_options, merged.get("options", {}))
    problems.raise_if_any()
    return values


async def _name_taken(name: str, except_id: int | None = None) -> bool:
    query = DncService.exists().where(DncService.name == name)
    if except_id is not None:
        query = query.where(DncService.id != except_id)
    return bool(await query.run())


# -- changes ----------------------------------------------------------------


async def create_service(actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    _require(actor, MANAGE_ROLES, "create")
    values = _validated(data, None)
    name = values[DncService.name]
    if await _name_taken(name):
        raise Conflict("dnc.name_taken", field="name", name=name)
    row = DncService(**{column._meta.name: value for column, value in values.items()})
    await row.save().run()
    return await get_service(actor, row.id)


def _refuse_builtin(current: dict[str, Any], what: str) -> None:
    if current["builtin"]:
        raise Conflict("dnc.builtin", error="builtin_service", name=current["name"], what=what)


async def update_service(actor: Actor, service_id: int, data: dict[str, Any]) -> dict[str, Any]:
    _require(actor, MANAGE_ROLES, "change")
    current = await _stored(service_id)
    _refuse_builtin(current, "changed")
    values = _validated(data, current)
    name = values.get(DncService.name)
    if name is not None and await _name_taken(name, except_id=service_id):
        raise Conflict("dnc.name_taken", field="name", name=name)
    # updated_at moves so every node's provider cache rebuilds this service's provider.
    values[DncService.updated_at] = datetime.now(UTC)
    await DncService.update(values).where(DncService.id == service_id).run()
    return await get_service(actor, service_id)


async def _campaigns_using(actor: Actor, service_id: int) -> tuple[int, list[str]]:
    """How many campaigns use the service, and the names of those the actor may see."""
    rows = (
        await Campaign.select(Campaign.name, Campaign.group)
        .where(Campaign.dnc_service == service_id)
        .order_by(Campaign.name)
        .run()
    )
    visible = [r["name"] for r in rows if actor.is_master or r["group"] in actor.enabled_group_ids]
    return len(rows), visible


async def deletion_preview(actor: Actor, service_id: int) -> dict[str, Any]:
    """What deleting the service means, for the confirmation: its name, how many
    campaigns use it (then the delete is refused) and the names of those the actor
    sees. Same checks as the delete itself (403, 404, 409 ``builtin_service``)."""
    _require(actor, MANAGE_ROLES, "delete")
    current = await get_service(actor, service_id)
    _refuse_builtin(current, "deleted")
    count, names = await _campaigns_using(actor, service_id)
    return {"id": service_id, "name": current["name"], "campaigns": count, "names": names}


async def delete_service(actor: Actor, service_id: int) -> None:
    _require(actor, MANAGE_ROLES, "delete")
    current = await get_service(actor, service_id)
    _refuse_builtin(current, "deleted")
    count, names = await _campaigns_using(actor, service_id)
    if count:
        shown = f" ({', '.join(repr(n) for n in names[:5])})" if names else ""
        raise Conflict(
            "dnc.service_in_use",
            error="service_in_use",
            name=current["name"],
            n=count,
            shown=shown,
        )
    async with DncService._meta.db.transaction():
        await DncNumber.delete().where(DncNumber.service == service_id).run()
        await DncService.delete().where(DncService.id == service_id).run()
