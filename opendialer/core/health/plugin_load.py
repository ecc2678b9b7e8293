"""Plugins: which loaded, and every one the plugin manager refused, with why."""

from __future__ import annotations

from opendialer.core.health.model import CheckResult, Status
from opendialer.core.plugins import DISABLE_ENV, get_plugin_manager


def check_plugins() -> list[CheckResult]:
    manager = get_plugin_manager()
    loaded = manager.plugins()
    names = ", ".join(p.name for p in loaded) or "none"
    results = [CheckResult("plugins", Status.OK, f"{len(loaded)} loaded: {names}")]
    for failure in manager.failures:
        results.append(
            CheckResult(
                "plugins",
                Status.FAIL,
                f"did not load ({failure.source}): {failure.error}; fix or uninstall it, "
                f"or skip it with {DISABLE_ENV}={failure.name}",
                subject=failure.name,
            )
        )
    return results
