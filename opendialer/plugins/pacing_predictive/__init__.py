"""The ``predictive`` pacing mode (docs/pacing.md): launches calls ahead of free agents
from the state of every call in flight and the agents expected to free, keeping the
abandon rate under the campaign's target. Registered like a third party's plugin."""

from __future__ import annotations

from collections.abc import Mapping

from opendialer.plugins.pacing_predictive.mode import PredictivePacing
from opendialer.sdk import PacingModeFactory, hookimpl
from opendialer.sdk.pacing import PREDICTIVE


@hookimpl
def register_pacing_modes() -> Mapping[str, PacingModeFactory]:
    return {PREDICTIVE: PredictivePacing}


__all__ = ["PredictivePacing", "register_pacing_modes"]
