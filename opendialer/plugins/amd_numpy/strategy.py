"""The ``numpy`` AMD strategy: parameters, presets, sessions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from opendialer.sdk import AmdDecision, AmdParameter, PluginContext

from .detector import NumpyAmdSession
from .message_point import ListeningSession
from .params import PRESETS, parameter_docs, parse_params


class NumpyAmdStrategy:
    """Factory registered as ``"numpy"``; ``context`` is accepted and not needed."""

    def __init__(self, context: PluginContext | None = None) -> None:
        self.context = context

    def parameters(self) -> list[AmdParameter]:
        return parameter_docs()

    def presets(self) -> Mapping[str, Mapping[str, Any]]:
        return {name: dict(values) for name, values in PRESETS.items()}

    def new_session(
        self, params: Mapping[str, Any] | None = None, sample_rate: int = 8000
    ) -> ListeningSession:
        """The detector, able to follow a MACHINE verdict with a message point tracker."""
        return ListeningSession(parse_params(params), sample_rate=sample_rate)


def resolve_params(preset: str | None, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """A preset's values with ``overrides`` on top; ValueError naming a bad preset."""
    chosen: dict[str, Any] = {}
    if preset:
        if preset not in PRESETS:
            raise ValueError(f"unknown AMD preset {preset!r}; valid: {', '.join(sorted(PRESETS))}")
        chosen.update(PRESETS[preset])
    chosen.update(overrides or {})
    parse_params(chosen)  # validate now, with the parameter's name in the message
    return chosen


def analyze(
    samples: npt.NDArray[Any], rate: int, params: Mapping[str, Any] | None = None
) -> AmdDecision:
    """Run a whole signal through a fresh session (what a call would see)."""
    session = NumpyAmdSession(parse_params(params), sample_rate=rate)
    return session.feed(np.asarray(samples)) or session.finish()
