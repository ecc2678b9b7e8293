"""The campaign form's AMD settings ↔ the campaign's ``amd_params``.

A preset, what each verdict does (``core/amd_settings.py``), and the strategy's
other parameters as ``NAME=VALUE`` lines. Only what differs from the defaults is
stored, so a campaign follows a better default later. The service checks the
result; an error about one key is shown at that key's field.
"""

from __future__ import annotations

from typing import Any

from opendialer.admin_ui.i18n import N_, Translator
from opendialer.admin_ui.pages.common import text
from opendialer.core import amd_settings
from opendialer.core.plugins import get_plugin_manager
from opendialer.core.services.errors import ServiceError, field_errors

#: The voicemail message's inputs (voicemail drop: ``on_machine: leave_message``).
VOICEMAIL_FILE = "voicemail_file"
VOICEMAIL_REMOVE = "voicemail_remove"
#: The form's AMD inputs: ``amd_params`` is the NAME=VALUE text.
FIELDS = (
    "amd_preset",
    *(f"amd_{key}" for key in amd_settings.VERDICT_SETTINGS),
    "amd_params",
    VOICEMAIL_FILE,
    VOICEMAIL_REMOVE,
)
SHOWN_APART = ("preset", *amd_settings.VERDICT_SETTINGS)
#: The built-in strategy's presets in words (the stored value stays the preset's name);
#: a preset this table does not know (a plugin's) is shown by its name.
PRESET_LABELS = {
    "fast": N_("Fast (decides early, 5 s at most)"),
    "accurate": N_("Accurate (waits for the beep)"),
}


def preset_label(preset: str, t: Translator) -> str:
    """The preset as the admin reads it; empty stays empty (the defaults)."""
    known = PRESET_LABELS.get(preset)
    return t.gettext(known) if known else preset


#: The select an error is shown at (a verdict's action error names its ``key``).
APART_BY_CODE = {"amd.preset_unknown": "preset"}


def presets(amd_params: dict[str, Any]) -> list[str]:
    """The presets of the strategy the campaign uses (none when no strategy is installed)."""
    factories = get_plugin_manager().factories("amd_strategies")
    name = amd_settings.strategy_name(factories, amd_params.get("strategy"))
    if name not in factories:
        return []
    return sorted(factories[name](context=None).presets())


def form_view(amd_params: dict[str, Any], t: Translator) -> dict[str, Any]:
    """What the form shows: the preset, each verdict's action, the other keys as lines."""
    preset = amd_params.get("preset") or ""
    choices = presets(amd_params)
    if preset and preset not in choices:  # kept as it is, for the service to name
        choices.append(preset)
    return {
        "preset": preset,
        "preset_options": [(name, preset_label(name, t)) for name in choices],
        "actions": {
            key: amd_params.get(key, default.value)
            for key, (_, default) in amd_settings.VERDICT_SETTINGS.items()
        },
        "lines": "\n".join(f"{k}={v}" for k, v in amd_params.items() if k not in SHOWN_APART),
    }


def _value(raw: str) -> Any:
    """A number where the text is one (parameters are numbers), else the text."""
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


def from_form(form: Any) -> dict[str, Any]:
    """The form's AMD inputs as ``amd_params``. A line without ``=`` becomes a key with
    an empty value, so the service's message names it."""
    params: dict[str, Any] = {}
    for line in text(form, "amd_params").splitlines():
        name, _, value = line.partition("=")
        if name.strip():
            params[name.strip()] = _value(value.strip())
    preset = text(form, "amd_preset")
    if preset:
        params["preset"] = preset
    for key, (_, default) in amd_settings.VERDICT_SETTINGS.items():
        action = text(form, f"amd_{key}")
        if action and action != default.value:
            params[key] = action
    return params


def place_errors(exc: ServiceError, errors: dict[str, str]) -> dict[str, str]:
    """Move an ``amd_params`` error about the preset or a verdict to that select."""
    for error in field_errors(exc):
        key = APART_BY_CODE.get(error.code) or str(error.params.get("key", ""))
        if error.field == "amd_params" and key in SHOWN_APART and "amd_params" in errors:
            errors[f"amd_{key}"] = errors.pop("amd_params")
    return errors
