"""``/api/v1/campaigns/{id}/leads``: list, import (CSV), read, edit, delete.

``POST`` takes the CSV as the raw body (``Content-Type: text/csv``) or as a
multipart file field; it is spooled to a temporary file as it arrives and
imported from there by ``core/services/lead_import.py`` (all-or-nothing unless
``?skip_invalid=true``). Format: ``docs/leads-csv.md``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from opendialer.admin_ui.api.common import ObjectId, changes
from opendialer.admin_ui.api.csv_upload import spool_csv
from opendialer.admin_ui.api.openapi_docs import CsvUploadOperation
from opendialer.core.domain import LeadStatus
from opendialer.core.services import campaigns, leads
from opendialer.core.services.common import Actor, PageRequest

#: Largest upload accepted (a million-row list is ~40 MB).
MAX_UPLOAD_BYTES = 2 * 1024**3


class Lead(msgspec.Struct):
    id: int
    name: str
    description: str
    phone: str
    attempts: int
    status: LeadStatus
    next_attempt_at: datetime | None
    #: The lead's time zone (an IANA name; several, space-separated, when its number or
    #: region spans them: the intersection of their hours is used); null: the campaign's.
    timezone: str | None = None
    #: Where it came from: csv, region, number or campaign.
    timezone_source: str = "campaign"
    #: Why a compliance rule put it off: {"code", "until", ...}; null when none.
    deferred: dict[str, Any] | None = None


class LeadPage(msgspec.Struct):
    items: list[Lead]
    total: int
    page: int
    per_page: int


class LeadUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=200)] | msgspec.UnsetType = msgspec.UNSET
    description: Annotated[str, msgspec.Meta(max_length=2000)] | msgspec.UnsetType = msgspec.UNSET
    phone: Annotated[str, msgspec.Meta(max_length=40)] | msgspec.UnsetType = msgspec.UNSET


class RowProblem(msgspec.Struct):
    line: int
    field: str
    reason: str
    code: str
    params: dict[str, Any]


class ImportReport(msgspec.Struct):
    imported: int
    rejected: int
    lines: int
    header: bool
    errors: list[RowProblem]
    errors_total: int
    region: str
    unassigned: int
    unassigned_lines: list[int]
    unassigned_regions: list[str]


class LeadController(Controller):
    path = "/campaigns/{campaign_id:int}/leads"
    tags = ["leads"]

    @get("/", summary="A campaign's leads, by id; filter by status, search by q")
    async def list_leads(
        self,
        actor: NamedDependency[Actor],
        campaign_id: ObjectId,
        page_request: NamedDependency[PageRequest],
        status: Annotated[LeadStatus | None, QueryParameter(description="only this status")] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                description="substring of the name, phone or description", max_length=100
            ),
        ] = None,
    ) -> LeadPage:
        body = await leads.list_leads(
            actor,
            campaign_id,
            page_request,
            status=status.value if status is not None else None,
            q=q,
        )
        return msgspec.convert(body, LeadPage)

    @post(
        "/",
        operation_class=CsvUploadOperation,
        status_code=201,
        request_max_body_size=MAX_UPLOAD_BYTES,
        summary="Import leads from a CSV (text/csv body or multipart file field 'file')",
        description=(
            "name,phone per line (optional header, optional description column). "
            "All-or-nothing: any invalid row → 422 invalid_csv with every problem by line; "
            "skip_invalid=true imports the valid rows and reports the rest."
        ),
    )
    async def import_leads(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        campaign_id: ObjectId,
        skip_invalid: Annotated[
            bool, QueryParameter(description="import the valid rows, report the rest")
        ] = False,
    ) -> ImportReport:
        await campaigns.load_for_change(actor, campaign_id)  # 403/404/409 before the upload
        path = await spool_csv(request)
        try:
            report = await leads.import_file(actor, campaign_id, path, skip_invalid=skip_invalid)
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        return msgspec.convert(report, ImportReport)

    @get("/{lead_id:int}", summary="Get a lead")
    async def get_lead(
        self, actor: NamedDependency[Actor], campaign_id: ObjectId, lead_id: ObjectId
    ) -> Lead:
        return msgspec.convert(await leads.get_lead(actor, campaign_id, lead_id), Lead)

    @patch("/{lead_id:int}", summary="Change a lead's name, description or phone")
    async def update_lead(
        self,
        actor: NamedDependency[Actor],
        campaign_id: ObjectId,
        lead_id: ObjectId,
        data: JSONBody[LeadUpdate],
    ) -> Lead:
        body = await leads.update_lead(actor, campaign_id, lead_id, changes(data))
        return msgspec.convert(body, Lead)

    @delete("/{lead_id:int}", status_code=204, summary="Delete a lead")
    async def delete_lead(
        self, actor: NamedDependency[Actor], campaign_id: ObjectId, lead_id: ObjectId
    ) -> None:
        await leads.delete_lead(actor, campaign_id, lead_id)


ROUTES: list[Any] = [LeadController]
