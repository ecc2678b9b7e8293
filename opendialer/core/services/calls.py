"""The call log: one record per attempt (or per DNC block), newest first."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from opendialer.core.domain import LeadStatus
from opendialer.core.services import campaigns
from opendialer.core.services.common import Actor, PageRequest, page_body
from opendialer.core.services.errors import ValidationFailed
from opendialer.core.storage.tables import CallRecord

#: ``?status=IN_PROGRESS`` lists calls that have not ended (their status is still empty).
IN_PROGRESS = "IN_PROGRESS"


def call_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "lead_id": row["lead"],
        "lead_name": row.get("lead_name") or "",
        "attempt": row["attempt"],
        "call_id": row["call_id"],
        "node": row["node"],
        "port": row["port"],
        "phone": row["phone"],
        "created_at": row["created_at"],
        "answered_at": row["answered_at"],
        "ended_at": row["ended_at"],
        "sip_code": row["sip_code"],
        "disposition": row["disposition"],
        "amd_verdict": row["amd_verdict"],
        "amd_decision_ms": row["amd_decision_ms"],
        "amd_reasons": row["amd_reasons"],
        "transfer_result": row["transfer_result"],
        "dnc_service": row["dnc_service"],
        "dnc_checked_at": row["dnc_checked_at"],
        "dnc_result": row["dnc_result"],
        "status": row["status"],
        "detail": row["detail"],
        "detail_code": row.get("detail_code"),
        "detail_params": _params(row.get("detail_params")) if row.get("detail_code") else None,
    }


def _params(stored: Any) -> dict[str, str]:
    """``detail_params`` as stored (JSON text; a dict from a driver that decodes JSON)."""
    values = json.loads(stored) if isinstance(stored, str | bytes) else stored
    return {str(k): str(v) for k, v in (values or {}).items()}


def parse_since(since: str | datetime | None) -> datetime | None:
    """An ISO 8601 instant; without an offset it is taken as UTC."""
    if since is None or since == "":
        return None
    if isinstance(since, str):
        try:
            value = datetime.fromisoformat(since.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed("call.since_invalid", field="since", value=since) from None
    else:
        value = since
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def list_calls(
    actor: Actor,
    campaign_id: int,
    page: PageRequest | None = None,
    *,
    status: str | None = None,
    since: str | datetime | None = None,
    phone: str | None = None,
) -> dict[str, Any]:
    """Call records of a campaign, newest first; ``since`` keeps those created at or after
    it, ``phone`` those whose number contains these digits (other characters ignored)."""
    page = page or PageRequest()
    await campaigns.load(actor, campaign_id)
    where: Any = CallRecord.campaign == campaign_id
    if status:
        if status == IN_PROGRESS:
            where = where & CallRecord.status.is_null()
        elif status in {s.value for s in LeadStatus}:
            where = where & (CallRecord.status == status)
        else:
            raise ValidationFailed(
                "call.status_invalid",
                field="status",
                in_progress=IN_PROGRESS,
                statuses=", ".join(s.value for s in LeadStatus),
            )
    if (start := parse_since(since)) is not None:
        where = where & (CallRecord.created_at >= start)
    if phone and phone.strip():
        digits = "".join(c for c in phone if c.isdigit())
        if not digits:
            raise ValidationFailed("call.phone_no_digits", field="phone", value=phone)
        where = where & CallRecord.phone.like(f"%{digits}%")
    rows = (
        await CallRecord.select(
            *CallRecord.all_columns(), CallRecord.lead.name.as_alias("lead_name")
        )
        .where(where)
        .order_by(CallRecord.created_at, ascending=False)
        .order_by(CallRecord.id, ascending=False)
        .limit(page.per_page)
        .offset(page.offset)
        .run()
    )
    total = await CallRecord.count().where(where).run()
    return page_body([call_json(r) for r in rows], total, page)
