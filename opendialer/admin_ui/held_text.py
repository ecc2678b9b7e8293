"""A campaign's dialing state (core/services/dialing.py) in the viewer's language.

One table per code (:data:`HELD_TEXT`): the HTML pages show the sentence as the
campaign's state, the API returns it as ``held_reason.detail``. The code and its
parameters come from the service; nothing here decides.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from opendialer.admin_ui.dates import local_day
from opendialer.admin_ui.i18n import N_, Translator
from opendialer.core import held
from opendialer.core.domain import Role
from opendialer.core.routing_defaults import SETTINGS_PAGES, settings_page
from opendialer.core.services import dialing
from opendialer.core.services.dialing import DialingState

#: code → message, or (message for the IVR / today, message otherwise).
HELD_TEXT: dict[str, str | tuple[str, str]] = {
    dialing.NO_ENGINE: N_("Started — not dialing: no dialer engine is running"),
    dialing.STARTING: N_("Started — starting: the dialer engine takes it up within seconds"),
    dialing.WAITING_NEXT_RUN: (
        N_("Started — waiting: next run today %(time)s"),
        N_("Started — waiting: next run %(date)s %(time)s"),
    ),
    dialing.NO_SCHEDULE_LEFT: N_("Started — not dialing: no schedule day left"),
    dialing.NO_LEADS_DUE: (
        N_("Started — waiting: every lead waits for its retry, the next one today %(time)s"),
        N_("Started — waiting: every lead waits for its retry, the next one %(date)s %(time)s"),
    ),
    dialing.NO_LEADS_LEFT: N_("Started — not dialing: no lead left to call"),
    held.ROUTING_NOT_INSTALLED: N_(
        "Started — not dialing: the routing target %(target)s is not installed"
    ),
    held.ROUTING_NOT_CONFIGURED: (
        N_("Started — not dialing: the IVR is not configured"),
        N_("Started — not dialing: the contact center (%(target)s) is not configured"),
    ),
    held.ROUTING_FAILED: (
        N_("Started — not dialing: the IVR failed to start: %(detail)s"),
        N_("Started — not dialing: the contact center (%(target)s) failed to start: %(detail)s"),
    ),
    held.ROUTING_UNHEALTHY: (
        N_("Started — not dialing: the IVR is not up: %(detail)s"),
        N_("Started — not dialing: the contact center (%(target)s) is not up: %(detail)s"),
    ),
    held.PLATFORM_NOT_CHOSEN: N_("Started — not dialing: no communication platform is chosen yet"),
    held.PLATFORM_DOWN: N_("Started — not dialing: the communication platform is down: %(detail)s"),
    held.DNC_OUT_OF_SERVICE: N_(
        "Started — not dialing: the DNC service does not answer: %(detail)s"
    ),
    held.PACING_NOT_INSTALLED: N_(
        "Started — not dialing: the pacing mode %(mode)s is not installed; choose another "
        "one in the campaign's settings"
    ),
    held.PACING_FAILED: N_(
        "Started — not dialing: the pacing mode %(mode)s failed to start: %(detail)s"
    ),
    held.LOCAL_HOURS_CLOSED: N_(
        "Started — waiting: every lead is outside its local calling hours (the next "
        "opening: %(opens)s)"
    ),
    held.SHORT_CALL_GUARD: N_(
        "Started — held by the short-call guard: calls of 6 s or less are %(share)s %% of "
        "the %(calls)s calls of caller ID %(caller_id)s today (UTC), at or above the "
        "policy's %(threshold)s %%"
    ),
    held.ENGINE_FAULT: N_(
        "Started — not dialing: the dialer engine %(node)s failed while pacing it: %(detail)s"
    ),
    held.LEGACY: N_("Started — not dialing: %(detail)s"),
}

#: Where to fix it, by path (a campaign's own pages end with these).
FIX_PLACES: dict[str, str] = {
    "/system/ivr": N_("System → IVR"),
    "/system/contact-center": N_("System → Contact center"),
    "/system/platform": N_("System → Communication platform"),
    "/system": N_("System → Diagnostics"),
    "/dnc": N_("Do-Not-Call"),
    "/schedules": N_("Schedule"),
    "/leads/upload": N_("Upload leads"),
    "/edit": N_("Edit campaign"),
    "/compliance": N_("Compliance policy"),
}
ASK_ROLE: dict[Role, str] = {
    Role.MASTER: N_("ask a Master: %(place)s"),
    Role.CAMPAIGN_ADMIN: N_("ask a Campaign Administrator: %(place)s"),
}
#: A campaign without a caller ID of its own presents the platform's.
PLATFORM_CALLER_ID = N_("(the platform's default)")
GROUP_DISABLED = N_("Group disabled: this campaign runs to its end; it cannot be restarted.")
DIALING = N_("Started — dialing")


def held_detail(state: DialingState, t: Translator, *, markup: bool = False) -> str:
    """The sentence for a STARTED campaign's state ('' when it is STOPPED).

    With ``markup`` (the HTML pages) the values are escaped and the embedded
    ``detail`` — the operator's diagnostic, in the engine's English — is marked
    ``<span lang="en">``, as Diagnostics marks its messages."""
    if state.code is None:
        return t.gettext(DIALING) if state.dialing else ""
    entry = HELD_TEXT.get(state.code, HELD_TEXT[held.LEGACY])
    params: dict[str, Any] = {
        "detail": "",
        "target": "",
        "mode": "",
        "date": "",
        "time": "",
        "node": "",
    }
    params.update(state.params)
    if params["date"]:
        params["date"] = local_day(params["date"], t.language)
    if state.code == held.SHORT_CALL_GUARD and not params.get("caller_id"):
        params["caller_id"] = t.gettext(PLATFORM_CALLER_ID)
    if isinstance(entry, tuple):
        # The IVR's message for the target IVR campaigns default to (its System page).
        ivr = SETTINGS_PAGES["IVR"]
        first = (
            settings_page(params["target"]) == ivr
            if "target" in state.params
            else "today" in params
        )
        message = entry[0] if first else entry[1]
    else:
        message = entry
    if markup:
        if params["detail"]:
            params["detail"] = Markup('<span lang="en">{}</span>').format(params["detail"])
        return Markup(escape(t.gettext(message))) % params
    return t.gettext(message, **params)


def fix_place(state: DialingState, t: Translator) -> str:
    path = state.fix_path
    if path is None:
        return ""
    if path.startswith("/campaigns/"):  # the campaign's own page: /campaigns/<id>/...
        path = "/" + path.split("/", 3)[3]
    label = FIX_PLACES.get(path)
    return t.gettext(label) if label else path


def held_view(state: DialingState, t: Translator, role: Role | None) -> dict[str, Any]:
    """What the shared state partial (templates/campaigns/_state.html) shows."""
    place = fix_place(state, t)
    may_fix = state.fix_role is not None and role is state.fix_role
    ask = ""
    if place and not may_fix and state.fix_role is not None:
        ask = t.gettext(ASK_ROLE[state.fix_role], place=place)
    return {
        "text": held_detail(state, t, markup=True),
        "dialing": state.dialing,
        "code": state.code,
        "css": "run" if state.dialing else ("off" if state.waiting else "bad"),
        "fix_href": state.fix_path if may_fix else None,
        "fix_label": place,
        "ask": ask,
        "group_disabled": t.gettext(GROUP_DISABLED) if state.group_disabled else "",
    }


def held_reason_body(state: DialingState, t: Translator) -> dict[str, Any] | None:
    """The API's ``held_reason`` (None while dialing or STOPPED)."""
    if state.code is None:
        return None
    return {
        "code": state.code,
        "detail": held_detail(state, t),
        "waiting": state.waiting,
        "params": dict(state.params),
        "fix_path": state.fix_path,
    }


__all__ = ["HELD_TEXT", "held_detail", "held_reason_body", "held_view"]
