"""Which routing target a campaign uses when it names none: the target registered as
the default of its type. Core names no target here — each routing target's factory
declares the campaign types it serves by default::

    class OsccRoutingTarget:
        default_for_campaign_types = ("OSCC",)

A target a third-party plugin registers wins over a built-in one for the same type
(so a distribution can replace the product's default); two third-party targets
claiming one type: the first by name, and a warning says which was left out.
``OPENDIALER_ROUTING`` or a campaign's own ``routing_target`` still win over both.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from opendialer.core.plugins import PluginManager, get_plugin_manager

log = logging.getLogger(__name__)

#: The attribute of a routing target's factory listing the campaign types it is the
#: default target of (documented in ``hookspecs.register_routing_targets``).
DEFAULT_FOR_ATTRIBUTE = "default_for_campaign_types"
#: The attribute of a platform (its factory or an instance) naming the routing target
#: of its own agents (the simulator: ``sim``), which stands in for a campaign type's
#: default target while that is not configured (docs/plugins.md, Platform).
PLATFORM_ROUTING_ATTRIBUTE = "default_routing_target"


def platform_routing_target(platform: object) -> str | None:
    """The routing target a platform declares for its own agents, if any."""
    name = getattr(platform, PLATFORM_ROUTING_ATTRIBUTE, None)
    return name if isinstance(name, str) and name else None


def default_targets(pm: PluginManager | None = None) -> dict[str, str]:
    """``{campaign type: routing target name}`` from the installed routing targets."""
    pm = pm or get_plugin_manager()
    factories = pm.factories("routing_targets")
    builtin = _builtin_target_names(pm)
    claims: dict[str, list[tuple[bool, str]]] = {}
    for name, factory in factories.items():
        types = getattr(factory, DEFAULT_FOR_ATTRIBUTE, ())
        for campaign_type in (types,) if isinstance(types, str) else types:
            claims.setdefault(str(campaign_type), []).append((name in builtin, name))
    chosen: dict[str, str] = {}
    for campaign_type, claimants in claims.items():
        ranked = sorted(claimants)  # third-party (False) before built-in, then by name
        chosen[campaign_type] = ranked[0][1]
        contested = [name for is_builtin, name in ranked[1:] if not is_builtin]
        if contested:
            log.warning(
                "routing_default_contested type=%s chosen=%s ignored=%s",
                campaign_type,
                chosen[campaign_type],
                ",".join(contested),
            )
    return chosen


class SettingsPage(NamedTuple):
    """Where a Master configures a campaign type's default routing target."""

    title: str  # the System tab's page, as messages name it
    path: str


#: The System page of the default routing target of each campaign type (the admin's
#: ``pages/routing.py`` serves them with the fields the target declares). A target
#: that is no type's default is told to be configured at the OSCC one, as ever.
SETTINGS_PAGES = {
    "OSCC": SettingsPage("Contact center", "/system/contact-center"),
    "IVR": SettingsPage("IVR", "/system/ivr"),
}


def settings_page(target: str, pm: PluginManager | None = None) -> SettingsPage:
    """Where a Master configures routing target ``target``."""
    for campaign_type, name in default_targets(pm).items():
        if name == target and campaign_type in SETTINGS_PAGES:
            return SETTINGS_PAGES[campaign_type]
    return SETTINGS_PAGES["OSCC"]


def _builtin_target_names(pm: PluginManager) -> set[str]:
    """The routing targets registered by built-in plugins."""
    names: set[str] = set()
    for impl in pm.hook.register_routing_targets.get_hookimpls():
        info = pm.info(impl.plugin_name)
        if info is None or info.source != "builtin":
            continue
        try:
            answer = impl.function()
        except Exception:  # PluginManager.factories records the failure
            continue
        if isinstance(answer, dict):
            names.update(answer)
    return names
