"""The external Do-Not-Call provider against a real HTTPS server on 127.0.0.1
(trustme certificates): answers, fail-closed cases, TLS failures, the circuit
breaker, outage and recovery."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import trustme

from opendialer.core import dnc
from opendialer.plugins.dnc_http.breaker import BreakerState
from opendialer.plugins.dnc_http.provider import HttpDncProvider
from opendialer.sdk.contracts import DncServiceConfig, DncUnavailable
from opendialer.testing import FakeClock, FakeDncServer

BLOCKED = "554181021119"
FREE = "554181021120"


@pytest.fixture
def server() -> Iterator[FakeDncServer]:
    with FakeDncServer(blocked={BLOCKED}) as fake:
        yield fake


def config_for(server: FakeDncServer, **changes: object) -> DncServiceConfig:
    base: dict[str, object] = {
        "id": 41,
        "name": "Registry",
        "kind": "http",
        "url": server.url,
        "ca_bundle": server.ca_pem,
        "timeout_ms": 300,
        "options": {"retries": 1, "retry_backoff_ms": 1, "breaker_failures": 3},
    }
    base.update(changes)
    return DncServiceConfig(**base)  # type: ignore[arg-type]


@pytest.fixture
async def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def provider(server: FakeDncServer, clock: FakeClock) -> AsyncIterator[HttpDncProvider]:
    p = HttpDncProvider(config_for(server), context=clock, monotonic=clock.monotonic)
    await p.start()
    yield p
    await p.close()


async def test_answers_yes_and_no_over_one_kept_alive_connection(
    provider: HttpDncProvider, server: FakeDncServer, clock: FakeClock
) -> None:
    blocked = await provider.check(BLOCKED)
    assert blocked.do_not_call is True and blocked.number == BLOCKED
    assert blocked.service == "Registry" and blocked.checked_at == clock.now()
    assert (await provider.check(FREE)).do_not_call is False
    assert provider.health().ok and server.requests == 2
    assert server.connections == 1  # keep-alive


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("error", "HTTP 503"),
        ("malformed", "malformed JSON"),
        ("wrong_number", "answer is for number '999"),
        ("no_flag", "no boolean doNotCall"),
        ("drop", "RemoteProtocolError"),
        ("slow", "ReadTimeout after 0.3 s"),
    ],
)
async def test_every_untrustworthy_answer_fails_closed(
    provider: HttpDncProvider, server: FakeDncServer, mode: str, reason: str
) -> None:
    server.mode = mode
    server.delay_s = 1.0
    with pytest.raises(DncUnavailable) as caught:
        await provider.check(FREE)  # a free number: the failure must not read as "callable"
    assert reason in str(caught.value) and "Registry" in str(caught.value)
    assert not provider.health().ok


async def test_transient_failures_are_retried_bounded(
    provider: HttpDncProvider, server: FakeDncServer
) -> None:
    server.mode = "error"
    with pytest.raises(DncUnavailable, match="after 2 attempts"):
        await provider.check(FREE)
    assert server.requests == 2  # one try + retries=1
    server.mode = "malformed"
    with pytest.raises(DncUnavailable):
        await provider.check(FREE)
    assert server.requests == 3  # a malformed answer is not retried


async def test_tls_unknown_ca_is_refused(server: FakeDncServer) -> None:
    other_ca = trustme.CA().cert_pem.bytes().decode()
    for ca_bundle in (other_ca, None):  # someone else's CA; the system CAs
        p = HttpDncProvider(config_for(server, ca_bundle=ca_bundle))
        await p.start()
        try:
            with pytest.raises(DncUnavailable, match="TLS verification failed"):
                await p.check(BLOCKED)
        finally:
            await p.close()


async def test_tls_wrong_host_name_is_refused() -> None:
    with FakeDncServer(hostname="dnc.example.com") as wrong_name:
        p = HttpDncProvider(config_for(wrong_name))
        await p.start()
        try:
            with pytest.raises(DncUnavailable, match="TLS verification failed"):
                await p.check(BLOCKED)
        finally:
            await p.close()


def test_plain_http_is_refused_unless_marked_insecure(server: FakeDncServer) -> None:
    plain = server.url.replace("https://", "http://")
    with pytest.raises(ValueError, match="plain HTTP; use https://, or mark the service insecure"):
        HttpDncProvider(config_for(server, url=plain))
    HttpDncProvider(config_for(server, url=plain, insecure=True))  # allowed when explicit
    with pytest.raises(ValueError, match="retries"):
        HttpDncProvider(config_for(server, options={"retries": -1}))
    with pytest.raises(ValueError, match="ca_bundle"):
        HttpDncProvider(config_for(server, ca_bundle="not a pem"))


async def test_breaker_opens_fails_fast_and_recovers_through_a_probe(
    provider: HttpDncProvider, server: FakeDncServer, clock: FakeClock
) -> None:
    server.stop()  # outage: the port refuses connections
    for _ in range(3):
        with pytest.raises(DncUnavailable, match="cannot connect"):
            await provider.check(BLOCKED)
    assert provider.breaker.state is BreakerState.OPEN
    with pytest.raises(DncUnavailable, match="circuit open"):
        await provider.check(BLOCKED)  # fails fast, no network
    assert "circuit open" in provider.health().detail
    server.start()  # recovery, same port
    with pytest.raises(DncUnavailable, match="circuit open"):
        await provider.check(BLOCKED)  # still cooling down
    clock.advance(5.0)
    assert provider.breaker.state is BreakerState.HALF_OPEN
    assert (await provider.check(BLOCKED)).do_not_call is True  # the probe
    assert provider.breaker.state is BreakerState.CLOSED and provider.health().ok


async def test_failed_probe_reopens(
    provider: HttpDncProvider, server: FakeDncServer, clock: FakeClock
) -> None:
    server.mode = "error"
    for _ in range(3):
        with pytest.raises(DncUnavailable):
            await provider.check(FREE)
    clock.advance(5.0)
    with pytest.raises(DncUnavailable, match="HTTP 503"):
        await provider.check(FREE)  # the probe went out and failed
    assert provider.breaker.state is BreakerState.OPEN


async def test_built_through_the_plugin_manager(server: FakeDncServer) -> None:
    row = {
        "id": 99,
        "name": "Registry",
        "kind": "http",
        "url": server.url,
        "ca_bundle": server.ca_pem,
        "timeout_ms": 5000,  # a loaded CI machine: this test is about the build, not speed
        "insecure": False,
        "options": '{"retries": 0}',
        "updated_at": None,
    }
    try:
        provider = await dnc.provider_for(row)
        assert isinstance(provider, HttpDncProvider)
        assert (await provider.check(BLOCKED)).do_not_call is True
        with pytest.raises(DncUnavailable, match="no provider for kind 'tps_uk'"):
            await dnc.provider_for({**row, "id": 100, "kind": "tps_uk"})
        with pytest.raises(DncUnavailable, match=r"failed to start: ValueError: .*plain HTTP"):
            await dnc.provider_for({**row, "id": 101, "url": "http://127.0.0.1:1/x"})
    finally:
        await dnc.close_all()
