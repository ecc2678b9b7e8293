"""The plugin author's door: the one module a plugin imports.

Everything a DNC connector, routing target, platform, AMD strategy, pacing
mode, retry policy or metrics exporter needs from the dialer is named here;
nothing else under ``opendialer.core`` is public. Built-in plugins
(``opendialer.plugins``) and the examples in ``opendialer.contrib`` import
only this module (and :mod:`opendialer.testing` in their tests), so they are
written exactly as a third party's plugin is — ``tests/test_plugin_boundary.py``
walks their imports and fails on any other.

::

    from opendialer import sdk

    @sdk.hookimpl
    def register_dnc_providers():
        return {"tps_uk": TpsProvider}
"""

from __future__ import annotations

from opendialer.core.contracts import (
    AmdDecision,
    AmdLabel,
    AmdParameter,
    AmdSession,
    AmdStrategy,
    CallAction,
    CallDisposition,
    CallOutcome,
    CallRequest,
    ClaimsSlots,
    DncProvider,
    DncServiceConfig,
    DncUnavailable,
    DncVerdict,
    Health,
    MaybeAwaitable,
    MetricsExporter,
    PacingMode,
    PacingSnapshot,
    Platform,
    PlatformUnavailable,
    PluginContext,
    PortProbe,
    ProbesServer,
    ReportsStatus,
    RetryPolicy,
    RoutingRequest,
    RoutingTarget,
    TracksTransferredCalls,
    ValidatesOptions,
    masked_url,
)
from opendialer.core.domain import (
    FINAL_LEAD_STATUSES,
    CampaignState,
    LeadStatus,
    ScheduleState,
)
from opendialer.core.hookspecs import PROJECT_NAME, hookimpl, hookspec
from opendialer.core.services.dnc_csv import normalise_e164, parse_numbers
from opendialer.core.services.error_messages import ErrorMessage
from opendialer.core.services.error_messages import register as register_error_messages
from opendialer.core.services.errors import InvalidValue
from opendialer.core.services.phones import SIP_USER_NAME, dial_string, is_dial_string
from opendialer.core.services.routing_reservations import SharedReservations

__all__ = [
    "FINAL_LEAD_STATUSES",
    "PROJECT_NAME",
    "SIP_USER_NAME",
    "AmdDecision",
    "AmdLabel",
    "AmdParameter",
    "AmdSession",
    "AmdStrategy",
    "CallAction",
    "CallDisposition",
    "CallOutcome",
    "CallRequest",
    "CampaignState",
    "ClaimsSlots",
    "DncProvider",
    "DncServiceConfig",
    "DncUnavailable",
    "DncVerdict",
    "ErrorMessage",
    "Health",
    "InvalidValue",
    "LeadStatus",
    "MaybeAwaitable",
    "MetricsExporter",
    "PacingMode",
    "PacingSnapshot",
    "Platform",
    "PlatformUnavailable",
    "PluginContext",
    "PortProbe",
    "ProbesServer",
    "ReportsStatus",
    "RetryPolicy",
    "RoutingRequest",
    "RoutingTarget",
    "ScheduleState",
    "SharedReservations",
    "TracksTransferredCalls",
    "ValidatesOptions",
    "dial_string",
    "hookimpl",
    "hookspec",
    "is_dial_string",
    "masked_url",
    "normalise_e164",
    "parse_numbers",
    "register_error_messages",
]
