"""``SipPlatform``: the :class:`~opendialer.core.contracts.Platform` over SIP.

Owns the SIP endpoint, the dialer ports (accounts) and their registrations,
the RTP port range, and the platform's health. ``originate`` takes a free
port, opens an RTP socket, runs one :class:`SipCall` and gives both back,
whatever happens.

Configuration changes apply without a restart: ``apply_config`` (or the
``config_source`` option, polled every ``config_poll_s``) adds and removes
ports, re-registers changed accounts, and moves new calls to a new endpoint
when server or transport change (calls in progress finish on the old one).
Without any configuration yet (nothing saved on System → Communication
platform) the platform starts "not configured" — down, originating nothing —
and comes up when the configuration source first returns one.

Several engine nodes: with a ``port_leases`` option (``PortLeaser``, built by
the engine from ``core/services/port_leases.py``) the node registers and dials
only the ports it leases; the leaser splits them between live nodes.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from opendialer.core.contracts import (
    CallOutcome,
    CallRequest,
    Health,
    PlatformUnavailable,
)
from opendialer.plugins.platform_sip.call import CallSetup, SipCall
from opendialer.plugins.platform_sip.config import SipAccount, SipConfig, Tunables
from opendialer.plugins.platform_sip.probe import probe_server
from opendialer.plugins.platform_sip.registration import PortRegistration, RegistrationPolicy
from opendialer.plugins.platform_sip.rtp import RtpEndpoint, RtpPortAllocator, RtpTicker
from opendialer.plugins.platform_sip.signalling import SipEndpoint, options_request
from opendialer.plugins.platform_sip.transactions import Timers

log = logging.getLogger(__name__)

ConfigSource = Callable[[], Awaitable[Mapping[str, Any] | None]]

NOT_CONFIGURED = "no communication platform configured: set it in System → Communication platform"


class PortLeaser(Protocol):
    """Shares the configured ports between engine nodes (``port_leases`` option)."""

    #: A lease not renewed for this long is another node's to take.
    lease_s: float

    async def lease(
        self, wanted: Sequence[str], give_up: Callable[[str], Awaitable[bool]]
    ) -> frozenset[str]:
        """Renew, give back or claim; the ports of ``wanted`` this node holds now.
        ``give_up(port)`` is awaited before a lease is given back: False keeps it."""
        ...

    async def release_all(self) -> None: ...


class SipPlatform:
    """Constructed as ``SipPlatform(options, context)``; ``options["config"]`` (or
    ``options`` itself when it has a ``server``) holds the JSON of ``/api/v1/platform``
    — absent or None: not configured yet —, the other keys are :class:`Tunables`
    plus an optional async ``config_source`` and an optional ``port_leases``."""

    #: ``opendialer doctor``: query the server without placing calls (``contracts.ProbesServer``).
    probe_server = staticmethod(probe_server)

    def __init__(self, options: Mapping[str, Any] | None = None, context: Any = None) -> None:
        options = dict(options or {})
        raw = options.get("config", options if "server" in options else None)
        self.config: SipConfig | None = None if raw is None else SipConfig.from_mapping(raw)
        self._config_problem: str | None = None  # why a stored configuration was refused
        self.tunables = Tunables.from_options(options)
        self._config_source: ConfigSource | None = options.get("config_source")
        self._leaser: PortLeaser | None = options.get("port_leases")
        self._leased: frozenset[str] = frozenset()  # with a leaser: the ports this node owns
        self._leases_valid_until = float("-inf")  # monotonic; a node cut off stops dialing
        self._lease_wake = asyncio.Event()
        self._context = context
        self.timers = Timers(t1=self.tunables.t1_s, t4=self.tunables.t4_s)
        self._endpoint: SipEndpoint | None = None
        self._endpoint_calls: dict[SipEndpoint, int] = {}
        self._rtp = self._rtp_allocator(self.config)
        self._rtp_ticker = RtpTicker()  # paces every call's outbound silence
        self._busy: set[str] = set()
        self._registrations: dict[str, PortRegistration] = {}
        self._down_reason: str | None = None
        self._down_since: datetime | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._probe_task: asyncio.Task[None] | None = None
        self._started = False
        self._closing = False
        self.calls_in_flight = 0
        self.rtp_packets = 0  # answer-audio packets decoded, all calls so far
        self.rtp_packets_sent = 0  # silence packets sent, all calls so far

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self.config is None and self._config_source is not None:
            await self._read_config_source()
        if self.config is not None:
            self._endpoint = await self._new_endpoint(self.config)
        else:
            log.warning("sip.not_configured detail=%s", self._unconfigured_detail())
        self._started = True
        if self._leaser is not None:
            await self._renew_leases()
            self._spawn(self._lease_loop(), "sip-port-leases")
        self._sync_registrations()
        if self._config_source is not None:
            self._spawn(self._poll_config(), "sip-config-poll")

    async def close(self) -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(r.stop() for r in self._registrations.values()))
        self._registrations.clear()
        if self._leaser is not None:
            self._leased = frozenset()
            try:
                await self._leaser.release_all()
            except Exception as exc:  # the leases expire by themselves
                log.warning("sip.port_release_failed error=%s", exc)
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
        endpoint = SipEndpoint(
            server=(config.server_host, config.server_port),
            transport=config.transport,
            timers=self.timers,
            bind_host=self.tunables.bind_host,
            bind_port=self.tunables.sip_port,
            advertised_host=self.tunables.advertised_host,
            tls_context=tls_context,
            on_server_alive=self._server_alive,
            on_server_silent=self._server_silent,
        )
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
            self._server_silent(reason)
        self._endpoint_calls[endpoint] = 0
        return endpoint

    # ------------------------------------------------------------ health

    def _server_alive(self) -> None:
        if self._down_reason is not None:
            log.info("sip.server_up after=%s", self._down_reason)
        self._down_reason = None
        self._down_since = None

    def _server_silent(self, reason: str) -> None:
        if self._down_reason is None:
            log.warning("sip.server_down reason=%s", reason)
            self._down_since = datetime.now(UTC)
        self._down_reason = reason
        if self._probe_task is None and not self._closing:
            self._probe_task = self._spawn(self._probe(), "sip-probe")

    async def _probe(self) -> None:
        """OPTIONS to the server every ``probe_interval_s`` until it answers again."""
        try:
            while self._down_reason is not None and self._endpoint is not None:
                endpoint, config = self._endpoint, self.config
                if config is None:
                    return
                if endpoint.reliable and not await endpoint.ensure_connected():
                    await asyncio.sleep(self.tunables.probe_interval_s)
                    continue
                request = options_request(endpoint, config.domain, self._first_user())
                await endpoint.request(request, timeout_s=self.tunables.probe_interval_s).final
                if self._down_reason is not None:
                    await asyncio.sleep(self.tunables.probe_interval_s / 2)
        finally:
            self._probe_task = None

    def _first_user(self) -> str:
        ports = self._my_ports() or self._licensed_ports()
        return ports[0].user if ports else "opendialer"

    def _unconfigured_detail(self) -> str:
        if self._config_problem is not None:
            return (
                f"communication platform configuration refused: {self._config_problem} "
                "(fix it in System → Communication platform)"
            )
        return NOT_CONFIGURED

    def health(self) -> Health:
        if not self._started:
            return Health(ok=False, detail="SIP platform not started")
        if self.config is None:
            return Health(ok=False, detail=self._unconfigured_detail())
        if self._down_reason is not None:
            return Health(ok=False, detail=self._down_reason, since=self._down_since)
        if not self._licensed_ports():
            return Health(
                ok=False, detail="no dialer port configured (System → Communication platform)"
            )
        ports = self._my_ports()
        if not ports:
            return Health(
                ok=False,
                detail=f"none of the {len(self._licensed_ports())} dialer ports is leased to "
                "this engine node (other nodes hold them; see docs/scaling.md)",
            )
        if self.config.register:
            registered = sum(1 for a in ports if self._port_ready(a))
            if registered == 0:
                failed = next(
                    (r.detail for r in self._registrations.values() if r.detail), "registering"
                )
                return Health(ok=False, detail=f"no port registered: {failed}")
            return Health(ok=True, detail=f"{registered} of {len(ports)} ports registered")
        return Health(ok=True, detail=f"{len(ports)} ports (no registration)")

    def registrations(self) -> list[dict[str, object]]:
        """Per port: registration state for the admin's Diagnostics page."""
        rows: list[dict[str, object]] = []
        register = self.config is not None and self.config.register
        for account in self._my_ports():
            registration = self._registrations.get(account.user)
            row: dict[str, object] = (
                registration.as_dict()
                if registration is not None
                else {
                    "user": account.user,
                    "state": "not_required" if not register else "unregistered",
                }
            )
            row["in_call"] = account.user in self._busy
            rows.append(row)
        return rows

    # ------------------------------------------------------------ ports

    def _licensed_ports(self) -> tuple[SipAccount, ...]:
        if self.config is None:
            return ()
        limit = self.tunables.licensed_ports
        return self.config.ports if limit is None else self.config.ports[:limit]

    def _my_ports(self) -> tuple[SipAccount, ...]:
        """The ports this node may register and dial: all licensed ones, or with a leaser
        those it leases — none once its leases may have expired (cut off from the database)."""
        ports = self._licensed_ports()
        if self._leaser is None:
            return ports
        if time.monotonic() > self._leases_valid_until:
            return ()
        return tuple(a for a in ports if a.user in self._leased)

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
        free = sum(1 for a in self._my_ports() if a.user not in self._busy and self._port_ready(a))
        return min(free, self._rtp.free)

    def _take_port(self) -> SipAccount | None:
        for account in self._my_ports():
            if account.user not in self._busy and self._port_ready(account):
                self._busy.add(account.user)
                return account
        return None

    # ------------------------------------------------------------ calls

    async def originate(self, request: CallRequest) -> CallOutcome:
        health = self.health()
        config = self.config
        if self._closing or not health.ok or config is None:
            raise PlatformUnavailable(f"SIP platform unavailable: {health.detail or 'closing'}")
        account = self._take_port()
        if account is None:
            raise PlatformUnavailable(
                f"no free SIP port: {len(self._busy)} of {len(self._my_ports())} in use"
            )
        endpoint = self._endpoint
        assert endpoint is not None
        rtp: RtpEndpoint | None = None
        try:
            if endpoint.reliable and not await endpoint.ensure_connected():
                self._server_silent(f"cannot connect to {config.server_host}:{config.server_port}")
                raise PlatformUnavailable("SIP platform unavailable: cannot connect to the server")
            rtp = await RtpEndpoint.open(
                self._rtp, self.tunables.bind_host, self.tunables.rtp_batch_ms, self._rtp_ticker
            )
            if rtp is None:
                low, high = self.tunables.rtp_range(config)
                raise PlatformUnavailable(f"no free RTP port in {low}..{high}")
        except BaseException:
            self._busy.discard(account.user)
            raise
        if request.no_answer_timeout_s <= 0:
            request = replace(request, no_answer_timeout_s=config.no_answer_timeout_s)
        if request.caller_id is None and config.caller_id:
            request = replace(request, caller_id=config.caller_id)
        setup = CallSetup(endpoint, account, config.domain, rtp, self.tunables)
        self._endpoint_calls[endpoint] = self._endpoint_calls.get(endpoint, 0) + 1
        self.calls_in_flight += 1
        try:
            outcome = await SipCall(request, setup).run()
        finally:
            rtp.close()
            self.rtp_packets += rtp.packets
            self.rtp_packets_sent += rtp.sent
            self.calls_in_flight -= 1
            self._busy.discard(account.user)
            self._endpoint_calls[endpoint] -= 1
            await self._retire_if_idle(endpoint)
        log.info(
            "sip.call_end call=%s port=%s disposition=%s code=%s amd=%s transfer=%s detail=%s",
            request.call_id,
            outcome.port,
            outcome.disposition.value,
            outcome.sip_code,
            outcome.amd.label.value if outcome.amd else None,
            outcome.transfer_code,
            outcome.detail,
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
        self._config_problem = None
        if new == old:
            return
        if old is None:  # the first configuration: come up, endpoint first
            if self._started and self._endpoint is None:
                self._endpoint = await self._new_endpoint(new)
            self._rtp = self._rtp_allocator(new)
            self.config = new
            if self._started and self._leaser is not None:
                await self._renew_leases()
            self._sync_registrations()
            log.info("sip.configured ports=%d register=%s", len(new.ports), new.register)
            return
        self.config = new
        self._lease_wake.set()  # the set of ports may have changed: share them out now
        if self.tunables.rtp_range(new) != self.tunables.rtp_range(old):
            self._rtp = self._rtp_allocator(new)
        restart_all = new.signalling_key != old.signalling_key or new.domain != old.domain
        if new.signalling_key != old.signalling_key and self._started:
            previous = self._endpoint
            self._down_reason = None
            self._endpoint = await self._new_endpoint(new)
            if previous is not None:
                await self._retire_if_idle(previous)
        if restart_all or not new.register:
            await asyncio.gather(*(r.stop() for r in self._registrations.values()))
            self._registrations.clear()
        else:
            wanted = {a.user: a for a in new.ports}
            for user, registration in list(self._registrations.items()):
                if wanted.get(user) != registration.account:
                    await registration.stop()
                    del self._registrations[user]
        self._sync_registrations()
        log.info("sip.config_applied ports=%d register=%s", len(new.ports), new.register)

    def _sync_registrations(self) -> None:
        if self.config is None or not self.config.register or self._endpoint is None:
            return
        policy = RegistrationPolicy(
            expires_s=self.tunables.register_expires_s,
            backoff_s=self.tunables.register_backoff_s,
            backoff_max_s=self.tunables.register_backoff_max_s,
        )
        for account in self._my_ports():
            if account.user not in self._registrations:
                registration = PortRegistration(
                    account, self.config.domain, self._current_endpoint, policy
                )
                self._registrations[account.user] = registration
                registration.start()

    def _current_endpoint(self) -> SipEndpoint:
        assert self._endpoint is not None
        return self._endpoint

    async def _poll_config(self) -> None:
        while True:
            await asyncio.sleep(self.tunables.config_poll_s)
            await self._read_config_source()

    async def _read_config_source(self) -> None:
        """Apply what the source holds; a refused configuration is one log line (the
        running one stays) and, while nothing runs, the reason ``health()`` gives."""
        assert self._config_source is not None
        try:
            data = await self._config_source()
        except Exception as exc:  # the database away for a moment: next poll
            log.warning("sip.config_read_failed error=%s", exc)
            return
        if data is None:
            return
        try:
            await self.apply_config(data)
        except ValueError as exc:
            if str(exc) != self._config_problem:
                log.error("sip.config_refused reason=%s", exc)
            self._config_problem = str(exc)

    # ------------------------------------------------------------ ports shared by nodes

    def _rtp_allocator(self, config: SipConfig | None) -> RtpPortAllocator:
        if config is None:
            return RtpPortAllocator(0, -1)  # nothing to bind before a configuration
        return RtpPortAllocator(*self.tunables.rtp_range(config))

    async def _lease_loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._lease_wake.wait(), self.tunables.port_lease_renew_s)
            except TimeoutError:
                pass
            self._lease_wake.clear()
            await self._renew_leases()

    async def _renew_leases(self) -> None:
        assert self._leaser is not None
        wanted = [a.user for a in self._licensed_ports()]
        started = time.monotonic()
        try:
            held = await self._leaser.lease(wanted, self._give_up_port)
        except Exception as exc:  # database away: keep the leases we have while they last
            log.warning("sip.port_lease_failed error=%s", exc)
            await self._drop_unowned_registrations()
            return
        # Counted from before the round: the database's expiry is at least this late, so
        # a node cut off from the database stops dialing before another may take its ports.
        self._leases_valid_until = started + self._leaser.lease_s
        if held != self._leased:
            log.info("sip.ports_leased ports=%d of %d", len(held), len(wanted))
        self._leased = held
        await self._drop_unowned_registrations()
        self._sync_registrations()

    async def _give_up_port(self, user: str) -> bool:
        """Before the leaser gives ``user`` back: stop dialing and registering it (never
        while it carries a call, so no two nodes ever use one port at once)."""
        if user in self._busy:
            return False
        self._leased = self._leased - {user}
        registration = self._registrations.pop(user, None)
        if registration is not None:
            await registration.stop()  # unregistered before another node may register it
        return True

    async def _drop_unowned_registrations(self) -> None:
        mine = {a.user for a in self._my_ports()}
        gone = [self._registrations.pop(u) for u in list(self._registrations) if u not in mine]
        await asyncio.gather(*(r.stop() for r in gone))

    # ------------------------------------------------------------ introspection

    def stats(self) -> dict[str, int]:
        """Counters for tests and benchmarks (open transactions, dialogs, RTP ports)."""
        endpoint = self._endpoint
        return {
            "calls_in_flight": self.calls_in_flight,
            "rtp_packets": self.rtp_packets,
            "busy_ports": len(self._busy),
            "rtp_ports_free": self._rtp.free,
            "rtp_ports_total": self._rtp.size,
            "rtp_packets_sent": self.rtp_packets_sent,
            "rtp_streams_sending": self._rtp_ticker.streams,
            "open_dialogs": endpoint.open_dialogs if endpoint else 0,
            "open_transactions": endpoint.open_transactions if endpoint else 0,
            "dropped_datagrams": endpoint.dropped if endpoint else 0,
        }
