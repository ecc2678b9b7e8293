"""What is said about a call once it is stored: its log line and its event hooks.

:func:`log_call_outcome` writes the one ``call_outcome`` log line of each
attempt from the call record's column values; :func:`announce` fires the
``call_finished`` and ``lead_status_changed`` hooks — after the commit, so an
observer never sees something the database does not hold.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from opendialer.core.engine.records import Finished
from opendialer.core.plugins import PluginManager
from opendialer.core.services.calls import call_json
from opendialer.core.services.leads import lead_json
from opendialer.core.storage.tables import CallRecord, Lead
from opendialer.sdk import events

#: The logger of per-call lines (``call_outcome``), whoever closes the call.
calls_log = logging.getLogger("opendialer.engine.calls")


def _ms(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() * 1000)


def _rounded(value: float | None, digits: int = 0) -> float | int | None:
    if value is None:
        return None
    return round(value, digits) if digits else round(value)


def log_call_outcome(
    row: Mapping[str, Any],
    *,
    dnc_ms: float | None = None,
    originate_latency_ms: float | None = None,
    next_attempt_at: datetime | None = None,
) -> None:
    """The ``call_outcome`` line: one per attempt — placed, blocked by the DNC check,
    or closed by crash reconciliation — its fields named after the call record's
    columns (``row``: the record as stored, or the same names). A fact that does
    not apply is None (``null`` in JSON, ``-`` on the console).

    ``ring_ms``: from the attempt's start to the answer (to the end if unanswered);
    ``talk_ms``: answer to end; ``duration_ms``: start to end."""
    start, answered, ended = row.get("created_at"), row.get("answered_at"), row.get("ended_at")
    calls_log.info(
        "call_outcome",
        extra={
            "campaign": row["campaign"],
            "lead": row["lead"],
            "attempt": row["attempt"],
            "call_id": row["call_id"],
            "node": row["node"],
            "status": row["status"],
            "disposition": row.get("disposition") or None,
            "port": row.get("port") or None,
            "sip_code": row.get("sip_code"),
            "amd_verdict": row.get("amd_verdict"),
            "amd_decision_ms": _rounded(row.get("amd_decision_ms")),
            "dnc_service": row.get("dnc_service"),
            # Stored NULL when the campaign has no DNC service: nothing was checked.
            "dnc_result": row.get("dnc_result") or "skipped",
            "dnc_ms": _rounded(dnc_ms, 2),
            "originate_latency_ms": _rounded(originate_latency_ms, 1),
            "ring_ms": _ms(start, answered or ended),
            "talk_ms": _ms(answered, ended),
            "duration_ms": _ms(start, ended),
            "next_attempt_at": next_attempt_at.isoformat() if next_attempt_at else None,
            "detail": row.get("detail") or None,
        },
    )


async def announce(pm: PluginManager, finished: Finished) -> None:
    """Fire ``call_finished`` and (if it changed) ``lead_status_changed`` — after the commit."""
    hook = pm.hook
    wants_call = bool(hook.call_finished.get_hookimpls())
    changed = finished.old_status != finished.new_status
    wants_lead = changed and bool(hook.lead_status_changed.get_hookimpls())
    if wants_call:
        row = finished.call_row
        if row is None:
            row = await CallRecord.select().where(CallRecord.id == finished.record_id).first().run()
        if row is not None:
            # The API's serialiser, so plugins see what GET .../calls shows.
            call = events.CallRecord.from_api(call_json(row), campaign_id=row["campaign"])
            await pm.notify("call_finished", call=call)
    if wants_lead:
        lead = finished.lead_row
        if lead is None:
            lead = await Lead.select().where(Lead.id == finished.lead_id).first().run()
        if lead is not None:
            # The API's serialiser: no lease_owner/lease_until (storage internals).
            data = events.LeadRecord.from_api(lead_json(lead), campaign_id=lead["campaign"])
            await pm.notify(
                "lead_status_changed",
                lead=data,
                old_status=finished.old_status,
                new_status=finished.new_status,
            )


__all__ = ["announce", "log_call_outcome"]
