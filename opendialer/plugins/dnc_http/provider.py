"""The external Do-Not-Call provider: the product's JSON contract over HTTPS.

``POST <url>`` with ``{"number": "554181021119"}``; the service answers
``200 {"number": "554181021119", "doNotCall": true|false}``. It may say how old its
list is — a response header ``X-DNC-List-Date`` or a field ``list_date``, an ISO 8601
date (``2026-11-30``, midnight UTC) or date and time (``2026-11-30T06:00:00Z``; no
offset: UTC) — which the verdict carries as ``list_date`` (a campaign whose compliance
policy sets ``dnc_max_age_days`` needs it); an unreadable one is no date. Anything else —
timeout, refused connection, TLS failure, non-200, malformed JSON, an answer
for another number, a missing or non-boolean ``doNotCall`` — raises
:class:`DncUnavailable` with the reason. Never "callable" by default.

Service fields used: ``url`` (``https://``; ``http://`` only when ``insecure``
is set), ``ca_bundle`` (PEM text or a file path; default: the system CAs),
``timeout_ms`` (connect and read timeout). Options: ``retries`` (2),
``retry_backoff_ms`` (50, full jitter, doubling), ``max_connections`` (20),
``breaker_failures`` (5), ``breaker_reset_s`` (5.0), ``headers`` (e.g. an API key).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import ssl
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlsplit

import httpx

from opendialer import sdk
from opendialer.plugins.dnc_http.breaker import BreakerOpen, BreakerState, CircuitBreaker
from opendialer.sdk import DncServiceConfig, DncUnavailable, DncVerdict, Health, PluginContext

#: The response header an HTTP DNC service declares its list's date in.
LIST_DATE_HEADER = "X-DNC-List-Date"


def parse_list_date(value: Any) -> datetime | None:
    """An ISO 8601 date (midnight UTC) or date and time (no offset: UTC); None if it
    is not one."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class _Failure(Exception):
    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


def _int_option(options: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = options.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"option {name!r} must be a whole number from {low} to {high}")
    return value


def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """System CAs, or only the CAs of ``ca_bundle`` (PEM text, or the path of a PEM file)."""
    if not ca_bundle:
        return ssl.create_default_context()
    if "-----BEGIN" in ca_bundle:
        return ssl.create_default_context(cadata=ca_bundle)
    if os.path.isfile(ca_bundle):
        return ssl.create_default_context(cafile=ca_bundle)
    raise ValueError("ca_bundle must be PEM text (-----BEGIN CERTIFICATE-----) or a PEM file path")


class HttpDncProvider:
    """Kind ``"http"``."""

    @staticmethod
    def validate_options(options: Mapping[str, Any]) -> dict[str, Any]:
        """The service's url (https://, or http:// when ``insecure``) and the CA bundle
        it is trusted with, as the DNC services settings store them (nothing connects)."""
        problems = sdk.OptionProblems()
        checked = {
            "url": problems.check(
                sdk.checked_url,
                options.get("url"),
                insecure=bool(options.get("insecure")),
            ),
            "ca_bundle": problems.check(sdk.checked_ca_bundle, options.get("ca_bundle")),
        }
        problems.raise_if_any()
        return checked

    def __init__(
        self,
        config: DncServiceConfig,
        context: PluginContext | None = None,
        *,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self.context = context
        where = f"DNC service {config.name!r}"
        if not config.url:
            raise ValueError(f"{where}: url is required (https://host/donotcall)")
        scheme = urlsplit(config.url).scheme.lower()
        if scheme == "http" and not config.insecure:
            raise ValueError(
                f"{where}: {config.shown_url} is plain HTTP; use https://, or mark the service "
                "insecure if it really runs without TLS (numbers then travel in clear text)"
            )
        if scheme not in ("http", "https"):
            raise ValueError(f"{where}: url must start with https:// (got {config.shown_url!r})")
        options = config.options
        try:
            self.retries = _int_option(options, "retries", 2, 0, 10)
            self.backoff_s = _int_option(options, "retry_backoff_ms", 50, 0, 10_000) / 1000
            self.max_connections = _int_option(options, "max_connections", 20, 1, 1000)
            failures = _int_option(options, "breaker_failures", 5, 1, 1000)
            self.headers = {str(k): str(v) for k, v in dict(options.get("headers") or {}).items()}
            reset = float(options.get("breaker_reset_s", 5.0))
            self.verify: ssl.SSLContext | bool = (
                tls_context(config.ca_bundle) if scheme == "https" else False
            )
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where}: {exc}") from None
        self.timeout_s = max(config.timeout_ms, 1) / 1000
        self.breaker = CircuitBreaker(
            failure_threshold=failures,
            reset_after_s=reset,
            **({"clock": monotonic} if monotonic else {}),
        )
        self._client: httpx.AsyncClient | None = None
        self._failing_since: datetime | None = None
        #: The list date of the latest answer (None: it declared none).
        self.list_date: datetime | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(
            verify=self.verify,
            timeout=httpx.Timeout(self.timeout_s),
            limits=httpx.Limits(
                max_connections=self.max_connections,
                max_keepalive_connections=self.max_connections,
                keepalive_expiry=30.0,
            ),
            headers={"accept": "application/json", **self.headers},
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _now(self) -> datetime:
        return self.context.now() if self.context is not None else datetime.now(UTC)

    async def check(self, number: str) -> DncVerdict:
        where = f"DNC service {self.config.name!r}"
        if self._client is None:
            raise DncUnavailable(f"{where}: not started")
        try:
            self.breaker.before_call()
        except BreakerOpen as exc:
            raise DncUnavailable(f"{where}: {exc}") from None
        settled = False  # success or failure recorded; otherwise we were cancelled
        try:
            failure = _Failure("no attempt made", retry=False)
            attempts = 0
            for attempt in range(self.retries + 1):
                if attempt:
                    # Full jitter: clients that failed together do not retry together.
                    await asyncio.sleep(random.uniform(0, self.backoff_s * 2 ** (attempt - 1)))
                attempts += 1
                try:
                    do_not_call, list_date = await self._ask(number)
                except _Failure as exc:
                    failure = exc
                    if not exc.retry:
                        break
                    continue
                self.breaker.record_success()
                settled = True
                self._failing_since = None
                self.list_date = list_date
                return DncVerdict(
                    number=number,
                    do_not_call=do_not_call,
                    service=self.config.name,
                    checked_at=self._now(),
                    list_date=list_date,
                )
            self.breaker.record_failure(self._hidden(failure.reason))
            settled = True
        finally:
            if not settled:
                self.breaker.abandon()
        self._failing_since = self._failing_since or self._now()
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        raise DncUnavailable(f"{where}: {self._hidden(failure.reason)}{tries}")

    def _hidden(self, text: str) -> str:
        """``text`` (an httpx error may quote the url) without the url's password or the
        values of the configured headers: reasons reach pages, Diagnostics and logs."""
        secrets = [urlsplit(self.config.url or "").password or "", *self.headers.values()]
        for secret in secrets:
            if len(secret) >= 3:
                text = text.replace(secret, "***")
        return text

    async def _ask(self, number: str) -> tuple[bool, datetime | None]:
        assert self._client is not None
        try:
            response = await self._client.post(self.config.url or "", json={"number": number})
        except httpx.TimeoutException as exc:
            raise _Failure(f"{type(exc).__name__} after {self.timeout_s:g} s", retry=True) from None
        except httpx.ConnectError as exc:
            text = str(exc)
            if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
                raise _Failure(f"TLS verification failed: {text}", retry=False) from None
            raise _Failure(f"cannot connect: {text or type(exc).__name__}", retry=True) from None
        except httpx.HTTPError as exc:
            raise _Failure(f"{type(exc).__name__}: {exc}", retry=True) from None
        if response.status_code >= 500:
            raise _Failure(f"HTTP {response.status_code} from the service", retry=True)
        if response.status_code != 200:
            raise _Failure(
                f"HTTP {response.status_code} from the service: {response.text[:200]!r}",
                retry=False,
            )
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _Failure(f"malformed JSON: {response.text[:100]!r}", retry=False) from None
        if not isinstance(body, dict):
            raise _Failure(f"answer is not a JSON object: {response.text[:100]!r}", retry=False)
        answered = body.get("number")
        if not isinstance(answered, str) or answered.lstrip("+") != number.lstrip("+"):
            raise _Failure(f"answer is for number {answered!r}, not {number!r}", retry=False)
        do_not_call = body.get("doNotCall")
        if not isinstance(do_not_call, bool):
            raise _Failure(f"answer has no boolean doNotCall (got {do_not_call!r})", retry=False)
        declared = response.headers.get(LIST_DATE_HEADER) or body.get("list_date")
        return do_not_call, parse_list_date(declared)

    def health(self) -> Health:
        state = self.breaker.state
        if state is BreakerState.CLOSED and not self.breaker.last_failure:
            dated = (
                self.list_date
                and f"; list dated {self.list_date.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
            )
            return Health(ok=True, detail=f"answering ({self.config.shown_url}){dated or ''}")
        return Health(
            ok=False,
            detail=f"circuit {state}: {self.breaker.last_failure}",
            since=self._failing_since,
        )
