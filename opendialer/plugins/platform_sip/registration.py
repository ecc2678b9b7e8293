"""REGISTER for each dialer port: digest auth, refresh before expiry, back-off on failure.

One task per port: register, sleep until 90 % of the granted interval, again.
A failure (403, wrong password answered with another 401, timeout, 5xx)
marks the port unusable and retries after ``backoff`` seconds, doubling up to
``backoff_max`` — a misconfigured password must not hammer the registrar.
The state of every port is what the admin's Diagnostics page shows.
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
from opendialer.plugins.platform_sip.signalling import SipEndpoint, new_tag

log = logging.getLogger(__name__)

REFRESH_FRACTION = 0.9


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
        if unregister and self.registered:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.register_once(expires=0), 2)
        self._set("unregistered", "")

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

    async def register_once(self, *, expires: int) -> int | None:
        """One REGISTER exchange (answering one challenge); the granted seconds or None."""
        endpoint = self._endpoint()
        if endpoint.reliable and not await endpoint.ensure_connected():
            self.last_code, self.detail = None, "cannot connect to the SIP server"
            return None
        authorization: tuple[str, str] | None = None
        for _attempt in range(2):
            request = self._request(endpoint, expires, authorization)
            response = await endpoint.request(request).final
            if response is None:
                self.last_code, self.detail = None, "the registrar did not answer"
                return None
            self.last_code = response.status_code
            if response.status_code in (401, 407) and authorization is None:
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
                return _granted(response, expires)
            reason = response.reason_phrase
            if response.status_code in (401, 403, 407):
                self.detail = f"{response.status_code} {reason}: check auth user and password"
            else:
                self.detail = f"{response.status_code} {reason}"
            return None
        self.detail = "credentials rejected (challenged again): check auth user and password"
        return None

    def _request(
        self, endpoint: SipEndpoint, expires: int, authorization: tuple[str, str] | None
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
        request.headers.set_single("Contact", endpoint.contact(self.account.user))
        request.headers.set_single("Expires", str(expires))
        if authorization:
            request.headers.set_single(*authorization)
        return request


def _granted(response: SipResponse, asked: int) -> int:
    for contact in response.headers.get("contact"):
        for part in contact.split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "expires" and value.isdigit():
                return int(value)
    header = response.headers.get_first("expires")
    if header and header.strip().isdigit():
        return int(header.strip())
    return asked


def _now_plus(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)
