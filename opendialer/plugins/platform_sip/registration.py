"""REGISTER for each dialer port: digest auth, refresh before expiry, back-off on failure.

One task per port: register, sleep until 90 % of the granted interval, again.
Each REGISTER answers the registrar's digest challenge, and once more a challenge
that says ``stale=true`` (the nonce had expired before the answer was checked).
A failure (403, wrong password answered with another 401, timeout, 5xx)
marks the port unusable and retries after ``backoff`` seconds, doubling up to
``backoff_max`` — a misconfigured password must not hammer the registrar.
The state of every port is what the admin's Diagnostics page shows.

A binding is removed (REGISTER ``Expires: 0``) through the endpoint and with
the Contact that created it — :attr:`PortRegistration.binding` —, whatever the
platform's current endpoint is by then: after a change of server or transport
the old registrar, over the old transport, is told, before the port registers
anew. A refresh that would register another Contact (a new endpoint, a TCP
connection made again from another local port) removes the old binding first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiosipua import SipDigestAuth, SipRequest, SipResponse
from aiosipua.auth import answer_challenge

from opendialer.plugins.platform_sip.config import SipAccount
from opendialer.plugins.platform_sip.signalling import SipEndpoint, new_tag, stale_challenge

log = logging.getLogger(__name__)

REFRESH_FRACTION = 0.9
UNREGISTER_S = 2.0  # the longest a port waits for its un-REGISTER's answer


@dataclass(frozen=True, slots=True)
class RegistrationPolicy:
    expires_s: int = 300
    backoff_s: float = 5.0
    backoff_max_s: float = 300.0


class PortRegistration:
    """Keeps one account registered while ``run()`` runs."""

    def __init__(
        self,
        account: SipAccount,
        domain: str,
        endpoint: Callable[[], SipEndpoint],
        policy: RegistrationPolicy,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.account = account
        self.domain = domain
        self._endpoint = endpoint
        self.policy = policy
        self._on_change = on_change
        self.call_id = f"{secrets.token_hex(10)}@opendialer"
        self.tag = new_tag()
        self.cseq = 0
        self.state = "unregistered"
        self.detail = ""
        self.last_code: int | None = None
        self.expires_at: datetime | None = None
        self.next_attempt_at: datetime | None = None
        self.failures = 0
        #: Where the registrar holds this port: the endpoint and the Contact it registered.
        self.binding: tuple[SipEndpoint, str] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def registered(self) -> bool:
        return self.state == "registered"

    def as_dict(self) -> dict[str, object]:
        """What Diagnostics shows (never the password)."""
        return {
            "user": self.account.user,
            "state": self.state,
            "detail": self.detail,
            "last_code": self.last_code,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
            "failures": self.failures,
        }

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"sip-register-{self.account.user}")

    async def stop(self, *, unregister: bool = True) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if unregister:
            await self._unregister()
        self._set("unregistered", "")

    async def _unregister(self) -> None:
        """Remove :attr:`binding` where it was made (bounded: the old server may be gone)."""
        binding = self.binding
        if binding is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.register_once(expires=0, through=binding), UNREGISTER_S)
        self.binding = None  # answered or not: it expires on its own at worst

    def _set(self, state: str, detail: str) -> None:
        changed = state != self.state
        self.state, self.detail = state, detail
        if changed and self._on_change is not None:
            self._on_change()

    async def run(self) -> None:
        while True:
            self._set("registering", "")
            granted = await self.register_once(expires=self.policy.expires_s)
            if granted is not None and granted > 0:
                self.failures = 0
                wait = max(1.0, granted * REFRESH_FRACTION)
                self.expires_at = _now_plus(granted)
                self._set("registered", f"expires in {granted} s")
            else:
                self.failures += 1
                self.expires_at = None
                wait = min(
                    self.policy.backoff_s * 2 ** (self.failures - 1), self.policy.backoff_max_s
                )
                self._set("failed", self.detail)
                log.warning(
                    "sip.register_failed user=%s code=%s detail=%s retry_in=%.0fs",
                    self.account.user,
                    self.last_code,
                    self.detail,
                    wait,
                )
            self.next_attempt_at = _now_plus(wait)
            await asyncio.sleep(wait)

    async def register_once(
        self, *, expires: int, through: tuple[SipEndpoint, str] | None = None
    ) -> int | None:
        """One REGISTER exchange (answering one challenge); the granted seconds or None.

        ``through``: the endpoint and Contact to use (a binding to remove); by
        default the platform's current endpoint and its Contact."""
        endpoint = through[0] if through else self._endpoint()
        if endpoint.reliable and not await endpoint.ensure_connected():
            self.last_code, self.detail = None, "cannot connect to the SIP server"
            return None
        contact = through[1] if through else endpoint.contact(self.account.user)  # connected
        if through is None and self.binding not in (None, (endpoint, contact)):
            await self._unregister()  # a binding elsewhere: removed before another is made
        authorization: tuple[str, str] | None = None
        stale_answered = False
        for _attempt in range(3):  # no credentials; answered; answered again if stale
            request = self._request(endpoint, contact, expires, authorization)
            response = await endpoint.request(request).final
            if response is None:
                self.last_code, self.detail = None, "the registrar did not answer"
                return None
            self.last_code = response.status_code
            stale = authorization is not None and not stale_answered and stale_challenge(response)
            if response.status_code in (401, 407) and (authorization is None or stale):
                stale_answered = stale_answered or stale
                authorization = answer_challenge(
                    SipDigestAuth(self.account.auth_user, self.account.password),
                    response,
                    response.status_code,
                    "REGISTER",
                    request.uri,
                )
                if authorization is None:
                    self.detail = "cannot answer the registrar's challenge"
                    return None
                continue
            if 200 <= response.status_code < 300:
                granted = _granted(response, expires, contact)
                self.binding = (endpoint, contact) if expires and granted else None
                return granted
            reason = response.reason_phrase
            if response.status_code in (401, 403, 407):
                self.detail = f"{response.status_code} {reason}: check auth user and password"
            else:
                self.detail = f"{response.status_code} {reason}"
            return None
        self.detail = "credentials rejected (challenged again): check auth user and password"
        return None

    def _request(
        self,
        endpoint: SipEndpoint,
        contact: str,
        expires: int,
        authorization: tuple[str, str] | None,
    ) -> SipRequest:
        self.cseq += 1
        aor = f"sip:{self.account.user}@{self.domain}"
        request = SipRequest(method="REGISTER", uri=f"sip:{self.domain}")
        request.headers.append("Via", endpoint.via())
        request.headers.set_single("Max-Forwards", "70")
        request.headers.set_single("From", f"<{aor}>;tag={self.tag}")
        request.headers.set_single("To", f"<{aor}>")
        request.headers.set_single("Call-ID", self.call_id)
        request.headers.set_single("CSeq", f"{self.cseq} REGISTER")
        request.headers.set_single("Contact", contact)
        request.headers.set_single("Expires", str(expires))
        if authorization:
            request.headers.set_single(*authorization)
        return request


def _uri(contact: str) -> str:
    contact = contact.strip()
    return contact.partition("<")[2].partition(">")[0] if "<" in contact else contact.split(";")[0]


def _granted(response: SipResponse, asked: int, contact: str) -> int:
    """The seconds granted to ``contact``: its ``expires`` in the 2xx's Contact list
    (which holds every binding of the port, ours among them), else the Expires header."""
    ours = _uri(contact)
    listed = [c for header in response.headers.get("contact") for c in header.split(",")]
    for entry in sorted(listed, key=lambda c: _uri(c) != ours):  # ours first
        params = entry.rpartition(">")[2] if "<" in entry else entry.partition(";")[2]
        for part in params.split(";"):
            name, _, value = part.strip().partition("=")
            if name.lower() == "expires" and value.isdigit():
                return int(value)
    header = response.headers.get_first("expires")
    if header and header.strip().isdigit():
        return int(header.strip())
    return asked


def _now_plus(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)
