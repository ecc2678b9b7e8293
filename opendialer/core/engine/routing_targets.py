"""The routing targets of one engine: built on first use, rebuilt when their options change.

A target built from the Master's stored options (``routing.<name>``) is rebuilt
when those options change (the setting row's ``updated_at``, read at most every
:data:`ROUTING_RECHECK_S`); one that failed to start is tried again at that pace
too, so configuring it makes its campaigns dial without a restart. A target
replaced by a reload is closed once no call of this node is up (it may still
hold their slots).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from opendialer.core import held
from opendialer.core.engine.campaign_view import CampaignView
from opendialer.core.engine.settings import setting_with_stamp
from opendialer.core.held import Hold, hold
from opendialer.core.plugins import PluginManager
from opendialer.sdk.contracts import PluginContext, RoutingTarget

log = logging.getLogger("opendialer.engine")

#: How often a started routing target's stored options are compared with the
#: database, and a target that failed to start is tried again (seconds).
ROUTING_RECHECK_S = 2.0


class RoutingTargets:
    def __init__(
        self,
        pm: PluginManager,
        context: PluginContext,
        monotonic: Callable[[], float],
        options: Mapping[str, Mapping[str, Any]] | None = None,
        platform_routing: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._pm = pm
        #: The chosen platform's own routing target (``default_routing_target``: the
        #: simulator's simulated center), for campaigns whose type's default is not set up.
        self._platform_routing = platform_routing
        self._context = context
        self._monotonic = monotonic
        #: Options given by the operator (environment): used as they are, never reloaded.
        self._options = {k: dict(v) for k, v in (options or {}).items()}
        self._started: dict[str, RoutingTarget] = {}
        self._missing: set[str] = set()
        #: Per target: when its stored options were last read, their updated_at, and
        #: why it failed to start (tried again every ROUTING_RECHECK_S).
        self._checked: dict[str, float] = {}
        self._stamp: dict[str, Any] = {}
        self._failed: dict[str, Hold] = {}
        self._retired: list[RoutingTarget] = []

    def started(self) -> dict[str, RoutingTarget]:
        return dict(self._started)

    async def target_for(self, campaign: CampaignView) -> tuple[RoutingTarget | None, Hold | None]:
        """The campaign's started routing target, or why there is none. A campaign that
        names no target of its own, whose type's default is not configured, routes to
        the chosen platform's own target when it has one (the simulator's calls reach
        only its simulated agents: a new install trying campaigns on it dials)."""
        target, why = await self._target(campaign.routing_target, campaign.id)
        if (
            target is None
            and why is not None
            and why.code == held.ROUTING_NOT_CONFIGURED
            and not campaign.routing_chosen
        ):
            own = self._platform_routing()
            if own and own != campaign.routing_target:
                fallback, _ = await self._target(own, campaign.id)
                if fallback is not None:
                    return fallback, None
        return target, why

    async def _target(
        self, name: str, campaign_id: int
    ) -> tuple[RoutingTarget | None, Hold | None]:
        """The started routing target ``name``, or why there is none."""
        mono = self._monotonic()
        target = self._started.get(name)
        recheck = mono - self._checked.get(name, float("-inf")) >= ROUTING_RECHECK_S
        if target is not None and (name in self._options or not recheck):
            return target, None
        if target is None and not recheck and name in self._failed:
            return None, self._failed[name]
        factory = self._pm.factories("routing_targets").get(name)
        if factory is None:
            why = hold(held.ROUTING_NOT_INSTALLED, target=name)
            if name not in self._missing:
                self._missing.add(name)
                log.error(
                    "routing_missing campaign=%s routing target %r is not installed "
                    "(see `opendialer plugins list`)",
                    campaign_id,
                    name,
                )
            return None, why
        self._checked[name] = mono
        options = self._options.get(name)
        stamp: Any = None
        if options is None:  # the Master's stored options (routing settings service)
            options, stamp = await setting_with_stamp(f"routing.{name}")
            if target is not None and stamp == self._stamp.get(name):
                return target, None
        try:
            fresh = factory(options=options, context=self._context)
            await fresh.start()
        except Exception as exc:
            code = held.ROUTING_FAILED if options else held.ROUTING_NOT_CONFIGURED
            why = hold(code, target=name, detail=f"{type(exc).__name__}: {exc}")
            if target is not None:  # the new options fail: keep dialing with the old ones
                log.error("routing_reload_failed target=%s %s", name, why.english())
                self._stamp[name] = stamp
                return target, None
            self._failed[name] = why
            return None, why
        self._failed.pop(name, None)
        self._stamp[name] = stamp
        self._started[name] = fresh
        if target is not None:
            log.info("routing_reloaded target=%s (its stored options changed)", name)
            self._retired.append(target)
        return fresh, None

    async def close_retired(self) -> None:
        """Close the targets replaced by a reload (call when no call of this node is up)."""
        retired, self._retired = self._retired, []
        for target in retired:
            try:
                await target.close()
            except Exception:
                log.exception("routing_close_failed")

    @property
    def has_retired(self) -> bool:
        return bool(self._retired)

    async def close(self) -> None:
        started, self._started = list(self._started.values()), {}
        for target in [*started, *self._retired]:
            await target.close()
        self._retired = []


__all__ = ["ROUTING_RECHECK_S", "RoutingTargets"]
