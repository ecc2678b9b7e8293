"""Routing target ``ivr``: free IVR channels (CMS Voice Portal and the like).

The IVR does not tell the dialer how many channels are free, so this target
counts them itself: ``channels`` minus the calls it holds — calls launched and
not yet ended, and calls transferred to the IVR that are still up. A
transferred call is held until :meth:`IvrRoutingTarget.transferred_call_ended`
is called for it or, when that signal never comes, for ``hold_timeout_ms``.

With several engine nodes (PostgreSQL) the holds are shared rows
(:class:`opendialer.sdk.SharedReservations`): the other nodes' holds
are subtracted too, and ``claim_slots`` — called by the engine before it
launches — claims channels atomically in the database, so all the nodes
together never hold more than ``channels``.

Optionally a ``status_url`` answering JSON with the IVR's own count of free
channels corrects the local count (the smaller answer wins). When that URL is
unreachable, late or malformed: with ``status_authoritative`` true, 0 free
(fail safe: the URL is the truth and we do not have it); with the default
false, the local count is used and ``health`` says the correction is missing.
All options are listed in ``docs/routing.md``.

Modules: :mod:`.options` (what can be set, and its coded errors), :mod:`.target`
(the :class:`~opendialer.sdk.RoutingTarget`).
"""

from __future__ import annotations

from collections.abc import Mapping

from opendialer.plugins.route_ivr.options import ERRORS, IvrOptionError, IvrOptions, parse_options
from opendialer.plugins.route_ivr.target import IVR_POOL, IvrRoutingTarget
from opendialer.sdk import RoutingTargetFactory, hookimpl


@hookimpl
def register_routing_targets() -> Mapping[str, RoutingTargetFactory]:
    return {"ivr": IvrRoutingTarget}


__all__ = [
    "ERRORS",
    "IVR_POOL",
    "IvrOptionError",
    "IvrOptions",
    "IvrRoutingTarget",
    "parse_options",
    "register_routing_targets",
]
