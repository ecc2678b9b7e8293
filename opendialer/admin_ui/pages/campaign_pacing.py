"""The campaign form's pacing settings and safe-harbour message, and the Summary's
pacing card.

The form shows every pacing field; ``app.js`` hides the ones the chosen mode does not
use (``data-pacing-show``: ``over_dials`` for the abandon settings and the message,
``power`` for the lines per agent). Without JavaScript they all stay visible, each
saying which modes use it. A number may be written with a decimal comma (``1,5``).

The message travels with the form (``multipart/form-data``): it is converted and
checked before the campaign is saved, so a bad file saves nothing; a good one is
stored once the campaign's settings are saved. Ticking *remove* deletes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from babel.numbers import format_decimal, format_percent
from litestar.datastructures import UploadFile

from opendialer.admin_ui.dates import BABEL_LOCALES
from opendialer.admin_ui.held_text import ASK_ROLE, FIX_PLACES
from opendialer.admin_ui.i18n import N_, Translator, translate_error
from opendialer.admin_ui.pages.common import text
from opendialer.admin_ui.pages.session import UI
from opendialer.core.domain import Role
from opendialer.core.services import campaign_fields, campaign_messages, campaign_pacing, campaigns
from opendialer.core.services.common import Actor
from opendialer.core.services.errors import ServiceError, ValidationFailed
from opendialer.core.services.message_audio import MAX_UPLOAD_BYTES, ConvertedAudio
from opendialer.sdk.pacing import ABANDON_WINDOWS

#: The form's pacing inputs (the service's field names).
FIELDS = tuple(campaign_pacing.FIELDS)
NUMBER_FIELDS = ("lines_per_agent", "abandon_target_pct", "max_lines_per_agent")
#: A new campaign's pacing settings.
BLANK: dict[str, Any] = {**campaign_pacing.FIELDS, "safe_harbour_message": None}
FILE_INPUT = "safe_harbour_file"
REMOVE_INPUT = "safe_harbour_remove"
FORM_INPUTS = (*FIELDS, FILE_INPUT, REMOVE_INPUT)
#: The campaign form carries the safe-harbour recording (multipart).
MAX_FORM_BYTES = MAX_UPLOAD_BYTES + 256 * 1024
#: The modes the dialer ships, as the form names them (a plugin's mode: its name).
MODE_LABELS = {
    "progressive": N_("Progressive: one call per free agent"),
    "power": N_("Power: a fixed number of lines per agent"),
    "predictive": N_("Predictive: lines adapt to keep abandons under the target"),
}
WINDOW_LABELS = {
    "24h": N_("The last 24 hours (UK Ofcom)"),
    "30d": N_("The last 30 days (US TSR)"),
    "campaign": N_("The whole campaign"),
}
#: Why an engine decided what it did (sdk ``PacingDecision.reason``); another code
#: is shown with the engine's English sentence.
REASON_LABELS = {
    "progressive": N_("One call per free agent."),
    "cold_start": N_("Learning: too few calls yet to predict, dialing one line per agent."),
    "small_team": N_("Too few agents to over-dial safely: one line per free agent."),
    "power": N_("The fixed lines per agent of power mode."),
    "predictive": N_("Predicted from the recent answer rate and call lengths."),
    "abandon_budget": N_("Held back: the abandon rate is at its target."),
    "max_lines": N_("At the maximum lines per agent."),
    "no_agents": N_("No free agent."),
    "capacity": N_("Limited by the free lines or the engine's call limit."),
    "share_pending": N_(
        "Waiting for the other engine nodes to count this one in before sharing the free agents."
    ),
}


#: An IVR campaign's calls go to its free channels, not a contact center's agents.
IVR_REASON_LABELS = {
    "progressive": N_("One call per free IVR channel."),
    "cold_start": N_("Learning: too few calls yet to predict, dialing one line per IVR channel."),
    "small_team": N_("Too few IVR channels to over-dial safely: one line per free channel."),
    "no_agents": N_("No free IVR channel."),
}


def _number(raw: str) -> Any:
    """A form's number (``1,5`` or ``1.5``), or the text as typed for the service to name."""
    try:
        return float(raw.replace(",", ".")) if raw else None
    except ValueError:
        return raw


def form_values(form: Any) -> dict[str, Any]:
    """The pacing inputs the form sent (a form without them keeps the stored values)."""
    values: dict[str, Any] = {}
    for name in FIELDS:
        if name not in form:
            continue
        raw = text(form, name)
        if name in NUMBER_FIELDS:
            values[name] = _number(raw)
        elif name == "abandon_timeout_ms":
            number = _number(raw)
            whole = isinstance(number, float) and number.is_integer()
            values[name] = int(number) if whole else number
        else:
            values[name] = raw or None
    return values


def mode_label(name: str, t: Translator) -> str:
    return t.gettext(MODE_LABELS[name]) if name in MODE_LABELS else name


def form_view(campaign: dict[str, Any], t: Translator) -> dict[str, Any]:
    """What the form shows: the modes, the windows, the current message."""
    modes = campaign_pacing.pacing_modes()
    chosen = campaign.get("pacing_mode") or campaign_pacing.FIELDS["pacing_mode"]
    if chosen not in {m.name for m in modes}:  # kept for the service to name
        modes.append(campaign_pacing.PacingModeInfo(chosen, campaign_pacing.over_dials(chosen)))
    message = campaign.get("safe_harbour_message")
    return {
        "modes": [(m.name, mode_label(m.name, t), m.over_dials) for m in modes],
        "over_dials": campaign_pacing.over_dials(chosen),
        "windows": [(w, t.gettext(WINDOW_LABELS[w])) for w in ABANDON_WINDOWS],
        "message": message,
        "message_seconds": message_seconds(campaign, t),
    }


def seconds(duration_ms: int, t: Translator) -> str:
    return format_decimal(duration_ms / 1000, "#,##0.0", locale=BABEL_LOCALES[t.language])


def message_seconds(campaign: dict[str, Any], t: Translator) -> str:
    """The length of the campaign's message ('' without one)."""
    message = campaign.get("safe_harbour_message")
    return seconds(message["duration_ms"], t) if message else ""


@dataclass
class MessageUpload:
    """The form's message input: a converted recording, a removal, or a refusal."""

    audio: ConvertedAudio | None = None
    filename: str = ""
    remove: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    file_input: str = FILE_INPUT


async def read_message(
    form: Any, t: Translator, file_input: str = FILE_INPUT, remove_input: str = REMOVE_INPUT
) -> MessageUpload:
    """The form's recording of one kind (the safe-harbour inputs unless named)."""
    upload = form.get(file_input)
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read()
        try:
            audio = await campaign_messages.convert_upload(data)
        except ValidationFailed as exc:
            return MessageUpload(errors={file_input: translate_error(exc, t)})
        return MessageUpload(audio=audio, filename=upload.filename, file_input=file_input)
    return MessageUpload(remove=form.get(remove_input) == "1", file_input=file_input)


def as_input(campaign: dict[str, Any]) -> dict[str, Any]:
    """A campaign's API body as the service's input (no read-only fields)."""
    return {k: v for k, v in campaign.items() if k not in campaign_fields.READ_ONLY}


async def refused(
    ui: UI,
    before: dict[str, Any] | None,
    values: dict[str, Any],
    upload: MessageUpload,
    form_errors: Callable[[ServiceError, UI], dict[str, str]],
) -> dict[str, str]:
    """A refused recording's error, with what saving the settings would have said
    (not allowed, campaign started, the fields' errors): nothing is saved. ``before``:
    the campaign edited (None: a new one)."""
    actor = ui.require_tab("campaigns")
    try:
        if before is None:
            campaigns.require_writer(actor)
        else:
            await campaigns.load_for_change(actor, before["id"])
            values = {**as_input(before), **values}
        await campaigns.validate(values)
        errors: dict[str, str] = {}
    except ServiceError as exc:
        errors = form_errors(exc, ui)
    return {**errors, **upload.errors}


def choose_again(upload: MessageUpload, errors: dict[str, str], t: Translator) -> dict[str, str]:
    """A form refused for its settings forgets the file chosen: say so at the input."""
    if upload.audio is not None and upload.file_input not in errors:
        errors[upload.file_input] = t.gettext(
            "The recording was not saved because of the errors above: choose it again."
        )
    return errors


async def apply_message(
    actor: Actor,
    campaign_id: int,
    upload: MessageUpload,
    kind: str = campaign_messages.SAFE_HARBOUR,
) -> None:
    """After the campaign's settings are saved: store or remove its message of ``kind``."""
    if upload.audio is not None:
        await campaign_messages.store(actor, campaign_id, upload.audio, upload.filename, kind)
    elif upload.remove:
        try:
            await campaign_messages.delete_message(actor, campaign_id, kind)
        except ServiceError as exc:
            if not exc.code.endswith(".not_found"):  # already gone: what was asked
                raise


# -- the Summary's pacing card -------------------------------------------------------


def _percent(value: float, language: str) -> str:
    return format_percent(value / 100, "#,##0.#%", locale=BABEL_LOCALES[language])


def summary_view(
    pacing: dict[str, Any], t: Translator, role: Role | None = None, campaign_type: str = ""
) -> dict[str, Any]:
    """The pacing card's values, written in the viewer's language. ``role``: the
    viewer's, to link where an engine is diagnosed (a Master) or say whom to ask;
    ``campaign_type``: an IVR campaign's reasons speak of channels, not agents."""
    language = t.language
    locale = BABEL_LOCALES[language]
    abandon = pacing["abandon"]
    occupancy = pacing["occupancy"]
    reason = pacing["reason"]
    fix_path = pacing["fix_path"]
    place = t.gettext(FIX_PLACES[fix_path]) if fix_path in FIX_PLACES else ""
    may_fix = role is Role.MASTER
    return {
        "fix_href": fix_path if place and may_fix else None,
        "fix_label": place,
        "ask": t.gettext(ASK_ROLE[Role.MASTER], place=place) if place and not may_fix else "",
        "mode": mode_label(pacing["mode"], t),
        "mode_known": pacing["mode"] in MODE_LABELS,
        "dial_level": (
            None
            if pacing["dial_level"] is None
            else format_decimal(pacing["dial_level"], "#,##0.0#", locale=locale)
        ),
        "rate": _percent(abandon["rate_pct"], language),
        "target": _percent(abandon["target_pct"], language),
        "live": format_decimal(abandon["live_answered"], "#,##0", locale=locale),
        "abandoned": format_decimal(abandon["abandoned"], "#,##0", locale=locale),
        "occupancy": None if occupancy is None else _percent(100 * occupancy, language),
        "reason": _reason(reason, campaign_type, t),
        "reason_code": reason,
    }


def _reason(reason: str, campaign_type: str, t: Translator) -> str | None:
    if campaign_type == "IVR" and reason in IVR_REASON_LABELS:
        return t.gettext(IVR_REASON_LABELS[reason])
    return t.gettext(REASON_LABELS[reason]) if reason in REASON_LABELS else None


def short_calls_view(short: dict[str, Any], t: Translator) -> dict[str, Any]:
    """The Summary's short-call line (core/services/short_calls.py), in the viewer's
    language; ``over``: the guard holds the campaign (at or above its threshold)."""
    locale = BABEL_LOCALES[t.language]
    threshold = short["threshold"]
    return {
        "share": _percent(short["share"], t.language),
        "calls": format_decimal(short["calls"], "#,##0", locale=locale),
        "threshold": None if threshold is None else _percent(threshold, t.language),
        "min_calls": format_decimal(short["min_calls"], "#,##0", locale=locale),
        "over": threshold is not None
        and short["calls"] >= short["min_calls"]
        and short["share"] >= threshold,
    }


__all__ = [
    "BLANK",
    "FIELDS",
    "FILE_INPUT",
    "MessageUpload",
    "apply_message",
    "as_input",
    "choose_again",
    "form_values",
    "form_view",
    "read_message",
    "refused",
    "short_calls_view",
    "summary_view",
]
