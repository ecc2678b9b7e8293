"""A campaign's call log: one row per attempt, newest first, paged and filterable.

Every role that sees the campaign sees its calls (Supervisors included); the rows
come from ``core/services/calls.py``, the service of ``GET /api/v1/campaigns/{id}/calls``.
Times are shown in the campaign's zone, formatted for the viewer's language.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from opendialer.admin_ui.i18n import N_, Translator
from opendialer.admin_ui.pages.schedules import LEAD_STATUS_LABELS
from opendialer.admin_ui.pages.session import UI
from opendialer.core.domain import LeadStatus
from opendialer.core.services import calls, campaigns
from opendialer.core.services.common import PageRequest

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 50
#: Longest phone filter kept (digits).
PHONE_MAX = 20

STATUS_LABELS = {**LEAD_STATUS_LABELS, calls.IN_PROGRESS: N_("In progress")}
DISPOSITION_LABELS = {
    "transferred": N_("Transferred"),
    "transfer_failed": N_("Transfer failed"),
    "amd_hangup": N_("Hung up after AMD"),
    "final_response": N_("Final SIP response"),
    "no_answer": N_("No answer"),
    "far_end_hangup": N_("Hung up by the called party"),
    "platform_error": N_("Platform error"),
    "dnc_blocked": N_("Blocked by Do-Not-Call"),
    "unknown": N_("Unknown"),
}
AMD_LABELS = {
    "HUMAN": N_("Person"),
    "MACHINE": N_("Machine"),
    "SILENCE": N_("Silence"),
    "FAX": N_("Fax"),
    "NOTSURE": N_("Not sure"),
}
#: The engine's and platforms' English outcome details (platform_sim, platform_sip,
#: core/engine/records.py), as (pattern, message id); named groups fill the message,
#: ``truth``/``verdict``/``service`` translated first. Others are shown as they are,
#: marked English. First match wins.
CALL_DETAILS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), m)
    for p, m in [
        (
            r"^transferred to (?P<to>\S+); far end was a (?P<truth>human|machine) \(sim\)$",
            N_("Transferred to %(to)s; the far end was %(truth)s (simulator)."),
        ),
        (
            r"^AMD (?P<verdict>[A-Z]+); far end was a (?P<truth>human|machine) \(sim\)$",
            N_("AMD said %(verdict)s; the far end was %(truth)s (simulator)."),
        ),
        (
            r"^on the Do-Not-Call list of (?P<service>.+); no call placed$",
            N_("On the Do-Not-Call list of %(service)s; no call placed."),
        ),
        (r"^no answer \(sim\)$", N_("No answer (simulator).")),
        (
            r"^far end hung up before the transfer \(sim\)$",
            N_("The called party hung up before the transfer (simulator)."),
        ),
        (r"^no free agent in the simulated queue$", N_("No free agent in the simulated queue.")),
        (r"^no answer after (?P<s>[\d.]+) s$", N_("No answer after %(s)s s.")),
        (
            r"^the SIP server did not answer the INVITE$",
            N_("The SIP server did not answer the call (INVITE)."),
        ),
        (r"^REFER refused$", N_("The transfer (REFER) was refused.")),
        (r"^REFER got no answer$", N_("The transfer (REFER) got no answer.")),
        (
            r"^far end hung up during answering-machine detection$",
            N_("The called party hung up during answering-machine detection."),
        ),
        (
            r"^far end hung up before the transfer reported a result$",
            N_("The called party hung up before the transfer reported a result."),
        ),
        (r"^no final NOTIFY in time$", N_("The transfer's result (NOTIFY) did not come in time.")),
    ]
]
TRUTH_LABELS = {"human": N_("a person"), "machine": N_("a machine")}
#: The built-in DNC service's stored name (core/services/dnc_services.py).
EMBEDDED_SERVICE = N_("Embedded Service")
#: Babel's locale names for the UI's languages.
BABEL_LOCALES = {"en": "en", "pt_BR": "pt_BR", "es": "es"}


def _seconds(start: datetime | None, end: datetime | None) -> str:
    """``m:ss`` between two instants ('' when one is missing)."""
    if start is None or end is None:
        return ""
    total = max(int((end - start).total_seconds()), 0)
    return f"{total // 60}:{total % 60:02d}"


def detail_text(detail: str, t: Translator) -> str | None:
    """The outcome detail in the viewer's language (None: not one the table knows)."""
    for pattern, message in CALL_DETAILS:
        found = pattern.match(detail)
        if found is None:
            continue
        values = found.groupdict()
        if "truth" in values:
            values["truth"] = t.gettext(TRUTH_LABELS[values["truth"]])
        if "verdict" in values and values["verdict"] in AMD_LABELS:
            values["verdict"] = t.gettext(AMD_LABELS[values["verdict"]])
        if values.get("service") == EMBEDDED_SERVICE:
            values["service"] = t.gettext(EMBEDDED_SERVICE)
        return t.gettext(message, **values) if values else t.gettext(message)
    return None


def call_row(
    call: dict[str, Any], zone: ZoneInfo, locale: str, t: Translator | None = None
) -> dict[str, Any]:
    """One record as the table shows it."""
    created: datetime = call["created_at"]
    detail = call.get("detail") or ""
    return {
        **call,
        "detail_text": detail_text(detail, t) if t is not None and detail else None,
        "when": format_datetime(created, "medium", tzinfo=zone, locale=locale),
        "iso": created.astimezone(zone).isoformat(timespec="seconds"),
        "duration": _seconds(created, call["ended_at"]),
        "talk": _seconds(call["answered_at"], call["ended_at"]),
        "status_key": call["status"] or calls.IN_PROGRESS,
    }


@get("/campaigns/{campaign_id:int}/calls")
async def calls_page(
    ui: NamedDependency[UI],
    campaign_id: FromPath[int],
    page: FromQuery[int] = 1,
    per_page: FromQuery[int] = DEFAULT_PAGE_SIZE,
    status: FromQuery[str] = "",
    phone: FromQuery[str] = "",
) -> Template:
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    per_page = per_page if per_page in PAGE_SIZES else DEFAULT_PAGE_SIZE
    status = status if status in STATUS_LABELS else ""
    phone = "".join(c for c in phone if c.isdigit())[:PHONE_MAX]
    request = PageRequest(page=max(page, 1), per_page=per_page)
    listing = await calls.list_calls(
        actor, campaign_id, request, status=status or None, phone=phone or None
    )
    zone = ZoneInfo(campaign["timezone"])
    locale = BABEL_LOCALES.get(ui.t.language, "en")
    filters = {k: v for k, v in (("status", status), ("phone", phone)) if v}
    return ui.render(
        "campaigns/calls.html",
        campaign=campaign,
        listing=listing,
        rows=[call_row(c, zone, locale, ui.t) for c in listing["items"]],
        page=request.page,
        per_page=per_page,
        status=status,
        phone=phone,
        filters=filters,
        statuses=[*(s.value for s in LeadStatus), calls.IN_PROGRESS],
        status_labels=STATUS_LABELS,
        disposition_labels=DISPOSITION_LABELS,
        amd_labels=AMD_LABELS,
    )


ROUTES: list[Any] = [calls_page]
