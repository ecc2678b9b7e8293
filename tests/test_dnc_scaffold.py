"""``opendialer plugins new dnc NAME``: the package it writes installs, is listed,
passes its own tests, and its provider answers through the plugin manager."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from engine_support import (
    add_leads,
    add_schedule,
    leads_by_phone,
    make_campaign,
    make_engine,
    records,
    run_round,
    utc,
)
from helpers import run_cli

from opendialer.core import dnc
from opendialer.core.engine.clock import FakeClock
from opendialer.core.plugins import PluginManager, get_plugin_manager, reset_plugin_manager
from opendialer.core.storage import Database
from opendialer.core.storage.tables import DncService
from opendialer.sdk.contracts import DncServiceConfig, DncUnavailable
from opendialer.testing import FakeDncServer

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]


def generate(folder: Path) -> tuple[str, Path]:
    """A freshly generated connector (a unique name: other suites share this venv)."""
    name = f"acme_{secrets.token_hex(3)}"
    result = run_cli("plugins", "new", "dnc", name, "--dir", str(folder))
    assert result.returncode == 0, result.stderr
    root = folder / f"opendialer-dnc-{name.replace('_', '-')}"
    assert f"created {root}" in result.stdout
    return name, root


@pytest.fixture
def generated(tmp_path: Path) -> tuple[str, Path]:
    return generate(tmp_path)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Generated and pip-installed once for this module; uninstalled at its end."""
    name, root = generate(tmp_path_factory.mktemp("scaffold"))
    subprocess.run([*PIP, "install", "--no-build-isolation", "--no-deps", str(root)], check=True)
    reset_plugin_manager()
    try:
        yield name, root
    finally:
        subprocess.run([*PIP, "uninstall", "-y", f"opendialer-dnc-{name.replace('_', '-')}"])
        reset_plugin_manager()


def test_the_generated_package_is_complete(generated: tuple[str, Path]) -> None:
    name, root = generated
    package = root / f"opendialer_dnc_{name}"
    assert sorted(p.name for p in package.iterdir()) == ["__init__.py", "plugin.py", "provider.py"]
    pyproject = (root / "pyproject.toml").read_text()
    assert f'dnc_{name} = "opendialer_dnc_{name}.plugin"' in pyproject
    assert "$" not in (package / "provider.py").read_text()  # every placeholder filled
    again = run_cli("plugins", "new", "dnc", name, "--dir", str(root.parent))
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = run_cli("plugins", "new", "dnc", "Bad-Name", "--dir", str(root.parent))
    assert bad.returncode == 1 and "not a usable name" in bad.stderr
    other = run_cli("plugins", "new", "amd", "x1", "--dir", str(root.parent))
    assert other.returncode == 1 and "available: dnc" in other.stderr


async def test_installed_it_is_listed_passes_its_tests_and_answers(
    installed: tuple[str, Path],
) -> None:
    name, root = installed
    listing = run_cli("plugins", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    plugins = {p["name"]: p for p in json.loads(listing.stdout)}
    mine = plugins[f"dnc_{name}"]
    assert mine["source"] == f"opendialer-dnc-{name.replace('_', '-')}"
    assert mine["hooks"] == ["register_dnc_providers"]
    assert f"dnc_{name}" not in listing.stderr  # loaded cleanly

    own_tests = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert own_tests.returncode == 0, own_tests.stdout + own_tests.stderr
    assert "2 passed" in own_tests.stdout

    assert name in get_plugin_manager().factories("dnc_providers")
    with FakeDncServer(blocked={"554181021119"}) as server:
        config = DncServiceConfig(
            id=9001, name="Acme", kind=name, url=server.url, ca_bundle=server.ca_pem
        )
        try:
            provider = await dnc.provider_for(config)
            assert (await provider.check("554181021119")).do_not_call is True
            assert (await provider.check("554181021120")).do_not_call is False
            server.mode = "error"
            with pytest.raises(DncUnavailable):
                await provider.check("554181021120")
        finally:
            await dnc.close_all()


async def test_a_campaign_uses_the_installed_connector(
    installed: tuple[str, Path], db: Database
) -> None:
    name, _ = installed
    with FakeDncServer(blocked={"5541981021119"}) as server:
        service = DncService(name="Acme", kind=name, url=server.url, ca_bundle=server.ca_pem)
        await service.save().run()
        clock = FakeClock(utc(2026, 3, 2, 10, 0))
        cid = await make_campaign(dnc_service=service.id)
        await add_schedule(cid, date(2026, 3, 2))
        await add_leads(cid, ["5541981021119", "5541981021120"])
        engine = make_engine(db, clock, mix={"human": 1}, pm=PluginManager().load_all())
        await engine.start(run_loop=False)
        try:
            await run_round(engine, rounds=2)
        finally:
            await engine.stop()
        assert server.requests >= 2  # the generated provider asked the service
    leads = await leads_by_phone(cid)
    assert leads["5541981021119"]["status"] == "DO_NOT_CALL"
    assert leads["5541981021120"]["status"] == "SUCCESS"
    [blocked] = [c for c in await records(cid) if c["phone"] == "5541981021119"]
    assert blocked["dnc_service"] == "Acme" and blocked["dnc_result"] == "blocked"
