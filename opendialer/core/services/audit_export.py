"""The audit trail of a campaign as CSV, streamed (the page, the API and the CLI).

Rows are read in batches by keyset — ``(at, id)`` after the last row sent, on the
``audit_event (campaign, at, id)`` index — and each batch is written out before the
next is read, so a million rows never sit in memory at once (``bench/audit_export.py``
measures it). The range is half-open, ``[from, to)``: a day given as a date starts at
midnight in the campaign's time zone, so "from 2026-12-01 to 2026-12-08" is that week
as the campaign's schedule counts it.

Who may export: whoever may see the campaign (its group's Campaign Administrators and
Supervisors; ``campaigns.load``: another group's campaign is a 404, a role without
campaigns a 403). The CLI acts as the system and may also name a deleted campaign:
its rows outlive it, and keep its name.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from piccolo.columns.combination import WhereRaw

from opendialer.core.services import campaigns
from opendialer.core.services.common import Actor
from opendialer.core.services.errors import NotFound, ValidationFailed
from opendialer.core.storage.tables import AuditEvent, Campaign

#: The CSV's columns, in order (docs/audit.md).
CSV_COLUMNS = (
    "id",
    "at",
    "campaign",
    "campaign_name",
    "lead",
    "attempt",
    "call_id",
    "number",
    "kind",
    "node",
    "detail",
)
#: Rows read (and written out) per query.
BATCH = 5000


@dataclass(frozen=True, slots=True)
class AuditExport:
    """A checked request for a campaign's rows in ``[start, end)``; :meth:`csv_chunks`
    streams them (the checks are done before the first byte is sent)."""

    campaign_id: int
    campaign_name: str
    start: datetime | None
    end: datetime | None

    @property
    def filename(self) -> str:
        def day(value: datetime | None, default: str) -> str:
            return value.strftime("%Y%m%dT%H%M") if value else default

        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in self.campaign_name)
        span = f"{day(self.start, 'start')}-{day(self.end, 'now')}"
        return f"audit-{safe or self.campaign_id}-{span}.csv"

    async def rows(self, batch: int = BATCH) -> AsyncIterator[list[dict[str, Any]]]:
        """The rows in time order, ``batch`` at a time."""
        after: tuple[datetime, int] | None = None
        while True:
            where: Any = AuditEvent.campaign == self.campaign_id
            if self.start is not None:
                where = where & (AuditEvent.at >= self.start)
            if self.end is not None:
                where = where & (AuditEvent.at < self.end)
            if after is not None:
                at, last_id = after
                # A row comparison: both backends walk the (campaign, at, id) index from
                # there (an OR of the two cases makes PostgreSQL filter instead).
                where = where & WhereRaw("(at, id) > ({}, {})", at, last_id)
            rows = (
                await AuditEvent.select(*AuditEvent.all_columns())
                .where(where)
                .order_by(AuditEvent.at, AuditEvent.id)
                .limit(batch)
                .run()
            )
            if not rows:
                return
            yield rows
            if len(rows) < batch:
                return
            after = (rows[-1]["at"], rows[-1]["id"])

    async def csv_chunks(self, batch: int = BATCH) -> AsyncIterator[str]:
        """The CSV text: the header, then one chunk per batch of rows."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        yield _take(buffer)
        async for rows in self.rows(batch):
            for row in rows:
                writer.writerow([_cell(column, row[column]) for column in CSV_COLUMNS])
            yield _take(buffer)


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _cell(column: str, value: Any) -> Any:
    if value is None:
        return ""
    if column == "at":
        return value.astimezone(UTC).isoformat()
    return value


def parse_bound(value: str | date | datetime | None, zone: str, field: str) -> datetime | None:
    """One end of the range: a date (midnight in ``zone``) or an ISO 8601 instant (UTC
    without an offset); None or "" for no bound."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                value = date.fromisoformat(text)
            else:
                value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed(
                "audit.range_invalid", field=field, bound=field, value=value
            ) from None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0), tzinfo=ZoneInfo(zone))
    elif value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


async def open_export(
    actor: Actor,
    campaign_id: int,
    start: str | date | datetime | None = None,
    end: str | date | datetime | None = None,
) -> AuditExport:
    """The export of a campaign ``actor`` may see (NotFound / PermissionDenied otherwise)."""
    row = await campaigns.load(actor, campaign_id)
    return _export(row["id"], row["name"], row.get("timezone") or "UTC", start, end)


async def open_export_by_name(
    actor: Actor,
    name_or_id: str,
    start: str | date | datetime | None = None,
    end: str | date | datetime | None = None,
) -> AuditExport:
    """For the CLI: a campaign by name or id; one deleted since is found by the name its
    rows kept (its range then reads in UTC)."""
    try:
        found = await campaigns.resolve(actor, name_or_id)
    except NotFound:
        text = name_or_id.strip()
        kept = (
            await AuditEvent.select(AuditEvent.campaign, AuditEvent.campaign_name)
            .where(
                (AuditEvent.campaign == int(text))
                if text.isdigit()
                else (AuditEvent.campaign_name == text)
            )
            .order_by(AuditEvent.id, ascending=False)
            .first()
            .run()
        )
        if kept is None or await Campaign.exists().where(Campaign.id == kept["campaign"]).run():
            raise
        return _export(kept["campaign"], kept["campaign_name"], "UTC", start, end)
    return await open_export(actor, found["id"], start, end)


def _export(
    campaign_id: int,
    name: str,
    zone: str,
    start: str | date | datetime | None,
    end: str | date | datetime | None,
) -> AuditExport:
    lower = parse_bound(start, zone, "from")
    upper = parse_bound(end, zone, "to")
    if lower is not None and upper is not None and upper <= lower:
        raise ValidationFailed("audit.range_empty", field="to", start=str(start), end=str(end))
    return AuditExport(campaign_id, name, lower, upper)


__all__ = [
    "BATCH",
    "CSV_COLUMNS",
    "AuditExport",
    "open_export",
    "open_export_by_name",
    "parse_bound",
]
