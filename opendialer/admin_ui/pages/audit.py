"""A campaign's audit trail: pick a range of days, download it as CSV.

The download streams ``core/services/audit_export.py``'s CSV (the API's and the CLI's
too); a range it refuses comes back as the form with the field's error. Whoever sees
the campaign may export it (its group's Campaign Administrators and Supervisors).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream, Template

from opendialer.admin_ui.pages.common import errors_of
from opendialer.admin_ui.pages.session import UI
from opendialer.core.services import audit_export, campaigns
from opendialer.core.services.errors import ValidationFailed

#: Days the form offers by default: the last week, today included.
DEFAULT_DAYS = 7
FromBound = Annotated[str | None, QueryParameter(name="from", max_length=40)]
ToBound = Annotated[str | None, QueryParameter(name="to", max_length=40)]


def _form(
    ui: UI,
    campaign: dict[str, Any],
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Template:
    return ui.render(
        "campaigns/audit.html",
        status_code=status_code,
        campaign=campaign,
        values=values,
        errors=errors,
    )


@get("/campaigns/{campaign_id:int}/audit")
async def audit_page(
    ui: NamedDependency[UI],
    campaign_id: FromPath[int],
    start: FromBound = None,
    end: ToBound = None,
) -> Template:
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    today = datetime.now(ZoneInfo(campaign["timezone"])).date()
    values = {
        "from": start or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "to": end or (today + timedelta(days=1)).isoformat(),
    }
    return _form(ui, campaign, values, {})


@get("/campaigns/{campaign_id:int}/audit/download")
async def audit_download(
    ui: NamedDependency[UI],
    campaign_id: FromPath[int],
    start: FromBound = None,
    end: ToBound = None,
) -> Stream | Template:
    actor = ui.require_tab("campaigns")
    try:
        export = await audit_export.open_export(actor, campaign_id, start, end)
    except ValidationFailed as exc:
        campaign = await campaigns.get_campaign(actor, campaign_id)
        values = {"from": start or "", "to": end or ""}
        return _form(ui, campaign, values, errors_of(exc, ui.t, ("from", "to")), 422)
    return Stream(
        export.csv_chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


ROUTES: list[Any] = [audit_page, audit_download]
