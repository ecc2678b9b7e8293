"""Why a STARTED campaign is not dialing: a code and its parameters, never a sentence.

The engine stores the reason it holds a campaign in today's schedule row
(``schedule.reason``) as ``{"code": ..., "params": {...}}`` JSON, so the web
can say it in each viewer's language (admin_ui/held_text.py) and API clients
can act on the code. :func:`decode` also reads the English sentences stored
before codes existed (code ``engine``, the sentence as ``detail``).

=========================  ==========================================================
code                       meaning (params)
=========================  ==========================================================
``routing_not_installed``  no plugin provides the campaign's routing target (target)
``routing_not_configured`` the target has no stored options and cannot start
                           without them (target, detail)
``routing_failed``         the target's stored options did not start it (target, detail)
``routing_unhealthy``      the target started but is not up now (target, detail)
``platform_not_chosen``    no communication platform chosen yet (System → Communication
                           platform; ``core/engine/chosen_platform.py``)
``platform_down``          the communication platform reports itself down (detail)
``dnc_out_of_service``     the campaign's DNC service does not answer (detail)
``pacing_not_installed``   no plugin provides the campaign's pacing mode (mode, installed:
                           the modes that are); fixed in the campaign's settings
``pacing_failed``          the pacing mode's plugin failed to build it (mode, detail)
``local_hours_closed``     every lead is outside its local calling hours or on a holiday
                           of the compliance policy (opens: when the first zone opens,
                           "HH:MM Zone/Name", or "" when none within 8 days)
``short_call_guard``       calls of 6 s or less are at or above the policy's share of the
                           campaign's caller ID's calls today, UTC (caller_id, share,
                           threshold, calls; core/engine/short_call_guard.py)
``engine_fault``           an engine node failed while pacing the campaign: a bug or a
                           broken plugin, not a setting (node, detail: the error); the
                           node tries again every round and clears it once it paces
``engine``                 a sentence stored before codes existed (detail)
=========================  ==========================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

ROUTING_NOT_INSTALLED = "routing_not_installed"
ROUTING_NOT_CONFIGURED = "routing_not_configured"
ROUTING_FAILED = "routing_failed"
ROUTING_UNHEALTHY = "routing_unhealthy"
PLATFORM_NOT_CHOSEN = "platform_not_chosen"
PLATFORM_DOWN = "platform_down"
DNC_OUT_OF_SERVICE = "dnc_out_of_service"
PACING_NOT_INSTALLED = "pacing_not_installed"
PACING_FAILED = "pacing_failed"
LOCAL_HOURS_CLOSED = "local_hours_closed"
SHORT_CALL_GUARD = "short_call_guard"
ENGINE_FAULT = "engine_fault"
LEGACY = "engine"

ENGINE_CODES = frozenset(
    {
        ROUTING_NOT_INSTALLED,
        ROUTING_NOT_CONFIGURED,
        ROUTING_FAILED,
        ROUTING_UNHEALTHY,
        PLATFORM_NOT_CHOSEN,
        PLATFORM_DOWN,
        DNC_OUT_OF_SERVICE,
        PACING_NOT_INSTALLED,
        PACING_FAILED,
        ENGINE_FAULT,
    }
)
#: Held because of the campaign's own pacing mode: its Campaign Administrator fixes it.
PACING_CODES = frozenset({PACING_NOT_INSTALLED, PACING_FAILED})


@dataclass(frozen=True, slots=True)
class Hold:
    """A reason, as the engine stores it."""

    code: str
    params: dict[str, str] = field(default_factory=dict)

    def encode(self) -> str:
        return json.dumps(
            {"code": self.code, "params": self.params}, sort_keys=True, ensure_ascii=False
        )

    def english(self) -> str:
        """One line for logs and the schedule API's ``reason``."""
        target = self.params.get("target", "")
        detail = self.params.get("detail", "")
        mode = self.params.get("mode", "")
        opens = self.params.get("opens", "")
        head = {
            ROUTING_NOT_INSTALLED: f"routing target {target!r} is not installed",
            ROUTING_NOT_CONFIGURED: f"routing target {target!r} is not configured",
            ROUTING_FAILED: f"routing target {target!r} failed to start",
            ROUTING_UNHEALTHY: f"routing target {target!r} is not up",
            PLATFORM_NOT_CHOSEN: "no communication platform chosen",
            PLATFORM_DOWN: "communication platform down",
            DNC_OUT_OF_SERVICE: "DNC service unavailable",
            PACING_NOT_INSTALLED: (
                f"pacing mode {mode!r} is not installed (installed: "
                f"{self.params.get('installed') or 'none'}); choose another in the "
                "campaign's settings"
            ),
            PACING_FAILED: f"pacing mode {mode!r} failed to start",
            ENGINE_FAULT: f"engine node {self.params.get('node', '')!r} failed pacing it",
            LOCAL_HOURS_CLOSED: (
                f"every lead is outside its local calling hours (the next opening: {opens})"
            ),
            SHORT_CALL_GUARD: (
                f"calls of 6 s or less are {self.params.get('share', '')} % of the "
                f"{self.params.get('calls', '')} calls of caller ID "
                f"{self.params.get('caller_id') or '(the platform default)'} today (UTC), "
                f"at or above the policy's {self.params.get('threshold', '')} %"
            ),
        }.get(self.code, "")
        if not head:
            return detail
        return f"{head}: {detail}" if detail else head


def hold(code: str, **params: Any) -> Hold:
    return Hold(code, {k: str(v) for k, v in params.items() if v is not None})


def decode(text: str | None) -> Hold | None:
    """The stored reason (None when empty)."""
    if not text:
        return None
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict) and isinstance(value.get("code"), str):
            params = value.get("params")
            return hold(value["code"], **(params if isinstance(params, dict) else {}))
    return hold(LEGACY, detail=text)


def english(text: str | None) -> str:
    """A stored reason as one English line ('' when empty)."""
    found = decode(text)
    return found.english() if found is not None else ""


__all__ = ["ENGINE_CODES", "PACING_CODES", "Hold", "decode", "english", "hold"]
