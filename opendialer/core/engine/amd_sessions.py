"""A call's answering-machine detection: the campaign's strategy, a session per call.

The strategy a campaign names (``amd_params.strategy``), else the engine's
(``amd_strategy``), else ``numpy``, else the first installed; each is built once
per engine. No strategy installed: AMD campaigns transfer on answer.
"""

from __future__ import annotations

import logging

from opendialer.core import amd_settings
from opendialer.core.engine.campaign_view import CampaignView, VerdictAction
from opendialer.core.plugins import PluginManager
from opendialer.sdk.contracts import AmdSession, AmdStrategy, PluginContext

log = logging.getLogger("opendialer.engine")


class AmdSessions:
    def __init__(self, pm: PluginManager, context: PluginContext, default: str | None) -> None:
        self._pm = pm
        self._context = context
        self._default = default
        #: Strategies built so far, by the name a campaign asked for (None: the default).
        self._strategies: dict[str | None, AmdStrategy | None] = {}

    def for_call(self, campaign: CampaignView) -> tuple[AmdSession | None, bool, VerdictAction]:
        """The call's AMD session (None: none runs), whether AMD is on, and the verdict
        → action of the campaign."""
        on_verdict = campaign.on_verdict
        if not campaign.amd_enabled:
            return None, False, on_verdict
        strategy = self._strategy(campaign.amd_strategy)
        if strategy is None:
            return None, True, on_verdict
        tunables = amd_settings.tunables(campaign.amd_params, strategy)
        try:
            return strategy.new_session(tunables, sample_rate=8000), True, on_verdict
        except ValueError as exc:
            log.error("amd_params_invalid campaign=%s error=%s (using defaults)", campaign.id, exc)
            return strategy.new_session({}, sample_rate=8000), True, on_verdict

    def _strategy(self, wanted: str | None) -> AmdStrategy | None:
        if wanted in self._strategies:
            return self._strategies[wanted]
        factories = self._pm.factories("amd_strategies")
        name = amd_settings.strategy_name(factories, wanted, self._default)
        factory = factories.get(name) if name else None
        strategy: AmdStrategy | None = (
            factory(context=self._context) if factory is not None else None
        )
        self._strategies[wanted] = strategy
        if strategy is None and not wanted:
            log.warning(
                "amd_unavailable: no AMD strategy installed; AMD campaigns transfer on answer"
            )
        return strategy


__all__ = ["AmdSessions"]
