"""The plugin manager: built-ins, entry points, broken plugins, the CLI listing."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import run_cli

from opendialer.core.plugins import PluginManager, get_plugin_manager
from opendialer.sdk.hookspecs import hookimpl

BUILTINS = {"retry_default", "pacing_progressive", "route_static"}


def test_builtins_load_through_the_same_door() -> None:
    pm = PluginManager().load_all()
    infos = {p.name: p for p in pm.plugins()}
    assert BUILTINS <= set(infos)
    assert infos["retry_default"].source == "builtin"
    assert infos["retry_default"].hooks == ["register_retry_policies"]
    assert pm.failures == []
    assert "default" in pm.factories("retry_policies")
    assert "progressive" in pm.factories("pacing_modes")


def test_a_registered_plugin_object_is_called_and_can_be_removed() -> None:
    pm = PluginManager().load_all()
    calls: list[str] = []

    class Throwaway:
        @hookimpl
        def register_dnc_providers(self):
            calls.append("dnc")
            return {"throwaway": object}

    assert pm.register(Throwaway(), name="throwaway")
    assert pm.factories("dnc_providers")["throwaway"] is object
    assert calls == ["dnc"]
    pm.unregister("throwaway")
    assert "throwaway" not in pm.factories("dnc_providers")


def test_unknown_hook_is_reported_by_name_and_the_rest_still_load() -> None:
    pm = PluginManager().load_all()

    class Typo:
        @hookimpl
        def register_dnc_provider(self):  # missing "s"
            return {}

    assert not pm.register(Typo(), name="typo_plugin")
    [failure] = pm.failures
    assert failure.name == "typo_plugin"
    assert "register_dnc_provider" in failure.error
    assert BUILTINS <= {p.name for p in pm.plugins()}


def test_wrong_hook_arguments_are_reported() -> None:
    pm = PluginManager()

    class BadArgs:
        @hookimpl
        def call_finished(self, call, nonsense):
            return None

    assert not pm.register(BadArgs(), name="bad_args")
    assert pm.failures[0].name == "bad_args"
    assert "nonsense" in pm.failures[0].error


def test_duplicate_short_names_are_reported_with_both_plugins() -> None:
    pm = PluginManager().load_all()

    class Clash:
        @hookimpl
        def register_retry_policies(self):
            return {"default": object}

    pm.register(Clash(), name="clash")
    factories = pm.factories("retry_policies")
    assert factories["default"] is not object  # the built-in kept its name
    assert any(f.name == "clash" and "retry_default" in f.error for f in pm.failures)


def test_registration_hook_that_raises_is_reported() -> None:
    pm = PluginManager()

    class Raises:
        @hookimpl
        def register_platforms(self):
            raise RuntimeError("license file missing")

    pm.register(Raises(), name="raises")
    assert pm.factories("platforms") == {}
    assert "license file missing" in pm.failures[0].error


async def test_event_hook_errors_never_stop_the_caller() -> None:
    pm = PluginManager()
    seen: list[str] = []

    class Broken:
        @hookimpl
        def call_finished(self, call):
            raise RuntimeError("crm down")

    class Async:
        @hookimpl
        async def call_finished(self, call):
            seen.append(call["status"])

    pm.register(Broken(), name="broken")
    pm.register(Async(), name="async_observer")
    await pm.notify("call_finished", call={"status": "SUCCESS"})
    assert seen == ["SUCCESS"]


def test_disable_env_blocks_builtins(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(
        "plugins",
        "list",
        "--json",
        env={
            **__import__("os").environ,
            "OPENDIALER_DISABLE_PLUGINS": "route_static, retry_default",
        },
    )
    assert result.returncode == 0, result.stderr
    names = {p["name"] for p in json.loads(result.stdout)}
    assert "route_static" not in names and "retry_default" not in names
    assert "pacing_progressive" in names


def test_plugins_list_json_shape() -> None:
    result = run_cli("plugins", "list", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, list) and data
    for item in data:
        assert set(item) == {"name", "version", "source", "hooks"}
    assert BUILTINS <= {p["name"] for p in data}


def test_plugins_info_and_unknown_name() -> None:
    ok = run_cli("plugins", "info", "route_static", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["hooks"] == ["register_routing_targets"]
    missing = run_cli("plugins", "info", "nope")
    assert missing.returncode == 1
    assert "no plugin named 'nope'" in missing.stderr


PLUGIN_PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "opendialer-throwaway-{tag}"
version = "1.2.3"

[project.entry-points.opendialer]
throwaway_{tag} = "throwaway_{tag}.plugin"
broken_{tag} = "throwaway_{tag}.broken"
"""

PLUGIN_MODULE = """
from opendialer.sdk.hookspecs import hookimpl


class NeverRetry:
    def __init__(self, context=None):
        pass

    def next_attempt_at(self, **kwargs):
        return None


@hookimpl
def register_retry_policies():
    return {{"never_{tag}": NeverRetry}}


@hookimpl
def register_commands(app):
    @app.command("throwaway-{tag}")
    def hello() -> None:
        print("hello from throwaway {tag}")
"""


@pytest.fixture
def installed_plugin(tmp_path: Path):
    """Build and pip-install a throw-away plugin distribution; uninstall afterwards."""
    # Random, so concurrent test runs on one machine never uninstall each other's package.
    tag = f"t{secrets.token_hex(4)}"
    root = tmp_path / "dist"
    package = root / f"throwaway_{tag}"
    package.mkdir(parents=True)
    (root / "pyproject.toml").write_text(PLUGIN_PYPROJECT.format(tag=tag))
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text(textwrap.dedent(PLUGIN_MODULE.format(tag=tag)))
    (package / "broken.py").write_text("raise ImportError('needs libfoo')\n")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--no-build-isolation", "--no-deps", str(root)], check=True)
    try:
        yield tag
    finally:
        subprocess.run([*pip, "uninstall", "-y", f"opendialer-throwaway-{tag}"], check=False)


def test_an_installed_distribution_is_listed_and_its_hooks_called(installed_plugin: str) -> None:
    tag = installed_plugin
    listing = run_cli("plugins", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    plugins = {p["name"]: p for p in json.loads(listing.stdout)}
    mine = plugins[f"throwaway_{tag}"]
    assert mine["source"] == f"opendialer-throwaway-{tag}"
    assert mine["version"] == "1.2.3"
    assert mine["hooks"] == ["register_commands", "register_retry_policies"]
    # the broken entry point is reported by name, and did not stop the others
    assert f"broken_{tag}" not in plugins
    assert f"plugin 'broken_{tag}'" in listing.stderr and "needs libfoo" in listing.stderr
    # its CLI hook was called
    hello = run_cli(f"throwaway-{tag}")
    assert hello.returncode == 0, hello.stderr
    assert f"hello from throwaway {tag}" in hello.stdout
    # and its registration hook answers in a fresh process
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "from opendialer.core.plugins import get_plugin_manager as g;"
            "print(sorted(g().factories('retry_policies')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"never_{tag}" in probe.stdout


def test_the_process_manager_is_cached() -> None:
    assert get_plugin_manager() is get_plugin_manager()
