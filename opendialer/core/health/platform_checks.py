"""Health checks a platform plugin contributes (``opendialer doctor``, System → Diagnostics).

A platform factory that implements :class:`DiagnosesPlatform` gets one check,
named after the platform (the SIP plugin's is ``sip``), run with the other
checks and bounded like them. Core hands it a :class:`PlatformDiagnosis` —
what this process knows (the engine running here and its live platform, the
stored options, the chosen platform) — and shows the lines it returns; what
they say is the plugin's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from opendialer.core.health.model import CheckResult, DoctorOptions
from opendialer.core.health.settings_read import platform_choice, running_platform
from opendialer.core.plugins import get_plugin_manager


@dataclass(frozen=True, slots=True)
class PlatformDiagnosis:
    """What a platform's health check may read.

    ``name``: the platform's registered name, also the check's id. ``running``: the
    platform of the engine running in this process (None: no engine here).
    ``live``: that engine's platform object when it exposes ``registrations()``.
    ``stored_options()``: the options a Master saved for this platform (None: never).
    ``chosen()``: (the platform the engine uses or "", its options); raises
    ``ValueError`` when the environment names it wrongly. ``timeout_s``: the bound of
    one network exchange."""

    name: str
    running: str | None
    live: Any | None
    timeout_s: float
    stored_options: Callable[[], Awaitable[dict[str, Any] | None]]
    chosen: Callable[[], Awaitable[tuple[str, dict[str, Any]]]]


@runtime_checkable
class DiagnosesPlatform(Protocol):
    """A platform factory that says, per line, whether it can dial."""

    async def diagnose(self, diagnosis: PlatformDiagnosis) -> list[CheckResult]: ...


def diagnosing_platforms() -> dict[str, DiagnosesPlatform]:
    """``{name: factory}`` of the installed platforms that contribute a check."""
    factories = get_plugin_manager().factories("platforms")
    return {
        name: factory
        for name, factory in sorted(factories.items())
        if isinstance(factory, DiagnosesPlatform)
    }


async def check_platform(name: str, options: DoctorOptions) -> list[CheckResult]:
    from opendialer.core.services import platform_config

    factory = diagnosing_platforms()[name]
    diagnosis = PlatformDiagnosis(
        name=name,
        running=running_platform(),
        live=platform_config.live_platform(),
        timeout_s=options.timeout_s,
        stored_options=lambda: platform_config.load_platform_config(name),
        chosen=platform_choice,
    )
    return await factory.diagnose(diagnosis)


__all__ = ["DiagnosesPlatform", "PlatformDiagnosis", "check_platform", "diagnosing_platforms"]
