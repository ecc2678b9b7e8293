"""SIP over TLS (SIPp here has no TLS): a scripted far end behind a trustme certificate."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme
from sip_helpers import EnergyAmd, call_request, eventually, running_platform, sip_config
from sip_scripted_far_end import AUDIO, Behaviour, ScriptedUas

from opendialer.sdk.contracts import CallDisposition, PlatformUnavailable

pytestmark = pytest.mark.timeout(60)

HUMAN = (AUDIO / "human_hello.ulaw").read_bytes()[: 8000 * 3]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_far_end(ca: trustme.CA) -> AsyncIterator[ScriptedUas]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    uas = await ScriptedUas(Behaviour(rtp=HUMAN)).start_tls(context)
    yield uas
    uas.close()


async def test_call_over_tls_is_transferred(
    tls_far_end: ScriptedUas, ca: trustme.CA, tmp_path: Path
) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    config = sip_config(tls_far_end.address, transport="tls")
    async with running_platform(config, tls_ca_file=str(ca_file)) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd()))
    assert outcome.disposition is CallDisposition.TRANSFERRED, outcome
    invite = tls_far_end.requests("INVITE")[0]
    assert (invite.headers.get_first("via") or "").startswith("SIP/2.0/TLS ")
    assert ";transport=tls" in (invite.headers.get_first("contact") or "")
    await eventually(lambda: tls_far_end.count("BYE") == 1)


async def test_untrusted_server_certificate_puts_the_platform_down(
    tls_far_end: ScriptedUas,
) -> None:
    config = sip_config(tls_far_end.address, transport="tls")
    async with running_platform(config, probe_interval_s=0.2) as platform:  # system CAs only
        health = platform.health()
        assert not health.ok and "certificate" in health.detail.lower(), health
        with pytest.raises(PlatformUnavailable):
            await platform.originate(call_request(amd=EnergyAmd()))
    assert tls_far_end.count("INVITE") == 0
