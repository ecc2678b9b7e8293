"""``opendialer plugins new routing NAME``: the package it writes is complete, passes
its own tests, and its target is checked and driven through the plugin manager."""

from __future__ import annotations

import asyncio
import importlib
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_cli

from opendialer.core.services import routing_config
from opendialer.core.services.errors import ValidationFailed
from opendialer.sdk import RoutingRequest
from opendialer.testing import FakeClock, registered_plugin

REQUEST = RoutingRequest(campaign_id=1, campaign_type="IVR", queue="sales", pilot_number="4000")


@pytest.fixture
def generated(tmp_path: Path) -> tuple[str, Path]:
    """A freshly generated target (a unique name: its module is imported by this test)."""
    name = f"acme_{secrets.token_hex(3)}"
    result = run_cli("plugins", "new", "routing", name, "--dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    root = tmp_path / f"opendialer-routing-{name.replace('_', '-')}"
    assert f"created {root}" in result.stdout
    assert f"routing target '{name}'" in result.stdout
    return name, root


def test_the_generated_package_is_complete(generated: tuple[str, Path]) -> None:
    name, root = generated
    package = root / f"opendialer_routing_{name}"
    assert sorted(p.name for p in package.iterdir()) == ["__init__.py", "plugin.py", "target.py"]
    pyproject = (root / "pyproject.toml").read_text()
    assert f'routing_{name} = "opendialer_routing_{name}.plugin"' in pyproject
    assert "$" not in (package / "target.py").read_text()  # every placeholder filled
    again = run_cli("plugins", "new", "routing", name, "--dir", str(root.parent))
    assert again.returncode == 1 and "already exists" in again.stderr
    other = run_cli("plugins", "new", "amd", "x1", "--dir", str(root.parent))
    assert other.returncode == 1 and "available: dnc, routing" in other.stderr


async def test_its_own_tests_pass(generated: tuple[str, Path]) -> None:
    _, root = generated
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), *sys.path])}
    own_tests = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert own_tests.returncode == 0, own_tests.stdout + own_tests.stderr
    assert "3 passed" in own_tests.stdout


async def test_the_target_is_checked_and_driven_through_the_plugin_manager(
    generated: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, root = generated
    monkeypatch.syspath_prepend(str(root))
    plugin = importlib.import_module(f"opendialer_routing_{name}.plugin")
    with registered_plugin(plugin, f"routing_{name}") as pm:
        assert routing_config.validate(name, {"channels": 3}) == {
            "channels": 3,
            "hold_timeout_s": 60.0,
        }
        with pytest.raises(ValidationFailed) as refused:
            routing_config.validate(name, {"channels": -1, "hold_timeout_s": 0})
        fields = {e["field"] for e in refused.value.as_dict()["errors"]}  # type: ignore[union-attr]
        assert fields == {"options.channels", "options.hold_timeout_s"}

        clock = FakeClock()
        target = pm.factories("routing_targets")[name](options={"channels": 1}, context=clock)
        await target.start()
        try:
            target.reserve(REQUEST, "call-1")
            assert target.free_slots(REQUEST) == 0
            target.release("call-1", transferred=True)
            assert target.free_slots(REQUEST) == 1 and clock.pacer_wakes == 1
        finally:
            await target.close()
