"""``SipPlatform``: the :class:`~opendialer.core.contracts.Platform` over SIP.

Owns the SIP endpoint, the dialer ports (accounts) and their registrations,
the RTP port range, and the platform's health. ``originate`` takes a free
port, opens an RTP socket, runs one :class:`SipCall` and gives both back,
whatever happens.

Configuration changes apply without a restart: ``apply_config`` (or the
``config_source`` option, polled every ``config_poll_s``) adds and removes
ports, re-registers changed accounts, and moves new calls to a new endpoint
when server or transport change (calls in progress finish on the old one).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from opendialer.core.contracts import (
    CallOutcome,
    CallRequest,
    Health,
    PlatformUnavailable,
)
from opendialer.plugins.platform_sip.call import CallSetup, SipCall
from opendialer.plugins.platform_sip.config import SipAccount, SipConfig, Tunables
from opendialer.plugins.platform_sip.registration import PortRegistration, RegistrationPolicy
from opendialer.plugins.platform_sip.rtp import RtpEndpoint, RtpPortAllocator
from opendialer.plugins.platform_sip.signalling import SipEndpoint, options_request
from opendialer.plugins.platform_sip.transactions import Timers

log = logging.getLogger(__name__)

ConfigSource = Callable[[], Awaitable[Mapping[str, Any] | None]]


class SipPlatform:
    """Constructed as ``SipPlatform(options, context)``; ``options["config"]`` (or
    ``options`` itself) holds the JSON of ``/api/v1/platform``, the other keys are
    :class:`Tunables` plus an optional async ``config_source``."""

    def __init__(self, options: Mapping[str, Any] | None = None, context: Any = None) -> None:
        options = dict(options or {})
        self.config = SipConfig.from_mapping(options.get("config", options))
        self.tunables = Tunables.from_options(options)
        self._config_source: ConfigSource | None = options.get("config_source")
        self._context = context
        self.timers = Timers(t1=self.tunables.t1_s, t4=self.tunables.t4_s)
        self._endpoint: SipEndpoint | None = None
        self._endpoint_calls: dict[SipEndpoint, int] = {}
        self._rtp = RtpPortAllocator(self.config.rtp_port_min, self.config.rtp_port_max)
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

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._endpoint = await self._new_endpoint(self.config)
        self._started = True
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
            self._server_silent(f"cannot reach {config.server_host}:{config.server_port}: {exc}")
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
                endpoint = self._endpoint
                if endpoint.reliable and not await endpoint.ensure_connected():
                    await asyncio.sleep(self.tunables.probe_interval_s)
                    continue
                request = options_request(endpoint, self.config.domain, self._first_user())
                await endpoint.request(request, timeout_s=self.tunables.probe_interval_s).final
                if self._down_reason is not None:
                    await asyncio.sleep(self.tunables.probe_interval_s / 2)
        finally:
            self._probe_task = None

    def _first_user(self) -> str:
        return self.config.ports[0].user if self.config.ports else "opendialer"

    def health(self) -> Health:
        if not self._started:
            return Health(ok=False, detail="SIP platform not started")
        if self._down_reason is not None:
            return Health(ok=False, detail=self._down_reason, since=self._down_since)
        ports = self._licensed_ports()
        if not ports:
            return Health(
                ok=False, detail="no dialer port configured (System → Communication platform)"
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
        for account in self.config.ports:
            registration = self._registrations.get(account.user)
            row: dict[str, object] = (
                registration.as_dict()
                if registration is not None
                else {
                    "user": account.user,
                    "state": "not_required" if not self.config.register else "unregistered",
                }
            )
            row["in_call"] = account.user in self._busy
            rows.append(row)
        return rows

    # ------------------------------------------------------------ ports

    def _licensed_ports(self) -> tuple[SipAccount, ...]:
        limit = self.tunables.licensed_ports
        return self.config.ports if limit is None else self.config.ports[:limit]

    def _port_ready(self, account: SipAccount) -> bool:
        if not self.config.register:
            return True
        registration = self._registrations.get(account.user)
        return registration is not None and registration.registered

    def free_ports(self) -> int:
        if not self.health().ok:
            return 0
        free = sum(
            1 for a in self._licensed_ports() if a.user not in self._busy and self._port_ready(a)
        )
        return min(free, self._rtp.free)

    def _take_port(self) -> SipAccount | None:
        for account in self._licensed_ports():
            if account.user not in self._busy and self._port_ready(account):
                self._busy.add(account.user)
                return account
        return None

    # ------------------------------------------------------------ calls

    async def originate(self, request: CallRequest) -> CallOutcome:
        health = self.health()
        if self._closing or not health.ok:
            raise PlatformUnavailable(f"SIP platform unavailable: {health.detail or 'closing'}")
        account = self._take_port()
        if account is None:
            raise PlatformUnavailable(
                f"no free SIP port: {len(self._busy)} of {len(self._licensed_ports())} in use"
            )
        endpoint = self._endpoint
        assert endpoint is not None
        rtp: RtpEndpoint | None = None
        try:
            if endpoint.reliable and not await endpoint.ensure_connected():
                self._server_silent(
                    f"cannot connect to {self.config.server_host}:{self.config.server_port}"
                )
                raise PlatformUnavailable("SIP platform unavailable: cannot connect to the server")
            rtp = await RtpEndpoint.open(
                self._rtp, self.tunables.bind_host, self.tunables.rtp_batch_ms
            )
            if rtp is None:
                raise PlatformUnavailable(
                    f"no free RTP port in {self.config.rtp_port_min}..{self.config.rtp_port_max}"
                )
        except BaseException:
            self._busy.discard(account.user)
            raise
        if request.no_answer_timeout_s <= 0:
            request = replace(request, no_answer_timeout_s=self.config.no_answer_timeout_s)
        if request.caller_id is None and self.config.caller_id:
            request = replace(request, caller_id=self.config.caller_id)
        setup = CallSetup(endpoint, account, self.config.domain, rtp, self.tunables)
        self._endpoint_calls[endpoint] = self._endpoint_calls.get(endpoint, 0) + 1
        self.calls_in_flight += 1
        try:
            outcome = await SipCall(request, setup).run()
        finally:
            rtp.close()
            self.rtp_packets += rtp.packets
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
        if new == old:
            return
        self.config = new
        if (new.rtp_port_min, new.rtp_port_max) != (old.rtp_port_min, old.rtp_port_max):
            self._rtp = RtpPortAllocator(new.rtp_port_min, new.rtp_port_max)
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
        if not self.config.register or not self._started:
            return
        policy = RegistrationPolicy(
            expires_s=self.tunables.register_expires_s,
            backoff_s=self.tunables.register_backoff_s,
            backoff_max_s=self.tunables.register_backoff_max_s,
        )
        for account in self._licensed_ports():
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
        assert self._config_source is not None
        while True:
            await asyncio.sleep(self.tunables.config_poll_s)
            try:
                data = await self._config_source()
                if data is not None:
                    await self.apply_config(data)
            except Exception:
                log.exception("sip.config_poll_failed")

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
            "open_dialogs": endpoint.open_dialogs if endpoint else 0,
            "open_transactions": endpoint.open_transactions if endpoint else 0,
            "dropped_datagrams": endpoint.dropped if endpoint else 0,
        }
