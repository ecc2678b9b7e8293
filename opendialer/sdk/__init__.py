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

What is here, by the plugin author's need:

* the hooks (:mod:`opendialer.sdk.hookspecs`, the reference) and ``hookimpl``;
* the contracts and their factory signatures (:mod:`opendialer.sdk.contracts`):
  ``DncProvider``/``DncProviderFactory``, ``RoutingTarget``, ``Platform``,
  ``AmdStrategy``, ``PacingMode``, ``RetryPolicy``, ``MetricsExporter``;
  the :class:`PluginContext` every factory receives (``PluginSettings`` lists
  its settings keys) and the :class:`EngineView` an exporter reads;
* the event payloads (:mod:`opendialer.sdk.events`): ``CallRecord``,
  ``LeadRecord``, ``CampaignRecord``;
* for routing targets: :class:`SharedReservations` (slots held across engine nodes);
* for DNC providers: number normalisation (:func:`normalise_e164`,
  :func:`parse_numbers`), :class:`NumberIndex`, and the embedded lists
  (:mod:`opendialer.sdk.dnc_lists`);
* for exporters and plugin CLIs (:mod:`opendialer.sdk.dialer`):
  :func:`dialing_overview`, :func:`started_dnc_providers`, :func:`open_database`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from opendialer.core.domain import (
    FINAL_LEAD_STATUSES,
    CampaignState,
    LeadStatus,
    ScheduleState,
)
from opendialer.sdk.contracts import (
    AgentsState,
    AmdDecision,
    AmdLabel,
    AmdParameter,
    AmdSession,
    AmdStrategy,
    AmdStrategyFactory,
    CallAction,
    CallDisposition,
    CallOutcome,
    CallRequest,
    CampaignPacingState,
    ClaimsSlots,
    DncProvider,
    DncProviderFactory,
    DncServiceConfig,
    DncUnavailable,
    DncVerdict,
    EngineView,
    FindsMessagePoint,
    Health,
    MaybeAwaitable,
    MessagePoint,
    MessagePointKind,
    MessagePointTracker,
    MetricsExporter,
    MetricsExporterFactory,
    PacingModeFactory,
    Platform,
    PlatformFactory,
    PlatformUnavailable,
    PluginContext,
    PluginSettings,
    PortProbe,
    ProbesServer,
    ReportsAgents,
    ReportsStatus,
    RetryPolicy,
    RetryPolicyFactory,
    RoutingRequest,
    RoutingTarget,
    RoutingTargetFactory,
    TracksTransferredCalls,
    ValidatesOptions,
    WaitsForAgents,
    masked_url,
)
from opendialer.sdk.events import CallRecord, CampaignRecord, LeadRecord
from opendialer.sdk.hookspecs import PROJECT_NAME, hookimpl, hookspec
from opendialer.sdk.number_index import NumberIndex, Numbers, sorted_unique
from opendialer.sdk.pacing import (
    ABANDON_WINDOWS,
    AbandonBudget,
    AgentSample,
    CallsInFlight,
    Distribution,
    EndedCall,
    ExplainsPacing,
    OutcomeStats,
    PacingDecision,
    PacingMode,
    PacingSettings,
    PacingSnapshot,
)

if TYPE_CHECKING:
    from opendialer.core.health.model import CheckResult
    from opendialer.core.health.model import Status as CheckStatus
    from opendialer.core.health.platform_checks import DiagnosesPlatform, PlatformDiagnosis
    from opendialer.core.services.dnc_csv import normalise_e164, parse_numbers
    from opendialer.core.services.error_messages import ErrorMessage
    from opendialer.core.services.error_messages import register as register_error_messages
    from opendialer.core.services.errors import InvalidValue
    from opendialer.core.services.phones import SIP_USER_NAME, dial_string, is_dial_string
    from opendialer.core.services.plugin_database import PluginDatabase, plugin_database
    from opendialer.core.services.shared_reservations import (
        DEFAULT_REFRESH_S,
        SharedReservations,
    )
    from opendialer.sdk import dnc_lists
    from opendialer.sdk.dialer import (
        CampaignOverview,
        DatabaseUrlError,
        DialingOverview,
        ServiceError,
        dialing_overview,
        open_database,
        started_dnc_providers,
    )
    from opendialer.sdk.options import (
        EditsOptions,
        HasOptionPage,
        OptionError,
        OptionField,
        OptionProblems,
        OptionSection,
        OptionsInvalid,
        checked_ca_bundle,
        checked_url,
    )

# Names backed by the dialer's services are imported on first use: the core imports
# this package's contracts and hooks, so importing its services here would be a cycle.
_LAZY = {
    # -- Options (ValidatesOptions, sdk/options.py): a refused option names itself;
    # several at once; the fields of options a form edits.
    "OptionError": "opendialer.sdk.options",
    "OptionProblems": "opendialer.sdk.options",
    "OptionsInvalid": "opendialer.sdk.options",
    "checked_ca_bundle": "opendialer.sdk.options",
    "checked_url": "opendialer.sdk.options",
    "EditsOptions": "opendialer.sdk.options",
    "OptionField": "opendialer.sdk.options",
    "OptionSection": "opendialer.sdk.options",
    "HasOptionPage": "opendialer.sdk.options",
    # -- Coded errors: a plugin's messages, keyed by code (docs/errors.md).
    "ErrorMessage": "opendialer.core.services.error_messages",
    "register_error_messages": "opendialer.core.services.error_messages:register",
    "InvalidValue": "opendialer.core.services.errors",
    "normalise_e164": "opendialer.core.services.dnc_csv",
    "parse_numbers": "opendialer.core.services.dnc_csv",
    "SIP_USER_NAME": "opendialer.core.services.phones",
    "dial_string": "opendialer.core.services.phones",
    "is_dial_string": "opendialer.core.services.phones",
    "DEFAULT_REFRESH_S": "opendialer.core.services.shared_reservations",
    "SharedReservations": "opendialer.core.services.shared_reservations",
    "CampaignOverview": "opendialer.sdk.dialer",
    "DatabaseUrlError": "opendialer.sdk.dialer",
    "DialingOverview": "opendialer.sdk.dialer",
    "ServiceError": "opendialer.sdk.dialer",
    "dialing_overview": "opendialer.sdk.dialer",
    "open_database": "opendialer.sdk.dialer",
    "started_dnc_providers": "opendialer.sdk.dialer",
    # -- platform plugins: options a Master edits, a doctor check, the database door.
    "CheckResult": "opendialer.core.health.model",
    "CheckStatus": "opendialer.core.health.model:Status",
    "DiagnosesPlatform": "opendialer.core.health.platform_checks",
    "PlatformDiagnosis": "opendialer.core.health.platform_checks",
    "PluginDatabase": "opendialer.core.services.plugin_database",
    "plugin_database": "opendialer.core.services.plugin_database",
}


def __getattr__(name: str) -> Any:
    if name == "dnc_lists":
        return importlib.import_module("opendialer.sdk.dnc_lists")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'opendialer.sdk' has no attribute {name!r}")
    module, _, attribute = module.partition(":")
    value = getattr(importlib.import_module(module), attribute or name)
    globals()[name] = value
    return value


__all__ = [
    "ABANDON_WINDOWS",
    "DEFAULT_REFRESH_S",
    "FINAL_LEAD_STATUSES",
    "PROJECT_NAME",
    "SIP_USER_NAME",
    "AbandonBudget",
    "AgentSample",
    "AgentsState",
    "AmdDecision",
    "AmdLabel",
    "AmdParameter",
    "AmdSession",
    "AmdStrategy",
    "AmdStrategyFactory",
    "CallAction",
    "CallDisposition",
    "CallOutcome",
    "CallRecord",
    "CallRequest",
    "CallsInFlight",
    "CampaignOverview",
    "CampaignPacingState",
    "CampaignRecord",
    "CampaignState",
    "ClaimsSlots",
    "DatabaseUrlError",
    "DialingOverview",
    "Distribution",
    "DncProvider",
    "DncProviderFactory",
    "DncServiceConfig",
    "DncUnavailable",
    "DncVerdict",
    "EndedCall",
    "EngineView",
    "ErrorMessage",
    "ExplainsPacing",
    "FindsMessagePoint",
    "Health",
    "InvalidValue",
    "LeadRecord",
    "LeadStatus",
    "MaybeAwaitable",
    "MessagePoint",
    "MessagePointKind",
    "MessagePointTracker",
    "MetricsExporter",
    "MetricsExporterFactory",
    "NumberIndex",
    "Numbers",
    "OptionError",
    "OptionProblems",
    "OutcomeStats",
    "PacingDecision",
    "PacingMode",
    "PacingModeFactory",
    "PacingSettings",
    "PacingSnapshot",
    "Platform",
    "PlatformFactory",
    "PlatformUnavailable",
    "PluginContext",
    "PluginSettings",
    "PortProbe",
    "ProbesServer",
    "ReportsAgents",
    "ReportsStatus",
    "RetryPolicy",
    "RetryPolicyFactory",
    "RoutingRequest",
    "RoutingTarget",
    "RoutingTargetFactory",
    "ScheduleState",
    "ServiceError",
    "SharedReservations",
    "TracksTransferredCalls",
    "ValidatesOptions",
    "WaitsForAgents",
    "checked_ca_bundle",
    "checked_url",
    "dial_string",
    "dialing_overview",
    "dnc_lists",
    "hookimpl",
    "hookspec",
    "is_dial_string",
    "masked_url",
    "normalise_e164",
    "open_database",
    "parse_numbers",
    "register_error_messages",
    "sorted_unique",
    "started_dnc_providers",
]

__all__ += [
    "CheckResult",
    "CheckStatus",
    "DiagnosesPlatform",
    "EditsOptions",
    "HasOptionPage",
    "OptionField",
    "OptionSection",
    "OptionsInvalid",
    "PlatformDiagnosis",
    "PluginDatabase",
    "plugin_database",
]
