"""Simulated telephony and contact center, for the demo, the tests and the bench.

Registers the platform ``sim`` (see :mod:`.platform` for its options) and the
routing target ``sim`` (free agents of the simulated contact center).
"""

from __future__ import annotations

from collections.abc import Mapping

from opendialer.plugins.platform_sim.platform import SimPlatform
from opendialer.plugins.platform_sim.routing import SimRoutingTarget
from opendialer.sdk import PlatformFactory, RoutingTargetFactory, hookimpl


@hookimpl
def register_platforms() -> Mapping[str, PlatformFactory]:
    return {"sim": SimPlatform}


@hookimpl
def register_routing_targets() -> Mapping[str, RoutingTargetFactory]:
    return {"sim": SimRoutingTarget}


__all__ = ["SimPlatform", "SimRoutingTarget"]
