"""``/api/v1/campaigns/{id}/audit``: the campaign's audit trail as CSV, streamed
(``docs/audit.md``; ``core/services/audit_export.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream

from opendialer.admin_ui.api.common import ObjectId
from opendialer.core.services import audit_export
from opendialer.core.services.common import Actor

BOUND = "a date (midnight in the campaign's time zone) or an ISO 8601 time (UTC without an offset)"


class AuditController(Controller):
    path = "/campaigns/{campaign_id:int}/audit"
    tags = ["audit"]

    @get(
        "/",
        summary="Export the campaign's audit trail as CSV (streamed)",
        description=(
            "Every row of the append-only audit trail whose time is in [from, to), oldest "
            "first: id, at, campaign, campaign_name, lead, attempt, call_id, number, kind, "
            "node, detail (a JSON object). Without from or to the range is open on that "
            "side. Streamed in batches: a million rows are fine. Campaign Administrators "
            "and Supervisors of the campaign's group."
        ),
        media_type="text/csv",
    )
    async def export_audit(
        self,
        actor: NamedDependency[Actor],
        campaign_id: ObjectId,
        start: Annotated[
            str | None,
            QueryParameter(name="from", description=f"first instant: {BOUND}", max_length=40),
        ] = None,
        end: Annotated[
            str | None,
            QueryParameter(name="to", description=f"end, not included: {BOUND}", max_length=40),
        ] = None,
    ) -> Stream:
        export = await audit_export.open_export(actor, campaign_id, start, end)
        return Stream(
            export.csv_chunks(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
        )


ROUTES: list[Any] = [AuditController]
