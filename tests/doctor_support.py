"""What the doctor tests (CLI and Diagnostics page) check against, all real and local:

- ``Registrar``: a UDP SIP registrar on 127.0.0.1 that challenges REGISTER with a
  digest, verifies the answer (MD5, RFC 2617 without qop), lists a binding for
  each port it was told is registered, answers OPTIONS — or drops everything
  (``silent``: a server that does not answer).
- ``Installation``: a configured dialer on the test database — the SIP platform
  on the registrar, an HTTPS Do-Not-Call service (``FakeDncServer``) used by a
  campaign, the OSCC routing target on the contact-center simulator — and
  certificate files made by ``trustme``.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import trustme
from aiosipua import SipMessage, SipRequest

from opendialer.core import dnc
from opendialer.core.services import (
    campaigns,
    dnc_services,
    groups,
    platform_config,
    routing_config,
)
from opendialer.core.services.common import SYSTEM
from opendialer.plugins.platform_sip.signalling import make_response
from opendialer.plugins.route_oscc.simulator import ContactCenter, SimulatorServer
from opendialer.testing import FakeDncServer

PASSWORD = "port-secret"
REALM = "doctor.test"
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')
OSCC_FAST = {
    "poll_interval_ms": 50,
    "keepalive_interval_ms": 150,
    "stale_after_ms": 3000,
    "request_timeout_ms": 1000,
    "connect_timeout_ms": 1000,
    "backoff_initial_ms": 50,
    "backoff_max_ms": 400,
}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # SIP digest is MD5 (RFC 2617)


@dataclass
class Registrar(asyncio.DatagramProtocol):
    registered: set[str] = field(default_factory=set)  # users with a binding
    silent: bool = False
    transport: asyncio.DatagramTransport | None = None
    port: int = 0
    requests: list[SipRequest] = field(default_factory=list)
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> Registrar:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=("127.0.0.1", 0)
        )
        self.port = int(self.transport.get_extra_info("sockname")[1])
        return self

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        message = SipMessage.parse(data)
        if not isinstance(message, SipRequest):
            return
        self.requests.append(message)
        if self.silent:
            return
        method = message.method.upper()
        if method == "OPTIONS":
            self._send(make_response(message, 200, "OK", to_tag="reg"), addr)
        elif method == "REGISTER":
            self._register(message, addr)

    def _send(self, response: Any, addr: Any) -> None:
        assert self.transport is not None
        self.transport.sendto(bytes(response), addr)

    def _register(self, request: SipRequest, addr: Any) -> None:
        authorization = request.headers.get_first("authorization")
        if not authorization:
            challenge = make_response(request, 401, "Unauthorized", to_tag="reg")
            challenge.headers.set_single(
                "WWW-Authenticate",
                f'Digest realm="{REALM}", nonce="{self.nonce}", algorithm=MD5',
            )
            self._send(challenge, addr)
            return
        params = {m[0].lower(): m[1] or m[2] for m in _PARAM.findall(authorization)}
        user = params.get("username", "")
        expected = _md5(
            f"{_md5(f'{user}:{REALM}:{PASSWORD}')}:{self.nonce}:{_md5('REGISTER:' + params.get('uri', ''))}"
        )
        if params.get("response") != expected:
            self._send(make_response(request, 403, "Forbidden", to_tag="reg"), addr)
            return
        ok = make_response(request, 200, "OK", to_tag="reg")
        if user in self.registered:  # what the engine's REGISTER would have left
            ok.headers.append("Contact", f"<sip:{user}@10.0.0.9:5070>;expires=240")
        self._send(ok, addr)


def certificate(tmp: Path, name: str, *, days_left: float) -> str:
    """A PEM certificate file that expires ``days_left`` days from now (negative: expired)."""
    now = datetime.now(UTC)
    not_after = now + timedelta(days=days_left)
    leaf = trustme.CA().issue_cert(
        "127.0.0.1", not_before=min(now, not_after) - timedelta(days=60), not_after=not_after
    )
    path = tmp / f"{name}.pem"
    leaf.cert_chain_pems[0].write_to_path(str(path))
    return str(path)


@dataclass
class Installation:
    registrar: Registrar
    dnc_server: FakeDncServer
    contact_center: SimulatorServer
    certfile: str


@asynccontextmanager
async def installation(tmp: Path, *, ports: int = 2) -> AsyncIterator[Installation]:
    """A healthy dialer: every port registered, DNC answering, contact center up."""
    registrar = await Registrar().start()
    users = [f"port{i:03d}" for i in range(1, ports + 1)]
    registrar.registered.update(users)
    await platform_config.update_platform_config(
        SYSTEM,
        {
            "server": registrar.address,
            "domain": "dialer.test",
            "register": True,
            "ports": [{"user": u, "auth_user": u, "password": PASSWORD} for u in users],
        },
    )
    dnc_server = FakeDncServer().start()
    service = await dnc_services.create_service(
        SYSTEM,
        {
            "name": "Registry",
            "kind": "http",
            "url": dnc_server.url,
            "ca_bundle": dnc_server.ca_pem,
            "timeout_ms": 500,
            "options": {"retries": 0},
        },
    )
    group = await groups.create_group(SYSTEM, {"name": "Doctor"})
    today = date.today()
    await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Checked",
            "group_id": group["id"],
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=7)).isoformat(),
            "start_time": "09:00",
            "end_time": "17:00",
            "pilot_number": "5000",
            "dnc_service_id": service["id"],
        },
    )
    center = SimulatorServer(ContactCenter(session_timeout_s=5), base_path="/oscc/rest")
    await center.start()
    await routing_config.put(SYSTEM, "oscc", {"base_url": center.url, **OSCC_FAST})
    try:
        yield Installation(registrar, dnc_server, center, certificate(tmp, "web", days_left=200))
    finally:
        await dnc.close_all()  # providers of this test's services: nothing may outlive it
        await center.stop()
        dnc_server.stop()
        registrar.close()
