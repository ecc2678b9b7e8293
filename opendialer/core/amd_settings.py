"""A campaign's ``amd_params``: the AMD strategy, its preset, what each verdict does
and the strategy's own parameters — read by the engine, checked when a campaign is
saved, so a mistake is a 422 naming the key, not a call that ignores it.

Keys the engine reads itself (:data:`ENGINE_KEYS`):

* ``strategy`` — a registered AMD strategy (default: :data:`PREFERRED_STRATEGY`
  when installed, else the first by name);
* ``preset`` — one of the strategy's presets (``fast``, ``accurate``);
* ``on_machine``, ``on_fax``, ``on_silence``, ``on_notsure`` — ``hangup`` or
  ``transfer``: what that verdict does; ``on_machine`` may also be ``leave_message``
  (voicemail drop: the campaign's voicemail message, checked by the campaign service
  since it lives apart). A HUMAN verdict always transfers.

Every other key is the strategy's parameter (ours or app_amd's name), on top of
the preset's values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opendialer.core.services.errors import InvalidValue, problem_params
from opendialer.sdk.contracts import AmdLabel, AmdStrategy, CallAction

#: What each verdict does unless the campaign says otherwise (the product guide's defaults).
VERDICT_SETTINGS: dict[str, tuple[AmdLabel, CallAction]] = {
    "on_machine": (AmdLabel.MACHINE, CallAction.HANGUP),
    "on_fax": (AmdLabel.FAX, CallAction.HANGUP),
    "on_silence": (AmdLabel.SILENCE, CallAction.HANGUP),
    "on_notsure": (AmdLabel.NOTSURE, CallAction.TRANSFER),
}
ENGINE_KEYS = ("strategy", "preset", *VERDICT_SETTINGS)
#: The product's choice of AMD strategy for a campaign that names none (the built-in
#: detector); when it is not installed, the first installed strategy by name.
PREFERRED_STRATEGY = "numpy"
ACTIONS = tuple(a.value for a in CallAction)
#: The verdict settings that may leave a message (only a machine records one).
LEAVES_MESSAGE = ("on_machine",)


def leaves_message(params: Mapping[str, Any]) -> bool:
    """The campaign leaves a message on answering machines (needs its voicemail message)."""
    return params.get("on_machine") == CallAction.LEAVE_MESSAGE.value


def strategy_name(factories: Mapping[str, Any], wanted: Any, default: str | None = None) -> Any:
    """The strategy a campaign uses: its own, else ``default``, else
    :data:`PREFERRED_STRATEGY`, else the first installed (None when none is)."""
    name = wanted or default
    if not name:
        preferred = PREFERRED_STRATEGY in factories
        name = PREFERRED_STRATEGY if preferred else next(iter(sorted(factories)), None)
    return name


def verdict_actions(params: Mapping[str, Any]) -> dict[AmdLabel, CallAction]:
    """Verdict → action for a campaign's ``amd_params`` (checked ones: see :func:`check`)."""
    actions = {AmdLabel.HUMAN: CallAction.TRANSFER}
    for key, (label, default) in VERDICT_SETTINGS.items():
        value = params.get(key)
        actions[label] = CallAction(value) if value in ACTIONS else default
    return actions


def tunables(params: Mapping[str, Any], strategy: AmdStrategy) -> dict[str, Any]:
    """The strategy's parameters: its preset's values, the campaign's on top."""
    chosen = {k: v for k, v in params.items() if k not in ENGINE_KEYS}
    preset = params.get("preset")
    if preset and isinstance(preset, str):
        chosen = {**dict(strategy.presets().get(preset, {})), **chosen}
    return chosen


def check(params: Any, factories: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` if the engine and the strategy accept it; ValueError naming the key."""
    if not isinstance(params, dict):
        raise InvalidValue("amd.not_object")
    for key in VERDICT_SETTINGS:
        if key in params and params[key] not in ACTIONS:
            raise InvalidValue("amd.action_invalid", key=key, value=params[key])
        if params.get(key) == CallAction.LEAVE_MESSAGE and key not in LEAVES_MESSAGE:
            raise InvalidValue("amd.leave_message_machine_only", key=key)
    wanted = params.get("strategy")
    if wanted is not None and (not isinstance(wanted, str) or wanted not in factories):
        installed = ", ".join(sorted(factories)) or "none"
        raise InvalidValue("amd.strategy_unknown", value=wanted, installed=installed)
    name = strategy_name(factories, wanted)
    if name is None:  # no strategy installed: nothing can check its parameters
        return params
    strategy: AmdStrategy = factories[name](context=None)
    preset = params.get("preset")
    presets = strategy.presets()
    if preset is not None and (not isinstance(preset, str) or preset not in presets):
        raise InvalidValue(
            "amd.preset_unknown",
            value=preset,
            strategy=name,
            presets=", ".join(sorted(presets)) or "none",
        )
    try:
        strategy.new_session(tunables(params, strategy))
    except ValueError as exc:
        raise InvalidValue("amd.strategy_refused", **problem_params(exc)) from None
    return params
