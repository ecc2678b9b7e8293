"""``opendialer doctor``'s look at the SIP server, without disturbing a running engine.

A port that registers is checked with a REGISTER that carries no Contact: RFC 3261
§10.2.3 makes that a *query* — the registrar authenticates it (so the password is
tested) and answers with the bindings it holds, changing none of them. A binding
listed means some dialer (normally the engine) has the port registered; none means
the credentials work but nothing is registered now. A trunk (``register`` false)
gets one OPTIONS: any answer means the server is there.

The probe uses its own socket on a free local port, so it never competes with the
engine for its SIP port, and every exchange is bounded by ``timeout_s``.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
from collections.abc import Mapping
from typing import Any

from aiosipua import SipDigestAuth, SipRequest, SipResponse
from aiosipua.auth import answer_challenge

from opendialer.plugins.platform_sip.config import SipAccount, SipConfig, Tunables
from opendialer.plugins.platform_sip.signalling import SipEndpoint, new_tag, options_request
from opendialer.plugins.platform_sip.transactions import Timers
from opendialer.sdk import PortProbe

#: Ports queried at once: a registrar with thousands of ports must not see a burst.
CONCURRENT_QUERIES = 20
FIX_REACH = (
    ": check the server address in System → Communication platform, the firewall, "
    "and that the SIP server runs"
)


async def probe_server(options: Mapping[str, Any], timeout_s: float) -> list[PortProbe]:
    """One :class:`PortProbe` per configured port (or one for a trunk's server)."""
    config = SipConfig.from_mapping(options.get("config", options))
    tunables = Tunables.from_options(options)
    where = f"{config.server_host}:{config.server_port} ({config.transport})"
    tls_context: ssl.SSLContext | None = None
    if config.transport == "tls":
        tls_context = ssl.create_default_context(cafile=tunables.tls_ca_file)
        tls_context.minimum_version = ssl.TLSVersion.TLSv1_2
    endpoint = SipEndpoint(
        server=(config.server_host, config.server_port),
        transport=config.transport,
        timers=Timers(t1=min(tunables.t1_s, timeout_s / 4), t4=tunables.t4_s),
        bind_host=tunables.bind_host,
        bind_port=0,  # never the engine's port
        advertised_host=tunables.advertised_host,
        tls_context=tls_context,
    )
    try:
        try:
            await asyncio.wait_for(endpoint.start(), timeout_s)
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            reason = f"cannot connect to {where} ({exc or type(exc).__name__}){FIX_REACH}"
            users = [p.user for p in config.ports] if config.register else ["server"]
            return [PortProbe(user, "failed", reason) for user in users]
        if not config.register:
            return [await _options(endpoint, config, where, timeout_s)]
        if not config.ports:
            return []
        first = await _query_bindings(endpoint, config, config.ports[0], where, timeout_s)
        if first.state == "failed" and "did not answer" in first.detail:
            # a silent server: say so for every port at once instead of waiting on each
            return [first, *(PortProbe(a.user, "failed", first.detail) for a in config.ports[1:])]
        limit = asyncio.Semaphore(CONCURRENT_QUERIES)

        async def query(account: SipAccount) -> PortProbe:
            async with limit:
                return await _query_bindings(endpoint, config, account, where, timeout_s)

        return [first, *await asyncio.gather(*(query(a) for a in config.ports[1:]))]
    finally:
        await endpoint.close()


async def _options(
    endpoint: SipEndpoint, config: SipConfig, where: str, timeout_s: float
) -> PortProbe:
    user = config.ports[0].user if config.ports else "opendialer"
    request = options_request(endpoint, config.domain, user)
    response = await endpoint.request(request, timeout_s=timeout_s).final
    if response is None:
        return PortProbe(
            "server",
            "not_answering",
            f"{where} did not answer OPTIONS within {timeout_s:g} s{FIX_REACH}",
        )
    return PortProbe(
        "server",
        "answering",
        f"{where} answered OPTIONS with {response.status_code} {response.reason_phrase}",
    )


async def _query_bindings(
    endpoint: SipEndpoint, config: SipConfig, account: SipAccount, where: str, timeout_s: float
) -> PortProbe:
    call_id = f"{secrets.token_hex(10)}@opendialer-doctor"
    tag = new_tag()
    authorization: tuple[str, str] | None = None
    for cseq in (1, 2):
        request = _binding_query(endpoint, config, account, call_id, tag, cseq, authorization)
        response = await endpoint.request(request, timeout_s=timeout_s).final
        if response is None:
            return PortProbe(
                account.user,
                "failed",
                f"{where} did not answer REGISTER within {timeout_s:g} s{FIX_REACH}",
            )
        code = response.status_code
        if code in (401, 407) and authorization is None:
            authorization = answer_challenge(
                SipDigestAuth(account.auth_user, account.password),
                response,
                code,
                "REGISTER",
                request.uri,
            )
            if authorization is None:
                return PortProbe(account.user, "failed", "cannot answer the registrar's challenge")
            continue
        if 200 <= code < 300:
            return _bindings(account, response)
        if code in (401, 403, 407):
            return PortProbe(
                account.user,
                "failed",
                f"{code} {response.reason_phrase}: check auth user and password of the port",
            )
        return PortProbe(
            account.user, "failed", f"registrar answered {code} {response.reason_phrase}"
        )
    return PortProbe(
        account.user,
        "failed",
        "credentials rejected (challenged again): check auth user and password of the port",
    )


def _binding_query(
    endpoint: SipEndpoint,
    config: SipConfig,
    account: SipAccount,
    call_id: str,
    tag: str,
    cseq: int,
    authorization: tuple[str, str] | None,
) -> SipRequest:
    aor = f"sip:{account.user}@{config.domain}"
    request = SipRequest(method="REGISTER", uri=f"sip:{config.domain}")
    request.headers.append("Via", endpoint.via())
    request.headers.set_single("Max-Forwards", "70")
    request.headers.set_single("From", f"<{aor}>;tag={tag}")
    request.headers.set_single("To", f"<{aor}>")
    request.headers.set_single("Call-ID", call_id)
    request.headers.set_single("CSeq", f"{cseq} REGISTER")
    if authorization:
        request.headers.set_single(*authorization)
    return request  # no Contact, no Expires: a query (RFC 3261 §10.2.3)


def _bindings(account: SipAccount, response: SipResponse) -> PortProbe:
    contacts = [c for header in response.headers.get("contact") for c in header.split(",") if c]
    if contacts:
        return PortProbe(
            account.user,
            "registered",
            f"registered: the server holds {len(contacts)} binding(s)",
        )
    return PortProbe(
        account.user,
        "not_registered",
        "credentials accepted but no binding: no engine has this port registered now "
        "(start `opendialer serve` with OPENDIALER_PLATFORM=sip)",
    )
