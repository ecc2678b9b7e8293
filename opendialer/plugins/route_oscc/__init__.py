"""Routing target ``oscc``: free agents of a campaign's queue in OpenScape
Contact Center, over its REST SDK.

What is known of that SDK is little (see ``docs/routing.md``), so the wire —
URL, TLS trust, credentials, timeouts, paths, field names, codec — is
configured, not assumed. Modules: :mod:`.options` (what can be set),
:mod:`.transport` (one HTTP exchange), :mod:`.session` (register, logon,
keep-alive, back-off), :mod:`.cache` (counts and reservations),
:mod:`.target` (the :class:`~opendialer.sdk.RoutingTarget`).
"""

from __future__ import annotations

from collections.abc import Mapping

from opendialer.plugins.route_oscc.options import (
    DEFAULT_FIELDS,
    DEFAULT_PATHS,
    OsccOptionError,
    parse_options,
)
from opendialer.plugins.route_oscc.target import OsccRoutingTarget
from opendialer.sdk import RoutingTargetFactory, hookimpl


@hookimpl
def register_routing_targets() -> Mapping[str, RoutingTargetFactory]:
    return {"oscc": OsccRoutingTarget}


__all__ = [
    "DEFAULT_FIELDS",
    "DEFAULT_PATHS",
    "OsccOptionError",
    "OsccRoutingTarget",
    "parse_options",
    "register_routing_targets",
]
