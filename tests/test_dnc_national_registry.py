"""The national-registry example connector: full + change files into a local index,
refreshed when the registry publishes, out of service when the data is too old."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opendialer.contrib.national_registry import plugin
from opendialer.contrib.national_registry.provider import NationalRegistryProvider
from opendialer.core.plugins import PluginManager
from opendialer.sdk.contracts import DncServiceConfig, DncUnavailable
from opendialer.testing import FakeClock, registered_plugin


@pytest.fixture
async def registry(
    tmp_path: Path,
) -> AsyncIterator[tuple[NationalRegistryProvider, Path, FakeClock]]:
    (tmp_path / "full-20261101.txt").write_text("12025550101\n12025550102\n12025550103\n")
    (tmp_path / "add-20261103.txt").write_text("+12025550104\n")
    (tmp_path / "del-20261103.txt").write_text("12025550102\n")
    (tmp_path / "full-20261001.txt").write_text("19999999999\n")  # superseded
    (tmp_path / "notes.txt").write_text("not a registry file\n")
    clock = FakeClock(start=datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    pm = PluginManager()
    with registered_plugin(plugin, "national_registry", manager=pm):
        factory = pm.factories("dnc_providers")["national_registry"]
    config = DncServiceConfig(
        id=5,
        name="US National DNC",
        kind="national_registry",
        options={"directory": str(tmp_path), "max_age_days": 31, "refresh_interval_s": 3600},
    )
    provider = factory(config=config, context=clock)
    await provider.start()
    yield provider, tmp_path, clock
    await provider.close()


async def listed(provider: NationalRegistryProvider, number: str) -> bool:
    return (await provider.check(number)).do_not_call


async def test_full_file_plus_changes(registry) -> None:  # type: ignore[no-untyped-def]
    provider, _, _ = registry
    assert await listed(provider, "12025550101")
    assert not await listed(provider, "12025550102")  # deleted on the 3rd
    assert await listed(provider, "12025550104")  # added on the 3rd
    assert not await listed(provider, "19999999999")  # only in an older full file
    health = provider.health()
    assert health.ok and "3 numbers as of 2026-11-03" in health.detail


async def test_too_old_data_puts_it_out_of_service_until_new_files_arrive(registry) -> None:  # type: ignore[no-untyped-def]
    provider, folder, clock = registry
    clock.advance(15 * 86400)  # 2026-12-05: the newest file (11-03) is 32 days old
    with pytest.raises(DncUnavailable, match="data older than 31 days"):
        await provider.check("12025550101")
    assert not provider.health().ok
    (folder / "add-20261204.txt").write_text("12025550105\n")
    assert await provider.refresh() is True
    assert await listed(provider, "12025550105")
    assert await provider.refresh() is False  # nothing new


async def test_a_broken_file_keeps_the_previous_index(registry) -> None:  # type: ignore[no-untyped-def]
    provider, folder, _ = registry
    (folder / "add-20261110.txt").write_text("12025550106\nnot-a-number\n")
    assert await provider.refresh() is False
    assert await listed(provider, "12025550101")
    health = provider.health()
    assert health.ok and "add-20261110.txt: 1 invalid line(s), first line 2" in health.detail


async def test_no_files_means_out_of_service(tmp_path: Path) -> None:
    config = DncServiceConfig(
        id=6, name="Empty", kind="national_registry", options={"directory": str(tmp_path)}
    )
    provider = NationalRegistryProvider(config)
    await provider.start()
    try:
        with pytest.raises(DncUnavailable, match=r"no full-YYYYMMDD\.txt file"):
            await provider.check("12025550101")
    finally:
        await provider.close()
    with pytest.raises(ValueError, match="option 'directory'"):
        NationalRegistryProvider(DncServiceConfig(id=7, name="x", kind="national_registry"))
