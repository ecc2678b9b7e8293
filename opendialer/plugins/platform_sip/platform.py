"""``SipPlatform``: the :class:`~opendialer.sdk.Platform` over SIP — a facade.

(Over 400 lines: what is left here is what touches the signalling endpoint —
start/close, health, originate, applying a configuration — and reads best in
one place; ports and leases, registrations, the configuration follower,
options and diagnosis are their own modules.)

Owns the SIP endpoint, the registrations of the dialer ports, the RTP port
range and the platform's health; the ports themselves (which are this node's,
which are busy, their leases) are a :class:`~.port_pool.PortPool`, and following
the stored configuration is a :class:`~.config_follower.ConfigFollower`.
``originate`` takes a free port, opens an RTP socket, runs one :class:`SipCall`
and gives both back, whatever happens.

Configuration changes apply without a restart: ``apply_config`` (or the
``config_source`` option, polled every ``config_poll_s``) adds and removes
ports, re-registers changed accounts, and moves new calls to a new endpoint
when server or transport change (calls in progress finish on the old one; each
port's binding is removed at the old server, through the old endpoint, before
the port registers through the new one).

Health (``health.py``): the platform goes down on unanswered requests to the
server itself (INVITE/REGISTER/OPTIONS Timers B/F, three in a row) or a
connection that cannot be made, never on a lost in-dialog request; the OPTIONS
probe runs while in doubt and brings it up again at its first answer.
Without any configuration yet (nothing saved on System → Communication
platform) the platform starts "not configured" — down, originating nothing —
and comes up when the configuration source first returns one.

Several engine nodes: with a ``port_leases`` option (a ``PortLeaser``), or a
``database`` option (the SDK's database door, which the engine gives a platform
that edits its options: then ``leases.PortLeases`` for the context's ``node_id``
and ``dead_after_s``), the node registers and dials only the ports it leases;
the leaser splits them between live nodes.

The class also carries what the admin and doctor use without a running
platform (``sdk.EditsOptions``, ``sdk.DiagnosesPlatform``, ``sdk.ProbesServer``):
``option_fields``/``validate_options``/``shown_options``/``describe_options``
(``options.py``), ``diagnose`` (``diagnosis.py``) and ``probe_server`` (``probe.py``).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Mapping
from dataclasses import replace
from typing import Any

from opendialer.plugins.platform_sip import options as editable
from opendialer.plugins.platform_sip.amd_streams import AmdStreams, StreamClock
from opendialer.plugins.platform_sip.call import CallSetup, SipCall
from opendialer.plugins.platform_sip.config import SipAccount, SipConfig, Tunables
from opendialer.plugins.platform_sip.config_follower import ConfigFollower, ConfigSource
from opendialer.plugins.platform_sip.diagnosis import diagnose
from opendialer.plugins.platform_sip.health import ServerHealth, WatchedEndpoint
from opendialer.plugins.platform_sip.leases import PortLeases
from opendialer.plugins.platform_sip.option_messages import N_
from opendialer.plugins.platform_sip.port_pool import PortLeaser, PortPool
from opendialer.plugins.platform_sip.probe import probe_server
from opendialer.plugins.platform_sip.refusals import REFUSAL_REASONS, RefusalLog
from opendialer.plugins.platform_sip.registration import RegistrationPolicy
from opendialer.plugins.platform_sip.registrations import Registrations
from opendialer.plugins.platform_sip.rtp import RtpEndpoint, RtpPortAllocator, RtpTicker
from opendialer.plugins.platform_sip.signalling import SipEndpoint, options_request
from opendialer.plugins.platform_sip.transactions import Timers
from opendialer.sdk import AmdDecision, CallOutcome, CallRequest, Health, PlatformUnavailable

log = logging.getLogger(__name__)

NOT_CONFIGURED = "no communication platform configured: set it in System → Communication platform"


class SipPlatform:
    """Constructed as ``SipPlatform(options, context)``; ``options["config"]`` (or
    ``options`` itself when it has a ``server``) holds the JSON of ``/api/v1/platform``
    — absent or None: not configured yet —, the other keys are :class:`Tunables`
    plus an optional async ``config_source``, ``port_leases`` and ``database``."""

    #: Honours ``CallRequest.claim_agent`` and plays ``safe_harbour_ulaw``
    #: (``sdk.WaitsForAgents``, ``agent_wait.py``): over-dialing pacing may use it.
    waits_for_agents = True
    #: ``opendialer doctor``: query the server without placing calls (``sdk.ProbesServer``).
    probe_server = staticmethod(probe_server)
    #: ``opendialer doctor`` and Diagnostics: the ``sip`` check (``sdk.DiagnosesPlatform``).
    diagnose = staticmethod(diagnose)
    #: System → Communication platform and ``/api/v1/platform`` (``sdk.EditsOptions``).
    #: How System → Communication platform and Diagnostics name it (message ids).
    label = N_("SIP server")
    description = N_(
        "Real calls through your SIP server or SBC (e.g. OpenScape Voice), configured below."
    )
    diagnosis_title = N_("SIP registrations")
    option_fields = editable.OPTION_FIELDS
    validate_options = staticmethod(editable.validate_options)
    shown_options = staticmethod(editable.shown_options)
    describe_options = staticmethod(editable.describe_options)

    def __init__(self, options: Mapping[str, Any] | None = None, context: Any = None) -> None:
        options = dict(options or {})
        raw = options.get("config", options if "server" in options else None)
        self.config: SipConfig | None = None if raw is None else SipConfig.from_mapping(raw)
        self.tunables = Tunables.from_options(options)
        source: ConfigSource | None = options.get("config_source")
        self._follower = (
            None
            if source is None
            else ConfigFollower(source, self.apply_config, self.tunables.config_poll_s)
        )
        self._ports = PortPool(
            licensed_ports=self.tunables.licensed_ports,
            leaser=self._leaser_of(options, context),
            renew_s=self.tunables.port_lease_renew_s,
            on_given_up=self._stop_registration,
            after_round=self._after_lease_round,
        )
        self._ports.config = self.config
        self._context = context
        self.timers = Timers(t1=self.tunables.t1_s, t4=self.tunables.t4_s)
        self._endpoint: SipEndpoint | None = None
        self._endpoint_calls: dict[SipEndpoint, int] = {}
        self._rtp = self._rtp_allocator(self.config)
        self._rtp_ticker = RtpTicker()  # paces every call's outbound silence
        self._registrations = Registrations(
            RegistrationPolicy(
                expires_s=self.tunables.register_expires_s,
                backoff_s=self.tunables.register_backoff_s,
                backoff_max_s=self.tunables.register_backoff_max_s,
            ),
            self._current_endpoint,
        )
        self._health = ServerHealth(on_doubt=self._start_probe)
        # One count of refused messages for the platform's life, shared by its endpoints:
        # a change of server or transport must not set a Prometheus counter back to 0.
        self._refusals = RefusalLog()
        self._tasks: set[asyncio.Task[None]] = set()
        self._probe_task: asyncio.Task[None] | None = None
        self._started = False
        self._closing = False
        self.calls_in_flight = 0
        self.rtp_packets = 0  # answer-audio packets decoded, all calls so far
        self.rtp_packets_sent = 0  # RTP sent (silence, messages), all calls so far
        self._amd_streams = AmdStreams()

    @staticmethod
    def _leaser_of(options: Mapping[str, Any], context: Any) -> PortLeaser | None:
        """``port_leases`` as given, or leases in the engine's ``database`` for this node."""
        leaser: PortLeaser | None = options.get("port_leases")
        database = options.get("database")
        settings = getattr(context, "settings", None) or {}
        if leaser is None and database is not None and settings.get("node_id"):
            dead_after_s = float(settings.get("dead_after_s") or 15.0)
            leaser = PortLeases(
                database, str(settings["node_id"]), lease_s=dead_after_s, dead_after_s=dead_after_s
            )
        return leaser

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self.config is None and self._follower is not None:
            await self._follower.read_once()
        if self.config is not None:
            self._endpoint = await self._new_endpoint(self.config)
        else:
            log.warning("sip.not_configured detail=%s", self._unconfigured_detail())
        self._started = True
        if self._ports.shared:
            await self._ports.renew()
            self._spawn(self._ports.follow(), "sip-port-leases")
        self._sync_registrations()
        if self._follower is not None:
            self._spawn(self._follower.follow(), "sip-config-poll")

    async def close(self) -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._registrations.stop_all()
        await self._ports.release_all()
        for endpoint in list(self._endpoint_calls):
            await endpoint.close()
        self._endpoint_calls.clear()
        self._endpoint = None
        self._started = False

    def _spawn(self, coro: Awaitable[None], name: str) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _new_endpoint(self, config: SipConfig) -> SipEndpoint:
        tls_context: ssl.SSLContext | None = None
        if config.transport == "tls":
            tls_context = ssl.create_default_context(cafile=self.tunables.tls_ca_file)
            tls_context.minimum_version = ssl.TLSVersion.TLSv1_2
        endpoint = WatchedEndpoint(
            health=self._health,
            server=(config.server_host, config.server_port),
            transport=config.transport,
            timers=self.timers,
            bind_host=self.tunables.bind_host,
            bind_port=self.tunables.sip_port,
            advertised_host=self.tunables.advertised_host,
            tls_context=tls_context,
        )
        endpoint.refusals = self._refusals
        try:
            await endpoint.start()
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            cannot_bind = config.transport == "udp" and endpoint.local_port == 0
            if self.tunables.sip_port and isinstance(exc, OSError) and cannot_bind:
                reason = (
                    f"cannot listen on SIP port {self.tunables.bind_host}:{self.tunables.sip_port}"
                    f" ({exc}): another engine node on this host may use it — give each node "
                    "its own sip_port"
                )
            else:
                reason = f"cannot reach {config.server_host}:{config.server_port}: {exc}"
            self._health.unreachable(reason)
        self._endpoint_calls[endpoint] = 0
        return endpoint

    # ------------------------------------------------------------ health

    # What decides it is ``health.py`` (the rule is in its docstring and docs/sip.md);
    # here is the probe it starts when in doubt.

    def _start_probe(self) -> None:
        if self._probe_task is None and not self._closing:
            self._probe_task = self._spawn(self._probe(), "sip-probe")

    async def _probe(self) -> None:
        """OPTIONS to the server every ``probe_interval_s`` while in doubt or down.

        Its answers and timeouts reach the health through the endpoint (an
        answered OPTIONS is what brings a down platform up); a TCP/TLS
        connection that cannot be made is reported from here."""
        try:
            while self._health.in_doubt and not self._closing:
                endpoint, config = self._endpoint, self.config
                if endpoint is None or config is None:
                    return
                if endpoint.reliable and not await endpoint.ensure_connected():
                    self._health.unreachable(
                        f"cannot connect to {config.server_host}:{config.server_port}"
                        f" ({config.transport})"
                    )
                    await asyncio.sleep(self.tunables.probe_interval_s / 2)  # + the one below
                else:
                    request = options_request(endpoint, config.domain, self._first_user())
                    await endpoint.request(request, timeout_s=self.tunables.probe_interval_s).final
                if self._health.in_doubt:
                    await asyncio.sleep(self.tunables.probe_interval_s / 2)
        finally:
            self._probe_task = None

    def _first_user(self) -> str:
        ports = self._ports.mine() or self._ports.licensed()
        return ports[0].user if ports else "opendialer"

    def _unconfigured_detail(self) -> str:
        problem = None if self._follower is None else self._follower.problem
        if problem is not None:
            return (
                f"communication platform configuration refused: {problem} "
                "(fix it in System → Communication platform)"
            )
        return NOT_CONFIGURED

    def health(self) -> Health:
        if not self._started:
            return Health(ok=False, detail="SIP platform not started")
        if self.config is None:
            return Health(ok=False, detail=self._unconfigured_detail())
        if self._health.down_reason is not None:
            return Health(ok=False, detail=self._health.down_reason, since=self._health.down_since)
        if not self._ports.licensed():
            return Health(
                ok=False, detail="no dialer port configured (System → Communication platform)"
            )
        ports = self._ports.mine()
        if not ports:
            return Health(
                ok=False,
                detail=f"none of the {len(self._ports.licensed())} dialer ports is leased to "
                "this engine node (other nodes hold them; see docs/scaling.md)",
            )
        if self.config.register:
            registered = sum(1 for a in ports if self._port_ready(a))
            if registered == 0:
                failed = self._registrations.first_detail("registering")
                return Health(ok=False, detail=f"no port registered: {failed}")
            return Health(ok=True, detail=f"{registered} of {len(ports)} ports registered")
        return Health(ok=True, detail=f"{len(ports)} ports (no registration)")

    def registrations(self) -> list[dict[str, object]]:
        """Per port: registration state for the admin's Diagnostics page."""
        rows: list[dict[str, object]] = []
        register = self.config is not None and self.config.register
        for account in self._ports.mine():
            registration = self._registrations.get(account.user)
            row: dict[str, object] = (
                registration.as_dict()
                if registration is not None
                else {
                    "user": account.user,
                    "state": "not_required" if not register else "unregistered",
                }
            )
            row["in_call"] = account.user in self._ports.busy
            rows.append(row)
        return rows

    # ------------------------------------------------------------ ports

    def _port_ready(self, account: SipAccount) -> bool:
        if self.config is None:
            return False
        if not self.config.register:
            return True
        registration = self._registrations.get(account.user)
        return registration is not None and registration.registered

    def free_ports(self) -> int:
        if not self.health().ok:
            return 0
        return min(self._ports.free(self._port_ready), self._rtp.free)

    # ------------------------------------------------------------ calls

    async def originate(self, request: CallRequest) -> CallOutcome:
        health = self.health()
        config = self.config
        if self._closing or not health.ok or config is None:
            raise PlatformUnavailable(f"SIP platform unavailable: {health.detail or 'closing'}")
        account = self._ports.take(self._port_ready)
        if account is None:
            raise PlatformUnavailable(
                f"no free SIP port: {len(self._ports.busy)} of {len(self._ports.mine())} in use"
            )
        endpoint = self._endpoint
        assert endpoint is not None
        rtp: RtpEndpoint | None = None
        try:
            if endpoint.reliable and not await endpoint.ensure_connected():
                self._health.unreachable(
                    f"cannot connect to {config.server_host}:{config.server_port}"
                )
                raise PlatformUnavailable("SIP platform unavailable: cannot connect to the server")
            rtp = await RtpEndpoint.open(
                self._rtp, self.tunables.bind_host, self.tunables.rtp_batch_ms, self._rtp_ticker
            )
            if rtp is None:
                low, high = self.tunables.rtp_range(config)
                raise PlatformUnavailable(f"no free RTP port in {low}..{high}")
        except BaseException:
            self._ports.release(account.user)
            raise
        if request.no_answer_timeout_s <= 0:
            request = replace(request, no_answer_timeout_s=config.no_answer_timeout_s)
        if request.caller_id is None and config.caller_id:
            request = replace(request, caller_id=config.caller_id)
        setup = CallSetup(
            endpoint,
            account,
            config.domain,
            rtp,
            self.tunables,
            config.redirect_hops,
            self._amd_streams,
        )
        self._endpoint_calls[endpoint] = self._endpoint_calls.get(endpoint, 0) + 1
        self.calls_in_flight += 1
        call = SipCall(request, setup)
        try:
            outcome = await call.run()
        finally:
            rtp.close()
            self.rtp_packets += rtp.packets
            self.rtp_packets_sent += rtp.sent
            self.calls_in_flight -= 1
            self._ports.release(account.user)
            self._endpoint_calls[endpoint] -= 1
            await self._retire_if_idle(endpoint)
        clock = call.amd_clock
        log.info(
            "sip.call_end call=%s port=%s disposition=%s code=%s amd=%s transfer=%s detail=%s%s",
            request.call_id,
            outcome.port,
            outcome.disposition.value,
            outcome.sip_code,
            outcome.amd.label.value if outcome.amd else None,
            outcome.transfer_code,
            outcome.detail,
            "" if clock is None else _amd_timing(clock, outcome.amd),
        )
        return outcome

    async def _retire_if_idle(self, endpoint: SipEndpoint) -> None:
        if endpoint is not self._endpoint and self._endpoint_calls.get(endpoint) == 0:
            del self._endpoint_calls[endpoint]
            await endpoint.close()

    # ------------------------------------------------------------ configuration

    async def apply_config(self, data: Mapping[str, Any] | SipConfig) -> None:
        """Apply a changed configuration now; calls in progress are not disturbed."""
        new = data if isinstance(data, SipConfig) else SipConfig.from_mapping(data)
        old = self.config
        if self._follower is not None:
            self._follower.problem = None
        if new == old:
            return
        if old is None:  # the first configuration: come up, endpoint first
            if self._started and self._endpoint is None:
                self._endpoint = await self._new_endpoint(new)
            self._rtp = self._rtp_allocator(new)
            self.config = self._ports.config = new
            if self._started and self._ports.shared:
                await self._ports.renew()
            self._sync_registrations()
            log.info("sip.configured ports=%d register=%s", len(new.ports), new.register)
            return
        self.config = self._ports.config = new
        self._ports.wake()  # the set of ports may have changed: share them out now
        if self.tunables.rtp_range(new) != self.tunables.rtp_range(old):
            self._rtp = self._rtp_allocator(new)
        restart_all = new.signalling_key != old.signalling_key or new.domain != old.domain
        moved = new.signalling_key != old.signalling_key and self._started
        previous = self._endpoint
        if moved:
            if isinstance(previous, WatchedEndpoint):
                previous.watched = False  # what it loses from now on is not the new server's
            self._health.reset()
            self._endpoint = await self._new_endpoint(new)
        # Every binding is removed through the endpoint and with the Contact that made it
        # (PortRegistration.binding) — the old server over the old transport — before
        # the port registers again through the new endpoint (_sync_registrations).
        if restart_all or not new.register:
            await self._registrations.stop_all()
        else:
            await self._registrations.stop_changed(new.ports)
        if moved and previous is not None:
            await self._retire_if_idle(previous)
        self._sync_registrations()
        log.info("sip.config_applied ports=%d register=%s", len(new.ports), new.register)

    def _sync_registrations(self) -> None:
        if self.config is None or not self.config.register or self._endpoint is None:
            return
        self._registrations.sync(self._ports.mine(), self.config.domain)

    def _current_endpoint(self) -> SipEndpoint:
        assert self._endpoint is not None
        return self._endpoint

    # ------------------------------------------------------------ ports shared by nodes

    def _rtp_allocator(self, config: SipConfig | None) -> RtpPortAllocator:
        if config is None:
            return RtpPortAllocator(0, -1)  # nothing to bind before a configuration
        return RtpPortAllocator(*self.tunables.rtp_range(config))

    async def _stop_registration(self, user: str) -> None:
        """A port given back to the other nodes: unregistered before another may register it."""
        await self._registrations.stop(user)

    async def _after_lease_round(self, done: bool) -> None:
        await self._registrations.keep_only({a.user for a in self._ports.mine()})
        if done:
            self._sync_registrations()

    # ------------------------------------------------------------ introspection

    def stats(self) -> dict[str, int]:
        """Counters for tests and benchmarks (open transactions, dialogs, RTP ports)."""
        endpoint = self._endpoint
        return {
            "calls_in_flight": self.calls_in_flight,
            "amd_streams": self._amd_streams.active,
            "rtp_packets": self.rtp_packets,
            "busy_ports": len(self._ports.busy),
            "rtp_ports_free": self._rtp.free,
            "rtp_ports_total": self._rtp.size,
            "rtp_packets_sent": self.rtp_packets_sent,
            "rtp_streams_sending": self._rtp_ticker.streams,
            "open_dialogs": endpoint.open_dialogs if endpoint else 0,
            "open_transactions": endpoint.open_transactions if endpoint else 0,
            "dropped_datagrams": self._refusals.total,
        }

    def amd_streams(self) -> dict[str, Any]:
        """AMD streams running now and the processing lag of every feed so far
        (:meth:`AmdStreams.snapshot`); the Prometheus exporter reads it, when a platform
        has it, as ``opendialer_amd_streams`` and ``opendialer_amd_processing_lag_seconds``."""
        return self._amd_streams.snapshot()

    def refused_messages(self) -> dict[str, int]:
        """SIP messages refused since the platform started, per reason (every reason in
        ``refusals.REFUSAL_REASONS``, 0 included), whichever endpoint refused them.

        The Prometheus exporter reads it, when a platform has it, as
        ``opendialer_sip_messages_refused_total{reason}`` (docs/metrics.md)."""
        counted = self._refusals.by_reason
        reasons = (*REFUSAL_REASONS, *sorted(set(counted) - set(REFUSAL_REASONS)))
        return {reason: counted.get(reason, 0) for reason in reasons}


def _amd_timing(clock: StreamClock, decision: AmdDecision | None) -> str:
    """`` amd_ms=… amd_lag_ms=… amd_delay_ms=…`` for the call's log line: the verdict's
    audio time, the worst processing lag, and how long after its audio the verdict came."""
    delay = clock.verdict_delay_s
    return (
        f" amd_ms={decision.decision_ms if decision else None}"
        f" amd_lag_ms={1000 * clock.worst_lag_s:.1f}"
        f" amd_delay_ms={'None' if delay is None else f'{1000 * delay:.1f}'}"
    )
