"""Leads of a campaign: list (by status, by search), read, edit, delete, import.

Reading follows the campaign's visibility (see :mod:`.campaigns`); every change
needs a Campaign Administrator and a STOPPED campaign. Imports are in
:mod:`.lead_import`; this module re-exports :func:`import_file`.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from piccolo.columns.combination import WhereRaw

from opendialer.core.domain import LeadStatus
from opendialer.core.services import campaigns, lead_zones
from opendialer.core.services.campaign_regions import region_of
from opendialer.core.services.common import Actor, PageRequest, page_body, reject_unknown
from opendialer.core.services.common import require_str as _require_str
from opendialer.core.services.errors import Conflict, NotFound, ValidationFailed, problem_params
from opendialer.core.services.lead_import import InvalidCsv, import_file
from opendialer.core.services.leads_csv import DESCRIPTION_MAX, NAME_MAX, NotCsv
from opendialer.core.services.phones import InvalidPhone, PhoneNormaliser, shape
from opendialer.core.storage.tables import CallRecord, Lead

__all__ = [
    "InvalidCsv",
    "NotCsv",
    "delete_lead",
    "deletion_preview",
    "get_lead",
    "import_file",
    "lead_json",
    "list_leads",
    "update_lead",
]

Q_MAX = 100

#: Counting a million leads takes PostgreSQL 50-300 ms, longer than the page itself,
#: so list totals are remembered. A key holds the campaign's ``updated_at``, which
#: every insert or delete of leads moves (import, edit, delete); what else changes
#: counts is the engine changing statuses of a STARTED campaign, so those totals
#: live ``COUNT_TTL_STARTED_S``, and others ``COUNT_TTL_S`` (other nodes, calls
#: that end just after a stop).
COUNT_TTL_STARTED_S = 2.0
COUNT_TTL_S = 30.0
_COUNT_CACHE_SIZE = 1024
_counts: OrderedDict[tuple[Any, ...], tuple[float, int]] = OrderedDict()
LEAD_COLUMNS = (
    Lead.id,
    Lead.name,
    Lead.description,
    Lead.phone,
    Lead.attempts,
    Lead.status,
    Lead.next_attempt_at,
    Lead.timezone,
    Lead.timezone_source,
    Lead.deferred_reason,
)


def lead_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "phone": row["phone"],
        "attempts": row["attempts"],
        "status": row["status"],
        "next_attempt_at": row["next_attempt_at"],
        # NULL: the campaign's zone (lead_zones.py); several zones are space-separated.
        "timezone": row.get("timezone"),
        "timezone_source": row.get("timezone_source") or lead_zones.FROM_CAMPAIGN,
        "deferred": deferral_json(row.get("deferred_reason")),
    }


def deferral_json(raw: str | None) -> dict[str, Any] | None:
    """Why a compliance rule put the lead off (``{"code", "until", ...}``), or None."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def parse_status(status: str | None) -> str | None:
    if status is None or status == "":
        return None
    if status not in {s.value for s in LeadStatus}:
        raise ValidationFailed(
            "lead.status_invalid",
            field="status",
            statuses=", ".join(s.value for s in LeadStatus),
        )
    return status


def _like(column: Any, pattern: str, *, postgres: bool) -> Any:
    """``column [I]LIKE pattern`` with ``\\`` escaping ``%``, ``_`` and itself.

    PostgreSQL's LIKE escapes with a backslash already (and its trigram indexes
    serve the plain form); SQLite has no escape character unless told. SQLite has no
    ILIKE either; its LIKE already ignores case (ASCII)."""
    if postgres:
        return column.ilike(pattern)
    return WhereRaw(f"{column._meta.db_column_name} LIKE {{}} ESCAPE '\\'", pattern)


def _search(q: str) -> Any:
    """A case-insensitive substring match on name, phone or description; ``%`` and ``_``
    match themselves."""
    needle = q.strip()
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    postgres = Lead._meta.db.engine_type != "sqlite"
    condition = _like(Lead.name, pattern, postgres=postgres) | _like(
        Lead.description, pattern, postgres=postgres
    )
    digits = "".join(ch for ch in needle if ch.isdigit())
    if digits and len(digits) >= len(needle.replace(" ", "").replace("-", "").lstrip("+")):
        condition = condition | Lead.phone.like(f"%{digits}%")
    return condition


async def list_leads(
    actor: Actor,
    campaign_id: int,
    page: PageRequest | None = None,
    *,
    status: str | None = None,
    q: str | None = None,
) -> dict[str, Any]:
    page = page or PageRequest()
    campaign = await campaigns.load(actor, campaign_id)
    where: Any = Lead.campaign == campaign_id
    if (wanted := parse_status(status)) is not None:
        where = where & (Lead.status == wanted)
    if q is not None and q.strip():
        if len(q) > Q_MAX or "\x00" in q:
            raise ValidationFailed("lead.search_too_long", field="q", n=Q_MAX)
        where = where & _search(q)
    rows = (
        await Lead.select(*LEAD_COLUMNS)
        .where(where)
        .order_by(Lead.id)
        .limit(page.per_page)
        .offset(page.offset)
        .run()
    )
    key = (campaign_id, campaign["updated_at"], wanted, (q or "").strip())
    ttl = COUNT_TTL_STARTED_S if campaign["state"] == "STARTED" else COUNT_TTL_S
    total = await _count(key, ttl, where)
    return page_body([lead_json(r) for r in rows], total, page)


async def _count(key: tuple[Any, ...], ttl: float, where: Any) -> int:
    now = time.monotonic()
    cached = _counts.get(key)
    if cached is not None and cached[0] > now:
        _counts.move_to_end(key)
        return cached[1]
    total = int(await Lead.count().where(where).run())
    _counts[key] = (now + ttl, total)
    while len(_counts) > _COUNT_CACHE_SIZE:
        _counts.popitem(last=False)
    return total


async def _touch(campaign_id: int) -> None:
    """Move the campaign's ``updated_at``: its remembered lead totals are stale."""
    await (
        campaigns.Campaign.update({campaigns.Campaign.updated_at: datetime.now(UTC)})
        .where(campaigns.Campaign.id == campaign_id)
        .run()
    )


async def _row(campaign_id: int, lead_id: int) -> dict[str, Any]:
    row = (
        await Lead.select(*LEAD_COLUMNS)
        .where((Lead.id == lead_id) & (Lead.campaign == campaign_id))
        .first()
        .run()
    )
    if row is None:
        raise NotFound("lead.not_found", id=lead_id, campaign_id=campaign_id)
    return row


async def get_lead(actor: Actor, campaign_id: int, lead_id: int) -> dict[str, Any]:
    await campaigns.load(actor, campaign_id)
    return lead_json(await _row(campaign_id, lead_id))


async def update_lead(
    actor: Actor, campaign_id: int, lead_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    """Change a lead's name, description or phone (normalised like an import)."""
    campaign = await campaigns.load_for_change(actor, campaign_id)
    reject_unknown(data, {"name", "description", "phone"})
    current = await _row(campaign_id, lead_id)
    changes: dict[Any, Any] = {}
    if "name" in data:
        changes[Lead.name] = " ".join(_require_str(data, "name", max_length=NAME_MAX).split())
    if "description" in data:
        changes[Lead.description] = _require_str(
            data, "description", max_length=DESCRIPTION_MAX, required=False
        )
    if "phone" in data:
        raw = _require_str(data, "phone", max_length=40)
        region = region_of(campaign)
        try:
            _, digits = shape(raw)
            # The stored digits sent back (the edit form shows them) are the same number,
            # whatever the region would make of them as written.
            same = digits == current["phone"]
            phone = current["phone"] if same else PhoneNormaliser(region)(raw).digits
        except InvalidPhone as exc:
            raise ValidationFailed(
                "lead.phone_invalid",
                field="phone",
                phone=repr(raw.strip()),
                region=region,
                **problem_params(exc),
            ) from None
        if phone != current["phone"]:
            other = (
                await Lead.select(Lead.id)
                .where((Lead.campaign == campaign_id) & (Lead.phone == phone))
                .first()
                .run()
            )
            if other is not None:
                raise Conflict("lead.phone_taken", field="phone", phone=phone, id=other["id"])
        changes[Lead.phone] = phone
        if phone != current["phone"] and current.get("timezone_source") in (
            lead_zones.FROM_NUMBER,
            lead_zones.FROM_CAMPAIGN,
            None,
        ):
            # a zone that came from the old number follows the new one
            zone = lead_zones.zones_for_number(phone)
            changes[Lead.timezone] = zone
            changes[Lead.timezone_source] = (
                lead_zones.FROM_NUMBER if zone else lead_zones.FROM_CAMPAIGN
            )
    if changes:
        changes[Lead.updated_at] = datetime.now(UTC)
        await Lead.update(changes).where(Lead.id == lead_id).run()
        await _touch(campaign_id)
    return lead_json(await _row(campaign_id, lead_id))


async def deletion_preview(actor: Actor, campaign_id: int, lead_id: int) -> dict[str, Any]:
    """The lead deleting it would remove, with how many call records go with it (for the
    confirmation). Same checks as the delete itself."""
    await campaigns.load_for_change(actor, campaign_id)
    lead = lead_json(await _row(campaign_id, lead_id))
    calls = await CallRecord.count().where(CallRecord.lead == lead_id).run()
    return {**lead, "calls": calls}


async def delete_lead(actor: Actor, campaign_id: int, lead_id: int) -> None:
    await campaigns.load_for_change(actor, campaign_id)
    await _row(campaign_id, lead_id)
    await Lead.delete().where((Lead.id == lead_id) & (Lead.campaign == campaign_id)).run()
    await _touch(campaign_id)
