"""Dialer ports registering at the platform: digest (SIPp registrar), refresh, back-off."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sip_helpers import call_request, eventually, running_platform, sip_config
from sip_scripted_far_end import Behaviour, ScriptedUas
from sipp_far_end import SippUas, ensure_sipp

from opendialer.sdk.contracts import PlatformUnavailable

pytestmark = pytest.mark.timeout(120)


def registrar(password: str) -> SippUas:
    return SippUas(
        "uas_register_auth.xml",
        calls=1,
        keys={"user": "port001", "pass": password, "expires": "300"},
    )


@pytest.mark.sip
async def test_port_registers_with_digest(tmp_path: Path) -> None:
    ensure_sipp()
    uas = registrar("secret").start(tmp_path)
    config = sip_config(uas.address, ports=1, register=True)
    async with running_platform(config) as platform:
        await eventually(lambda: platform.registrations()[0]["state"] == "registered")
        row = platform.registrations()[0]
        assert row["user"] == "port001" and row["last_code"] == 200 and row["expires_at"]
        assert "password" not in row and "secret" not in repr(row)
        assert platform.health().ok and platform.free_ports() == 1
        assert await asyncio.to_thread(uas.wait, 30) == 0, uas.errors()


@pytest.mark.sip
async def test_wrong_password_fails_registration_and_blocks_calls(tmp_path: Path) -> None:
    ensure_sipp()
    uas = registrar("another-password").start(tmp_path)
    config = sip_config(uas.address, ports=1, register=True)
    async with running_platform(config, register_backoff_s=60.0) as platform:
        await eventually(lambda: platform.registrations()[0]["state"] == "failed")
        row = platform.registrations()[0]
        assert row["last_code"] == 403 and "password" in str(row["detail"])
        assert row["next_attempt_at"] is not None
        health = platform.health()
        assert not health.ok and "no port registered" in health.detail
        assert platform.free_ports() == 0
        with pytest.raises(PlatformUnavailable):
            await platform.originate(call_request())
        assert await asyncio.to_thread(uas.wait, 30) == 0, uas.errors()


async def test_registration_is_refreshed_before_it_expires() -> None:
    uas = await ScriptedUas(Behaviour(register_expires=2)).start()
    try:
        config = sip_config(uas.address, ports=1, register=True)
        async with running_platform(config) as platform:
            await eventually(lambda: uas.count("REGISTER") >= 3)
            assert platform.registrations()[0]["state"] == "registered"
        registers = uas.requests("REGISTER")
        assert len({r.call_id for r in registers}) == 1  # one binding, refreshed
        seqs = [r.cseq.seq for r in registers if r.cseq]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert registers[-1].headers.get_first("expires") == "0"  # unregistered on close
    finally:
        uas.close()


async def test_failed_registration_backs_off() -> None:
    uas = await ScriptedUas(Behaviour(reject_register=True)).start()
    try:
        config = sip_config(uas.address, ports=1, register=True)
        async with running_platform(config, register_backoff_s=0.2) as platform:
            await asyncio.sleep(1.6)
            row = platform.registrations()[0]
            assert row["state"] in ("failed", "registering")
            assert isinstance(row["failures"], int) and row["failures"] >= 2
        # 0.2 s doubling: attempts at about 0, 0.2, 0.6, 1.4 s — never a tight loop
        assert 2 <= uas.count("REGISTER") <= 5
    finally:
        uas.close()


async def test_trunk_mode_needs_no_registration() -> None:
    uas = await ScriptedUas(Behaviour()).start()
    try:
        async with running_platform(sip_config(uas.address, ports=3)) as platform:
            assert platform.health().ok and platform.free_ports() == 3
            assert {r["state"] for r in platform.registrations()} == {"not_required"}
        assert uas.count("REGISTER") == 0
    finally:
        uas.close()
