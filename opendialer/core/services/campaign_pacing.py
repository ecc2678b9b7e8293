"""A campaign's pacing fields (issue 17): how many calls it launches per agent and how
many people it may abandon — validated once, for the API, the form and the CLI.

| field | accepted | default |
|---|---|---|
| ``pacing_mode`` | a name ``register_pacing_modes()`` knows (or a plugin's) | ``progressive`` |
| ``lines_per_agent`` | power: calls per free agent, 1.0-5.0 | 1.5 |
| ``abandon_target_pct`` | abandoned calls allowed, % of live-answered calls, 0-10 | 3.0 |
| ``abandon_window`` | ``24h`` (Ofcom), ``30d`` (US TSR) or ``campaign`` | ``30d`` |
| ``abandon_timeout_ms`` | wait for a free agent after a person answers, 500-10000 ms | 2000 |
| ``max_lines_per_agent`` | cap of calls not yet with an agent, per agent, 1.0-5.0 | 3.0 |

The abandon timeout's bounds: under 500 ms nearly every answer that finds no agent
free that very moment is abandoned; over 10 s the person has long hung up (and both
the US TSR and Ofcom count a call not connected within 2 s of the greeting as
abandoned, so more than 2000 ms only hides abandons from the dialer's own count).

In ``power`` mode the lines per agent may not exceed the cap: the cap would always
win, and the setting would say something the dialer never does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from opendialer.core.services.errors import FieldErrors, ValidationFailed
from opendialer.sdk.pacing import ABANDON_WINDOWS, POWER, PREDICTIVE, PROGRESSIVE, PacingSettings

DEFAULTS = PacingSettings()

#: (low, high) of each numeric field, and the code its refusal carries.
LINES_PER_AGENT = (1.0, 5.0)
ABANDON_TARGET_PCT = (0.0, 10.0)
ABANDON_TIMEOUT_MS = (500, 10_000)
MAX_LINES_PER_AGENT = (1.0, 5.0)

#: The code a numeric field's refusal carries.
_RANGE_CODES = {
    "lines_per_agent": "campaign.lines_per_agent_out_of_range",
    "abandon_target_pct": "campaign.abandon_target_pct_out_of_range",
    "abandon_timeout_ms": "campaign.abandon_timeout_ms_out_of_range",
    "max_lines_per_agent": "campaign.max_lines_per_agent_out_of_range",
}
#: Decimals the API shows of a stored fraction (PostgreSQL's REAL keeps ~7 digits:
#: 1.3 reads back as 1.2999999523).
SHOWN_DECIMALS = 4

#: API field → its default (the columns have the same names).
FIELDS: dict[str, Any] = {
    "pacing_mode": DEFAULTS.mode,
    "lines_per_agent": DEFAULTS.lines_per_agent,
    "abandon_target_pct": DEFAULTS.abandon_target_pct,
    "abandon_window": DEFAULTS.abandon_window,
    "abandon_timeout_ms": DEFAULTS.abandon_timeout_ms,
    "max_lines_per_agent": DEFAULTS.max_lines_per_agent,
}
#: Over-dialing modes the dialer ships; a plugin's mode says so with ``over_dials``.
BUILT_IN_OVER_DIALING = frozenset({POWER, PREDICTIVE})


@dataclass(frozen=True, slots=True)
class PacingModeInfo:
    name: str
    #: Launches calls without an agent held for each: people may be abandoned.
    over_dials: bool


def pacing_modes() -> list[PacingModeInfo]:
    """The pacing modes installed now (``register_pacing_modes()``), progressive first."""
    from opendialer.core.plugins import get_plugin_manager

    factories = get_plugin_manager().factories("pacing_modes")
    infos = [
        PacingModeInfo(name, bool(getattr(f, "over_dials", False)) or name in BUILT_IN_OVER_DIALING)
        for name, f in factories.items()
    ]
    return sorted(infos, key=lambda m: (m.name != PROGRESSIVE, m.over_dials, m.name))


def over_dials(mode: str) -> bool:
    """``mode`` may abandon people (a mode no longer installed: judged by its name)."""
    for info in pacing_modes():
        if info.name == mode:
            return info.over_dials
    return mode in BUILT_IN_OVER_DIALING


def _mode(raw: Any) -> str:
    known = [m.name for m in pacing_modes()]
    if not isinstance(raw, str) or raw.strip() not in known:
        raise ValidationFailed(
            "campaign.pacing_mode_unknown", field="pacing_mode", value=raw, known=", ".join(known)
        )
    return raw.strip()


def _number(raw: Any, name: str, bounds: tuple[float, float], *, whole: bool = False) -> Any:
    """A finite number within ``bounds`` (a whole one for ``whole``), else the field's
    ``campaign.<name>_out_of_range`` code."""
    low, high = bounds
    is_number = isinstance(raw, int | float) and not isinstance(raw, bool)
    ok = is_number and math.isfinite(raw) and low <= raw <= high
    if ok and whole and float(raw) != int(raw):
        ok = False
    if not ok:
        raise ValidationFailed(
            _RANGE_CODES[name],
            field=name,
            value=raw,
            low=low,
            high=high,
            default=FIELDS[name],
        )
    return int(raw) if whole else float(raw)


def _window(raw: Any) -> str:
    if raw not in ABANDON_WINDOWS:
        raise ValidationFailed(
            "campaign.abandon_window_invalid",
            field="abandon_window",
            value=raw,
            known=", ".join(ABANDON_WINDOWS),
        )
    return str(raw)


def _lines_within_cap(lines: float, cap: float) -> None:
    if lines > cap:
        raise ValidationFailed(
            "campaign.lines_above_max", field="lines_per_agent", lines=lines, cap=cap
        )


def validate(data: dict[str, Any], problems: FieldErrors) -> dict[str, Any]:
    """The pacing columns of ``data`` (every field present, or its default); each
    refusal is kept in ``problems`` under its field."""

    def given(name: str) -> Any:
        value = data.get(name)
        return FIELDS[name] if value is None else value

    check = problems.check
    values: dict[str, Any] = {
        "pacing_mode": check(_mode, given("pacing_mode")),
        "lines_per_agent": check(
            _number, given("lines_per_agent"), "lines_per_agent", LINES_PER_AGENT
        ),
        "abandon_target_pct": check(
            _number, given("abandon_target_pct"), "abandon_target_pct", ABANDON_TARGET_PCT
        ),
        "abandon_window": check(_window, given("abandon_window")),
        "abandon_timeout_ms": check(
            _number,
            given("abandon_timeout_ms"),
            "abandon_timeout_ms",
            ABANDON_TIMEOUT_MS,
            whole=True,
        ),
        "max_lines_per_agent": check(
            _number, given("max_lines_per_agent"), "max_lines_per_agent", MAX_LINES_PER_AGENT
        ),
    }
    lines, cap = values["lines_per_agent"], values["max_lines_per_agent"]
    if values["pacing_mode"] == POWER and lines is not None and cap is not None:
        check(_lines_within_cap, lines, cap)
    return values


def settings_json(row: dict[str, Any]) -> dict[str, Any]:
    """The pacing fields of a campaign row as the API shows them."""
    out = {name: row.get(name, default) for name, default in FIELDS.items()}
    for name, value in out.items():
        if isinstance(value, float):
            out[name] = round(value, SHOWN_DECIMALS)
    return out


__all__ = [
    "ABANDON_TARGET_PCT",
    "ABANDON_TIMEOUT_MS",
    "FIELDS",
    "LINES_PER_AGENT",
    "MAX_LINES_PER_AGENT",
    "PacingModeInfo",
    "over_dials",
    "pacing_modes",
    "settings_json",
    "validate",
]
