"""The registrations of this node's dialer ports, one :class:`PortRegistration` each.

The platform says which accounts should be registered (:meth:`Registrations.sync`
after a configuration change or a lease round) and which must stop (a port given
back to another node is unregistered *before* that node may register it; a
changed account is registered again). Every registration registers through
the platform's current endpoint and removes its binding through the one that
made it: on a new server or transport the platform stops them all (each old
binding removed at the old server, over the old transport) before it syncs
them again on the new endpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable

from opendialer.plugins.platform_sip.config import SipAccount
from opendialer.plugins.platform_sip.registration import PortRegistration, RegistrationPolicy
from opendialer.plugins.platform_sip.signalling import SipEndpoint


class Registrations:
    def __init__(self, policy: RegistrationPolicy, endpoint: Callable[[], SipEndpoint]) -> None:
        self._policy = policy
        self._endpoint = endpoint
        self._by_user: dict[str, PortRegistration] = {}

    def get(self, user: str) -> PortRegistration | None:
        return self._by_user.get(user)

    def first_detail(self, default: str) -> str:
        """The first port's problem (or state) worth showing, for the platform's health."""
        return next((r.detail for r in self._by_user.values() if r.detail), default)

    def sync(self, accounts: Iterable[SipAccount], domain: str) -> None:
        """Start registering every account of ``accounts`` not registering yet."""
        for account in accounts:
            if account.user not in self._by_user:
                registration = PortRegistration(account, domain, self._endpoint, self._policy)
                self._by_user[account.user] = registration
                registration.start()

    async def stop(self, user: str) -> None:
        registration = self._by_user.pop(user, None)
        if registration is not None:
            await registration.stop()

    async def stop_all(self) -> None:
        await asyncio.gather(*(r.stop() for r in self._by_user.values()))
        self._by_user.clear()

    async def stop_changed(self, accounts: Iterable[SipAccount]) -> None:
        """Stop the registrations whose account is no longer configured as it was."""
        wanted = {a.user: a for a in accounts}
        for user, registration in list(self._by_user.items()):
            if wanted.get(user) != registration.account:
                await registration.stop()
                del self._by_user[user]

    async def keep_only(self, users: Collection[str]) -> None:
        """Stop the registrations of ports this node no longer owns."""
        gone = [self._by_user.pop(u) for u in list(self._by_user) if u not in users]
        await asyncio.gather(*(r.stop() for r in gone))
