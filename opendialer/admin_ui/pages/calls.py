"""A campaign's call log: one row per attempt, newest first, paged and filterable.

Every role that sees the campaign sees its calls (Supervisors included); the rows
come from ``core/services/calls.py``, the service of ``GET /api/v1/campaigns/{id}/calls``.
Times are shown in the campaign's zone, formatted for the viewer's language.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal
from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from opendialer.admin_ui.i18n import N_, Translator, translate_code
from opendialer.admin_ui.pages.schedules import LEAD_STATUS_LABELS
from opendialer.admin_ui.pages.session import UI
from opendialer.core.domain import LeadStatus
from opendialer.core.plugins import get_plugin_manager
from opendialer.core.services import calls, campaigns
from opendialer.core.services.common import PageRequest
from opendialer.core.services.error_messages import MESSAGES

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 50
#: Longest phone filter kept (digits).
PHONE_MAX = 20

STATUS_LABELS = {**LEAD_STATUS_LABELS, calls.IN_PROGRESS: N_("In progress")}
DISPOSITION_LABELS = {
    "transferred": N_("Transferred"),
    "transfer_failed": N_("Transfer failed"),
    "amd_hangup": N_("Hung up after AMD"),
    "message_left": N_("Voicemail message left"),
    "final_response": N_("Final SIP response"),
    "no_answer": N_("No answer"),
    "far_end_hangup": N_("Hung up by the called party"),
    "abandoned": N_("Abandoned: no agent was free (safe-harbour message played)"),
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
#: Values of an outcome detail (``detail_params``) that are words to translate first:
#: the simulator's ``truth``, an AMD ``verdict``, the built-in DNC ``service``'s name.
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


#: What a SIP final response to the call's INVITE means, for a call ended by one with
#: no coded detail (the far end's reason phrase, e.g. "Busy Here", is its own English
#: words: shown apart as the technical detail). RFC 3261 §21 and RFC 6665/3326 usage.
SIP_MEANINGS: dict[int, str] = {
    400: N_("The network refused the call as malformed."),
    401: N_("The network asked for credentials the dialer does not have for this call."),
    403: N_("The network refused to place the call."),
    404: N_("The number does not exist."),
    407: N_("The network asked for credentials the dialer does not have for this call."),
    408: N_("The network gave up reaching the number."),
    410: N_("The number is no longer in service."),
    480: N_("The number is temporarily unavailable."),
    484: N_("The number is incomplete."),
    486: N_("The line is busy."),
    487: N_("The call was cancelled before it was answered."),
    488: N_("The far end does not accept the call's audio format."),
    500: N_("The network failed to place the call."),
    502: N_("The network failed to place the call."),
    503: N_("The network is unavailable now."),
    504: N_("The network gave up reaching the number."),
    600: N_("Busy everywhere: the person cannot take calls now."),
    603: N_("The call was declined."),
    604: N_("The number does not exist."),
    606: N_("The far end does not accept the call."),
}


def _sip_response(call: dict[str, Any]) -> int | None:
    """The call's SIP final response, when it ended by one with no coded detail."""
    code = call.get("sip_code")
    if call.get("detail_code") or not isinstance(code, int):
        return None
    return code if code in SIP_MEANINGS else None


def detail_text(call: dict[str, Any], t: Translator) -> str | None:
    """The outcome detail in the viewer's language: its code's page sentence
    (core/services/error_messages.py or a platform's registered codes) filled with its
    values, or what its SIP final response means. None: an uncoded detail (an older
    record, a platform that codes none) or a code no installed plugin registered: the
    page shows the English ``detail``."""
    sip = _sip_response(call)
    if sip is not None:
        return t.gettext(SIP_MEANINGS[sip])
    code = call.get("detail_code")
    if not code or code not in MESSAGES:
        return None
    values = _localised_numbers(dict(call.get("detail_params") or {}), BABEL_LOCALES[t.language])
    if values.get("truth") in TRUTH_LABELS:
        values["truth"] = t.gettext(TRUTH_LABELS[values["truth"]])
    if values.get("verdict") in AMD_LABELS:
        values["verdict"] = t.gettext(AMD_LABELS[values["verdict"]])
    if values.get("service") == EMBEDDED_SERVICE:
        values["service"] = t.gettext(EMBEDDED_SERVICE)
    try:
        return translate_code(code, values, t)
    except (KeyError, ValueError, TypeError):  # a stored value missing or malformed
        return None


#: Outcome detail values that are a plugin's own English trace, not words for a
#: sentence (the message point tracker's ``why``: "beep 1000 Hz ended at 7.45 s"):
#: the call log shows them apart as a technical detail unless the code's sentence
#: places them itself.
TRACE_PARAMS = ("why",)
DECIMAL = re.compile(r"\d+\.\d+")


def _localised_numbers(values: dict[str, Any], locale: str) -> dict[str, Any]:
    """A detail's decimals ("7.45", stored as text) with the language's decimal mark."""
    return {
        key: format_decimal(Decimal(value), f"0.{'0' * len(value.split('.')[1])}", locale)
        if isinstance(value, str) and DECIMAL.fullmatch(value)
        else value
        for key, value in values.items()
    }


def detail_trace(call: dict[str, Any]) -> str | None:
    """The engine's English trace of a coded detail that its sentence leaves out, or
    the far end's own words of a SIP final response ("486 Busy Here")."""
    sip = _sip_response(call)
    if sip is not None:
        return f"{sip} {call.get('detail') or ''}".strip()
    code = call.get("detail_code")
    if not code or code not in MESSAGES:
        return None
    values = call.get("detail_params") or {}
    sentence = MESSAGES[code].text or ""
    traces = [
        str(values[key]) for key in TRACE_PARAMS if values.get(key) and f"%({key})s" not in sentence
    ]
    return "; ".join(traces) or None


QUIET_LINE_TEXT = N_(
    "Message left after %(quiet)s s of quiet on the line (this detector does not listen "
    "for the beep)."
)
#: Where a voicemail message started, from its outcome's ``point`` values
#: (``sdk.MessagePoint.detail_params``): kind → (sentence with ``point_at_s``, without).
POINT_TEXT: dict[str, tuple[str, str]] = {
    "beep": (
        N_("Message left after the beep (%(hz)s Hz) at %(at)s s."),
        N_("Message left after the beep."),
    ),
    "silence": (
        N_(
            "Message left after %(quiet)s s of silence following the greeting, which "
            "ended at %(at)s s."
        ),
        N_("Message left after %(quiet)s s of silence (no greeting was heard)."),
    ),
    # the engine's fallback has no time of its own to tell
    "quiet_line": ("", QUIET_LINE_TEXT),
}


def detail_point(call: dict[str, Any], t: Translator) -> str | None:
    """Where the voicemail message started, in the viewer's language (decimals with its
    mark). None: no point values (an older record, a tracker that gives only its English
    ``why``, shown as the technical detail) or a kind this version does not know."""
    values = call.get("detail_params") or {}
    texts = POINT_TEXT.get(str(values.get("point") or ""))
    if texts is None:
        return None
    local = _localised_numbers(dict(values), BABEL_LOCALES[t.language])
    at, hz, quiet = local.get("point_at_s"), local.get("beep_hz"), local.get("silence_s")
    kind = values["point"]
    if kind == "beep" and at and hz:
        return t.gettext(texts[0], hz=hz, at=at)
    if kind == "beep":
        return t.gettext(texts[1])
    if not quiet:
        return None
    if kind == "silence" and at:
        return t.gettext(texts[0], quiet=quiet, at=at)
    return t.gettext(texts[1], quiet=quiet)


def call_row(
    call: dict[str, Any], zone: ZoneInfo, locale: str, t: Translator | None = None
) -> dict[str, Any]:
    """One record as the table shows it."""
    created: datetime = call["created_at"]
    return {
        **call,
        "detail_text": detail_text(call, t) if t is not None else None,
        "detail_point": detail_point(call, t) if t is not None else None,
        "detail_trace": detail_trace(call),
        "when": format_datetime(created, "medium", tzinfo=zone, locale=locale),
        # The day and the clock apart, so a narrow column breaks between them, never
        # inside the time (it showed "19:03:1" over "7").
        "when_day": format_date(created.astimezone(zone).date(), "medium", locale=locale),
        "when_clock": format_time(created, "medium", tzinfo=zone, locale=locale),
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
    get_plugin_manager()  # the platforms register their detail codes as they load
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
