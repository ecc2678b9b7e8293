"""The dialer ports (SIP accounts) a node may use, which are busy, and their leases.

``licensed()``: the configured ports, cut at ``licensed_ports``. Alone, a node
uses them all. With a leaser (``port_leases`` option, or built from the
``database`` option: ``leases.PortLeases``) it uses only those it leases, and
none once its leases may have expired — a node cut off from the database stops
dialing before another node may take its ports. A round (:meth:`PortPool.renew`)
runs at start, every ``port_lease_renew_s`` and at once after a configuration
change (:meth:`PortPool.wake`); a port is given back only when idle, after
``on_given_up`` stopped its registration, so no port is ever used on two nodes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from opendialer.plugins.platform_sip.config import SipAccount, SipConfig

log = logging.getLogger("opendialer.plugins.platform_sip.platform")


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


class PortPool:
    """The ports of the current configuration (``config``, set by the platform)."""

    def __init__(
        self,
        *,
        licensed_ports: int | None,
        leaser: PortLeaser | None,
        renew_s: float,
        on_given_up: Callable[[str], Awaitable[None]],
        after_round: Callable[[bool], Awaitable[None]],
    ) -> None:
        self.config: SipConfig | None = None
        self.busy: set[str] = set()
        self._limit = licensed_ports
        self._leaser = leaser
        self._renew_s = renew_s
        self._on_given_up = on_given_up
        self._after_round = after_round  # True: a round done; False: the database failed
        self._leased: frozenset[str] = frozenset()
        self._valid_until = float("-inf")  # monotonic
        self._wake = asyncio.Event()

    @property
    def shared(self) -> bool:
        """True when the ports are leased from the other engine nodes."""
        return self._leaser is not None

    def licensed(self) -> tuple[SipAccount, ...]:
        if self.config is None:
            return ()
        return self.config.ports if self._limit is None else self.config.ports[: self._limit]

    def mine(self) -> tuple[SipAccount, ...]:
        """The ports this node may register and dial: all licensed ones, or with a leaser
        those it leases — none once its leases may have expired (cut off from the database)."""
        ports = self.licensed()
        if self._leaser is None:
            return ports
        if time.monotonic() > self._valid_until:
            return ()
        return tuple(a for a in ports if a.user in self._leased)

    def take(self, ready: Callable[[SipAccount], bool]) -> SipAccount | None:
        """A port of this node that is idle and ``ready``, now busy; None when none is."""
        for account in self.mine():
            if account.user not in self.busy and ready(account):
                self.busy.add(account.user)
                return account
        return None

    def free(self, ready: Callable[[SipAccount], bool]) -> int:
        return sum(1 for a in self.mine() if a.user not in self.busy and ready(a))

    def release(self, user: str) -> None:
        self.busy.discard(user)

    # ------------------------------------------------------------ leases

    def wake(self) -> None:
        """The set of ports may have changed: share them out now, not at the next round."""
        self._wake.set()

    async def follow(self) -> None:
        """Lease rounds until cancelled."""
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self._renew_s)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.renew()

    async def renew(self) -> None:
        assert self._leaser is not None
        wanted = [a.user for a in self.licensed()]
        started = time.monotonic()
        try:
            held = await self._leaser.lease(wanted, self._give_up)
        except Exception as exc:  # database away: keep the leases we have while they last
            log.warning("sip.port_lease_failed error=%s", exc)
            await self._after_round(False)
            return
        # Counted from before the round: the database's expiry is at least this late, so
        # a node cut off from the database stops dialing before another may take its ports.
        self._valid_until = started + self._leaser.lease_s
        if held != self._leased:
            log.info("sip.ports_leased ports=%d of %d", len(held), len(wanted))
        self._leased = held
        await self._after_round(True)

    async def _give_up(self, user: str) -> bool:
        """Before the leaser gives ``user`` back: stop dialing and registering it (never
        while it carries a call, so no two nodes ever use one port at once)."""
        if user in self.busy:
            return False
        self._leased = self._leased - {user}
        await self._on_given_up(user)
        return True

    async def release_all(self) -> None:
        """A clean stop: this node's leases are free for the others at once."""
        if self._leaser is None:
            return
        self._leased = frozenset()
        try:
            await self._leaser.release_all()
        except Exception as exc:  # the leases expire by themselves
            log.warning("sip.port_release_failed error=%s", exc)
