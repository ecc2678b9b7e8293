"""How a call's end maps to a lead status — one table, used by every platform.

The same table is in ``docs/outcomes.md``; tests assert both agree.
"""

from __future__ import annotations

from opendialer.core.domain import LeadStatus
from opendialer.sdk.contracts import CallDisposition, CallOutcome

#: Final SIP responses (3xx-6xx) → lead status. Anything not listed: see
#: :func:`status_for_sip_code`.
SIP_CODE_STATUS: dict[int, LeadStatus] = {
    486: LeadStatus.BUSY,
    600: LeadStatus.BUSY,
    603: LeadStatus.REJECTED,
    480: LeadStatus.FAILURE,
    408: LeadStatus.FAILURE,
    404: LeadStatus.FAILURE,
    484: LeadStatus.FAILURE,
    500: LeadStatus.SERVICE_TEMPORARILY_UNAVAILABLE,
    502: LeadStatus.SERVICE_TEMPORARILY_UNAVAILABLE,
    503: LeadStatus.SERVICE_TEMPORARILY_UNAVAILABLE,
    504: LeadStatus.SERVICE_TEMPORARILY_UNAVAILABLE,
}

DISPOSITION_STATUS: dict[CallDisposition, LeadStatus] = {
    CallDisposition.TRANSFERRED: LeadStatus.SUCCESS,
    CallDisposition.TRANSFER_FAILED: LeadStatus.FAILURE,
    CallDisposition.AMD_HANGUP: LeadStatus.AMD,
    CallDisposition.NO_ANSWER: LeadStatus.FAILURE,
    CallDisposition.FAR_END_HANGUP: LeadStatus.FAILURE,
    CallDisposition.ABANDONED: LeadStatus.ABANDONED,
    CallDisposition.MESSAGE_LEFT: LeadStatus.MESSAGE_LEFT,
    CallDisposition.PLATFORM_ERROR: LeadStatus.SERVICE_TEMPORARILY_UNAVAILABLE,
    CallDisposition.UNKNOWN: LeadStatus.UNKNOWN,
}


def status_for_sip_code(code: int | None) -> LeadStatus:
    """486/600 BUSY, 603 REJECTED, other 4xx FAILURE, 500/502/503/504 unavailable, else UNKNOWN."""
    if code is None:
        return LeadStatus.UNKNOWN
    if code in SIP_CODE_STATUS:
        return SIP_CODE_STATUS[code]
    if 400 <= code < 500:
        return LeadStatus.FAILURE
    return LeadStatus.UNKNOWN


def status_for_outcome(outcome: CallOutcome) -> LeadStatus:
    if outcome.disposition is CallDisposition.FINAL_RESPONSE:
        return status_for_sip_code(outcome.sip_code)
    if outcome.disposition is CallDisposition.AMD_HANGUP and outcome.amd is not None:
        # An AMD hang-up is AMD whatever the verdict (MACHINE, FAX or SILENCE).
        return LeadStatus.AMD
    return DISPOSITION_STATUS[outcome.disposition]


__all__ = ["status_for_outcome", "status_for_sip_code"]
