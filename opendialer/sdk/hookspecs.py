# mypy: disable-error-code="empty-body"
"""Hook specifications: the plugin author's reference.

A plugin is a module or object with functions named like the hooks below and
decorated with :data:`hookimpl`::

    from opendialer import sdk

    @sdk.hookimpl
    def register_dnc_providers():
        return {"tps_uk": TpsProvider}

Built-in plugins (``opendialer.plugins``) are registered exactly this way.
Third-party packages declare an entry point in the group ``opendialer``::

    [project.entry-points.opendialer]
    tps_uk = "opendialer_tps_uk.plugin"

A hook implementation may accept fewer arguments than the specification lists
(pluggy passes only those it names). A misspelled hook name, or an argument the
specification does not have, makes the plugin fail to load with its name and
the reason; the other plugins still load.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import typer

    from opendialer.sdk.contracts import (
        AmdStrategyFactory,
        DncProviderFactory,
        MaybeAwaitable,
        MetricsExporterFactory,
        PacingModeFactory,
        PlatformFactory,
        RetryPolicyFactory,
        RoutingTargetFactory,
    )
    from opendialer.sdk.events import CallRecord, CampaignRecord, LeadRecord

PROJECT_NAME = "opendialer"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# ==========================================================================
# Registration hooks — called once when the dialer starts.
#
# Each returns a mapping ``{short_name: factory}`` (a factory is usually the
# class; its call signature is the ``...Factory`` protocol named in the return
# type, see :mod:`opendialer.sdk.contracts`). The short name is what
# administrators pick in the admin (a DNC service's kind, a campaign's AMD
# strategy, ...). Two plugins returning the same name is a load error naming
# both plugins.
# ==========================================================================


@hookspec
def register_dnc_providers() -> Mapping[str, DncProviderFactory]:
    """Do-Not-Call providers, keyed by service *kind* (``"embedded"``, ``"http"``, ...).

    Each factory is called as ``factory(config=DncServiceConfig, context=PluginContext)``
    and must return a :class:`~opendialer.sdk.DncProvider`.
    A provider for a national list (US National DNC, UK TPS, Brazil's Não Me
    Perturbe) usually imports the list's files into a local index and raises
    :class:`~opendialer.sdk.DncUnavailable` when its data is too old.
    A factory with a ``validate_options``
    (:class:`~opendialer.sdk.ValidatesOptions`) checks a service of its
    kind before the DNC services settings store it.

    :return: ``{kind: factory}``
    """


@hookspec
def register_amd_strategies() -> Mapping[str, AmdStrategyFactory]:
    """Answering-machine detectors, keyed by name (``"numpy"``).

    Each factory is called as ``factory(context=PluginContext)`` and returns an
    :class:`~opendialer.sdk.AmdStrategy`.

    :return: ``{name: factory}``
    """


@hookspec
def register_routing_targets() -> Mapping[str, RoutingTargetFactory]:
    """Where human-answered calls go, keyed by name (``"oscc"``, ``"ivr"``, ``"static"``).

    Each factory is called as ``factory(options=Mapping, context=PluginContext)``
    and returns a :class:`~opendialer.sdk.RoutingTarget`.

    A factory may declare the campaign types whose campaigns it serves when they
    name no target, as a class attribute: ``default_for_campaign_types = ("OSCC",)``
    (the built-in ``oscc`` and ``ivr`` do so). A third-party target declaring a type
    replaces the built-in default of that type. A factory with a ``validate_options``
    (:class:`~opendialer.sdk.ValidatesOptions`) checks its options before
    System → routing settings stores them.

    :return: ``{name: factory}``
    """


@hookspec
def register_platforms() -> Mapping[str, PlatformFactory]:
    """Communication platforms that place calls, keyed by name (``"sip"``, ``"sim"``).

    Each factory is called as ``factory(options=Mapping, context=PluginContext)``
    and returns a :class:`~opendialer.sdk.Platform`.

    :return: ``{name: factory}``
    """


@hookspec
def register_pacing_modes() -> Mapping[str, PacingModeFactory]:
    """Pacing modes, keyed by name (``"progressive"``; later preview, power, predictive).

    Each factory is called as ``factory(context=PluginContext)`` and returns a
    :class:`~opendialer.sdk.PacingMode`.

    :return: ``{name: factory}``
    """


@hookspec
def register_retry_policies() -> Mapping[str, RetryPolicyFactory]:
    """Retry policies, keyed by name (``"default"``).

    Each factory is called as ``factory(context=PluginContext)`` and returns a
    :class:`~opendialer.sdk.RetryPolicy`.

    :return: ``{name: factory}``
    """


@hookspec
def register_metrics_exporters() -> Mapping[str, MetricsExporterFactory]:
    """Metrics exporters, keyed by name (``"prometheus"``).

    Each factory is called as ``factory(context=PluginContext)`` and returns a
    :class:`~opendialer.sdk.MetricsExporter`; the web app serves its
    ``render()`` at ``GET /metrics`` (``"prometheus"`` when installed, else the
    first by name). One exporter per process: the web app and the engine of
    ``serve --role all`` share it.

    :return: ``{name: factory}``
    """


@hookspec
def register_commands(app: typer.Typer) -> None:
    """Add commands to the ``opendialer`` CLI.

    Called while the CLI is built, before arguments are parsed::

        @hookimpl
        def register_commands(app):
            @app.command("tps-sync")
            def tps_sync(): ...

    :param app: the root :class:`typer.Typer` application; add commands or sub-apps.
    """


# ==========================================================================
# Event hooks — called by the engine as things happen.
#
# Observers only: they cannot change the outcome. An implementation may
# return an awaitable; the engine awaits it with a timeout of 5 seconds.
# An exception is logged with the plugin's name and never stops dialing.
# Keep them quick: they run on the dialer's event loop. They are called
# through pluggy, so ``tryfirst``/``trylast`` order them and a
# ``wrapper=True`` implementation sees every call (and the results).
# ==========================================================================


@hookspec
def call_finished(call: CallRecord) -> MaybeAwaitable:
    """One call attempt ended (or was blocked by DNC), after its record was stored.

    :param call: the call record as the JSON API shows it
        (:class:`~opendialer.sdk.CallRecord`: ``call.status``, ``call.amd_verdict``,
        ...; also readable as a mapping, ``call["status"]``).
    """


@hookspec
def lead_status_changed(lead: LeadRecord, old_status: str, new_status: str) -> MaybeAwaitable:
    """A lead's status changed (stored already).

    :param lead: the lead as the JSON API shows it (:class:`~opendialer.sdk.LeadRecord`).
    :param old_status: a :class:`~opendialer.sdk.LeadStatus` value.
    :param new_status: a :class:`~opendialer.sdk.LeadStatus` value.
    """


@hookspec
def campaign_state_changed(
    campaign: CampaignRecord, old_state: str, new_state: str, reason: str
) -> MaybeAwaitable:
    """A campaign was started or stopped, by a person or by its schedule ending.

    :param campaign: the campaign as the JSON API shows it
        (:class:`~opendialer.sdk.CampaignRecord`).
    :param old_state: ``"STARTED"`` or ``"STOPPED"``.
    :param new_state: ``"STARTED"`` or ``"STOPPED"``.
    :param reason: who or what changed it, e.g. ``"user:alice"``, ``"schedule ended"``.
    """


# ==========================================================================
# Hot-path event hooks — called synchronously where dialing happens.
#
# Unlike the hooks above these are not awaited: an implementation must be a
# quick synchronous function (count something, put it on a queue). If it
# returns an awaitable anyway, that is run as a background task so it can
# never delay a call. Exceptions are logged with the plugin's name.
# ==========================================================================


@hookspec
def call_originated(call_id: str, campaign_id: int, attempt: int, node: str) -> None:
    """The engine is handing a call to the platform now (its record is stored, in flight).

    :param call_id: the call's id (``call_record.call_id``).
    :param campaign_id: the campaign it dials for.
    :param attempt: the lead's attempt number (1-based).
    :param node: the engine node placing it.
    """


@hookspec
def call_refused(call_id: str, campaign_id: int, node: str, reason: str) -> None:
    """The platform refused a call just handed to it, before sending anything.

    Follows :func:`call_originated` for the same ``call_id``. Nothing was dialed (no
    free port, platform down): the attempt is undone — no call record — and the lead
    is dialed on a later round, under a new ``call_id``.

    :param call_id: the refused call's id.
    :param campaign_id: the campaign it was for.
    :param node: the engine node that handed it over.
    :param reason: the platform's reason, for logs.
    """


@hookspec
def dnc_checked(service: str, result: str, seconds: float) -> None:
    """The engine asked a Do-Not-Call service about a number.

    :param service: the service's name as configured (``dnc_service.name``).
    :param result: ``"callable"``, ``"blocked"`` or ``"unavailable"`` (no trustworthy
        answer: the engine dials nothing).
    :param seconds: how long the provider took to answer (wall clock).
    """
