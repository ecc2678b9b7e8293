"""A campaign's compliance policy page (``/campaigns/{id}/compliance``): the preset, its
values (tightened or not), and the leads' local hours, holidays and contact limits.

Choosing a preset fills the form with its values (``?preset=…``, htmx on change; a
button without JavaScript) without saving; *Save* stores what the form shows. A value
looser than the preset's turns the policy into ``custom`` and the page says which;
settings of the campaign the policy moved are named too. Supervisors read the page.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from opendialer.admin_ui.i18n import N_
from opendialer.admin_ui.pages.common import errors_of, text
from opendialer.admin_ui.pages.session import UI
from opendialer.core.domain import Role
from opendialer.core.services import campaign_compliance, campaigns, compliance_policy
from opendialer.core.services.errors import ServiceError

PRESET_LABELS = {
    "none": N_("None: only the campaign's schedule"),
    "us_tsr": N_("United States: Telemarketing Sales Rule"),
    "uk_ofcom": N_("United Kingdom: Ofcom persistent misuse policy"),
    "br_anatel": N_("Brazil: Anatel (short calls) and calling hours"),
    "fr_2022": N_("France: décret 2022-1313"),
    "custom": N_("Custom"),
}
DAY_LABELS = {
    "mon": N_("Monday"),
    "tue": N_("Tuesday"),
    "wed": N_("Wednesday"),
    "thu": N_("Thursday"),
    "fri": N_("Friday"),
    "sat": N_("Saturday"),
    "sun": N_("Sunday"),
}
NUMBER_FIELDS = (
    "max_attempts_per_day",
    "max_attempts_per_30_days",
    "hours_after_abandon",
    "minutes_after_machine",
    "min_ring_seconds",
    "short_call_guard_pct",
    "dnc_max_age_days",
    "max_abandon_pct",
    "max_abandon_timeout_ms",
)
BOOL_FIELDS = ("abandon_retry_with_agent", "caller_id_required", "safe_harbour_required")
FIELD_LABELS = {
    "local_hours": N_("Calling hours in the lead's local time"),
    "holiday_calendars": N_("Public holidays skipped (countries or subdivisions)"),
    "holiday_dates": N_("The campaign's own days off"),
    "max_attempts_per_day": N_("Attempts per number per day, all campaigns"),
    "max_attempts_per_30_days": N_("Attempts per number in 30 days, all campaigns"),
    "hours_after_abandon": N_("Hours without a call after an abandoned call"),
    "abandon_retry_with_agent": N_("…unless an agent is guaranteed (progressive)"),
    "minutes_after_machine": N_("Minutes without a call after an answering machine"),
    "min_ring_seconds": N_("Ring at least (seconds)"),
    "caller_id_required": N_("A caller ID must be presented"),
    "short_call_guard_pct": N_("Slow down before calls of 6 s or less pass (%)"),
    "dnc_max_age_days": N_("An external DNC list may be at most (days old)"),
    "max_abandon_pct": N_("Abandoned calls at most (%)"),
    "abandon_window": N_("Abandon rate counted over"),
    "max_abandon_timeout_ms": N_("Time to reach an agent at most (ms)"),
    "safe_harbour_required": N_("A recorded message for abandoned calls"),
    "no_answer_timeout_s": N_("No-answer timeout (s)"),
    "abandon_target_pct": N_("Abandon target (%)"),
    "abandon_timeout_ms": N_("Wait for an agent (ms)"),
}
WINDOW_LABELS = {
    "": N_("Any"),
    "24h": N_("The last 24 hours (UK Ofcom)"),
    "30d": N_("The last 30 days (US TSR)"),
    "campaign": N_("The whole campaign"),
}
FORM_FIELDS = ("preset", "local_hours", *compliance_policy.FIELD_NAMES, "no_answer_timeout_s")


def form_values(policy: dict[str, Any]) -> dict[str, Any]:
    """A policy (API shape) as the form's inputs."""
    hours = policy.get("local_hours")
    values: dict[str, Any] = {
        "preset": policy.get("preset") or "none",
        "local_hours_on": hours is not None,
        "holiday_calendars": ", ".join(policy.get("holiday_calendars") or []),
        "holiday_dates": ", ".join(policy.get("holiday_dates") or []),
        "abandon_window": policy.get("abandon_window") or "",
    }
    for day in compliance_policy.WEEKDAYS:
        values[f"hours_{day}"] = ", ".join((hours or {}).get(day, [])) if hours else ""
    for name in NUMBER_FIELDS:
        value = policy.get(name)
        values[name] = "" if value is None else _plain(value)
    for name in BOOL_FIELDS:
        values[name] = bool(policy.get(name))
    return values


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(raw: str) -> Any:
    """A form number: '' is no limit; a decimal comma is accepted; text is sent as is
    (the service refuses it by its field)."""
    raw = raw.strip().replace(",", ".")
    if not raw:
        return None
    try:
        number = float(raw)
    except ValueError:
        return raw
    return int(number) if number.is_integer() else number


def request_body(form: Any) -> dict[str, Any]:
    """The form as the service's policy body."""
    body: dict[str, Any] = {"preset": text(form, "preset") or "none"}
    if form.get("local_hours_on"):
        body["local_hours"] = {
            day: [s.strip() for s in text(form, f"hours_{day}").split(",") if s.strip()]
            for day in compliance_policy.WEEKDAYS
        }
    else:
        body["local_hours"] = None
    body["holiday_calendars"] = text(form, "holiday_calendars")
    body["holiday_dates"] = text(form, "holiday_dates")
    for name in NUMBER_FIELDS:
        body[name] = _number(text(form, name))
    for name in BOOL_FIELDS:
        body[name] = bool(form.get(name))
    body["abandon_window"] = text(form, "abandon_window") or None
    return body


def _render(
    ui: UI,
    campaign: dict[str, Any],
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    saved: dict[str, Any] | None = None,
    unsaved: bool = False,
) -> Template:
    actor = ui.actor
    return ui.render(
        "campaigns/compliance.html",
        campaign=campaign,
        values=values,
        errors=errors or {},
        saved=saved,
        unsaved=unsaved,
        may_change=actor is not None and actor.role is Role.CAMPAIGN_ADMIN,
        presets=list(compliance_policy.PRESETS),
        preset_labels=PRESET_LABELS,
        day_labels=DAY_LABELS,
        field_labels=FIELD_LABELS,
        window_labels=WINDOW_LABELS,
        weekdays=compliance_policy.WEEKDAYS,
        number_fields=NUMBER_FIELDS,
        bool_fields=BOOL_FIELDS,
    )


@get("/campaigns/{campaign_id:int}/compliance")
async def compliance_page(
    ui: NamedDependency[UI], campaign_id: FromPath[int], preset: FromQuery[str] = ""
) -> Template:
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    policy = await campaign_compliance.get_policy(actor, campaign_id)
    if preset and preset in compliance_policy.PRESET_VALUES:
        # Fill the form with the preset's values; nothing is saved until Save.
        chosen = next(p for p in campaign_compliance.presets() if p["preset"] == preset)
        return _render(ui, campaign, form_values(chosen), unsaved=preset != policy["preset"])
    return _render(ui, campaign, form_values(policy))


@post("/campaigns/{campaign_id:int}/compliance", status_code=200)
async def compliance_submit(
    request: Request[Any, Any, Any], ui: NamedDependency[UI], campaign_id: FromPath[int]
) -> Response[Any] | Template:
    actor = ui.require_tab("campaigns")
    campaign = await campaigns.get_campaign(actor, campaign_id)
    campaigns.require_writer(actor)  # a Supervisor's post is a 403, not a form error
    form = await request.form()
    body = request_body(form)
    try:
        saved = await campaign_compliance.update_policy(actor, campaign_id, body)
    except ServiceError as exc:
        values = _raw_values(form)
        return _render(ui, campaign, values, errors=errors_of(exc, ui.t, FORM_FIELDS))
    campaign = await campaigns.get_campaign(actor, campaign_id)
    return _render(ui, campaign, form_values(saved), saved=saved)


def _raw_values(form: Any) -> dict[str, Any]:
    """What the admin typed, kept as typed after a refusal."""
    values: dict[str, Any] = {
        name: text(form, name)
        for name in (
            "preset",
            "holiday_calendars",
            "holiday_dates",
            "abandon_window",
            *NUMBER_FIELDS,
            *(f"hours_{d}" for d in compliance_policy.WEEKDAYS),
        )
    }
    values["local_hours_on"] = bool(form.get("local_hours_on"))
    for name in BOOL_FIELDS:
        values[name] = bool(form.get(name))
    return values


ROUTES: list[Any] = [compliance_page, compliance_submit]
