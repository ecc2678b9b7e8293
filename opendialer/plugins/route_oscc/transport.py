"""One request/answer exchange with the contact center over HTTP(S).

Everything about the wire is configured (:mod:`.options`): base URL, TLS trust,
timeouts, paths, codec. A failure of any kind becomes :class:`OsccError` whose
``detail`` an administrator can act on ("connection refused by oscc:9443",
"timeout after 0.5 s on POST /keepalive", "HTTP 500 from POST /logon: ...").
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from opendialer.plugins.route_oscc.codec import Codec, CodecError
from opendialer.plugins.route_oscc.options import Operation, OsccOptionError, OsccOptions


class OsccError(Exception):
    """The contact center did not give a usable answer."""

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


def _trust(ca_bundle: str | None) -> ssl.SSLContext:
    # Reads certificate files: called in a worker thread.
    if ca_bundle:
        return ssl.create_default_context(cafile=ca_bundle)
    return ssl.create_default_context()  # the system's CAs


def _connect_reason(exc: BaseException) -> str:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted ({seen.verify_message}); check ca_bundle"
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    if "Connection refused" in text or "connection attempts failed" in text:
        return "connection refused"
    return text or type(exc).__name__


class OsccTransport:
    def __init__(self, options: OsccOptions, codec: Codec) -> None:
        self._options = options
        self._codec = codec
        self._client: httpx.AsyncClient | None = None
        parts = urlsplit(options.base_url)
        self.endpoint = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
        self._timeout_s = options.request_timeout_ms / 1000

    async def open(self) -> None:
        if self._client is not None:
            return
        verify: ssl.SSLContext | bool = True
        if self._options.base_url.startswith("https:"):
            try:
                verify = await asyncio.to_thread(_trust, self._options.ca_bundle)
            except (OSError, ssl.SSLError) as exc:
                raise OsccOptionError(
                    "route_oscc.ca_bundle_not_pem", option="ca_bundle", reason=str(exc)
                ) from None
        self._client = httpx.AsyncClient(
            base_url=self._options.base_url,
            verify=verify,
            timeout=httpx.Timeout(self._timeout_s, connect=self._options.connect_timeout_ms / 1000),
            headers={"Content-Type": self._codec.content_type, "Accept": self._codec.content_type},
            # The contact center is on the site's own network: proxies from the
            # environment would only get in the way (and hide the real error).
            trust_env=False,
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def call(
        self,
        operation: Operation,
        message: Mapping[str, Any],
        session_id: str | None = None,
        hold_s: float = 0.0,
    ) -> dict[str, Any]:
        """Send one request; ``hold_s`` is how long the server may hold it (long poll)."""
        if self._client is None:
            raise OsccError("transport is not open")
        deadline_s = self._timeout_s + hold_s
        timeout = httpx.Timeout(deadline_s, connect=self._options.connect_timeout_ms / 1000)
        headers = {}
        if session_id and self._options.session_header:
            headers[self._options.session_header] = session_id
        try:
            async with asyncio.timeout(deadline_s):
                if operation.method == "GET":
                    response = await self._client.get(
                        operation.path, params=_query(message), headers=headers, timeout=timeout
                    )
                else:
                    response = await self._client.request(
                        operation.method,
                        operation.path,
                        content=self._codec.encode(message),
                        headers=headers,
                        timeout=timeout,
                    )
        except (TimeoutError, httpx.TimeoutException):
            raise OsccError(f"timeout after {deadline_s:g} s on {operation}") from None
        except httpx.ConnectError as exc:
            raise OsccError(f"cannot connect to {self.endpoint}: {_connect_reason(exc)}") from None
        except httpx.HTTPError as exc:
            raise OsccError(f"{operation} failed: {_connect_reason(exc)}") from None
        if response.status_code >= 400:
            body = response.text.strip().replace("\n", " ")[:200]
            raise OsccError(
                f"HTTP {response.status_code} from {operation}: {body}",
                status=response.status_code,
            )
        try:
            return self._codec.decode(response.content)
        except CodecError as exc:
            raise OsccError(f"unreadable answer from {operation}: {exc}") from None


def _query(message: Mapping[str, Any]) -> dict[str, str]:
    return {
        k: ",".join(map(str, v)) if isinstance(v, list | tuple) else str(v)
        for k, v in message.items()
    }
