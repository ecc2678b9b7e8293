"""The :class:`~opendialer.sdk.PluginContext` the engine hands to plugins."""

from __future__ import annotations

from opendialer.core.plugin_context import DialerContext

#: The context the engine hands to plugins (settings: ``node_id``, ``dead_after_s``,
#: ``routing_refresh_s``; ``wake_pacer`` wakes this engine's pacer).
EngineContext = DialerContext

__all__ = ["EngineContext"]
