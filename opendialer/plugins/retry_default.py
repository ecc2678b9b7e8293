"""The product guide's retry rule.

An unsuccessful lead with attempts < max attempts is due again at
``call end + retry-after``. SUCCESS and DO_NOT_CALL are final. A lead that falls
due while no schedule runs simply waits: the engine dials due leads oldest-due
first, so it goes out as early as possible in the next schedule window (a
1440-minute retry after a 17:00 call is due at 17:00 the next day).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from opendialer.sdk import (
    FINAL_LEAD_STATUSES,
    LeadStatus,
    PluginContext,
    RetryPolicyFactory,
    hookimpl,
)


class DefaultRetryPolicy:
    def __init__(self, context: PluginContext | None = None) -> None:
        self.context = context

    def next_attempt_at(
        self,
        *,
        status: LeadStatus,
        attempts: int,
        max_attempts: int,
        ended_at: datetime,
        retry_after_minutes: int,
    ) -> datetime | None:
        if status in FINAL_LEAD_STATUSES or attempts >= max_attempts:
            return None
        return ended_at + timedelta(minutes=retry_after_minutes)


@hookimpl
def register_retry_policies() -> Mapping[str, RetryPolicyFactory]:
    return {"default": DefaultRetryPolicy}
