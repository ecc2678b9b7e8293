"""Plugins, built-in or contrib, are written as a third party's are: they import
``opendialer.sdk`` (and ``opendialer.testing`` in tests), never the dialer's
internals. This walks every module's imports (the AST, so imports inside
functions count too), templates of generated packages included."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path
from string import Template

import opendialer

PACKAGE = Path(opendialer.__file__).parent
ROOTS = [PACKAGE / "plugins", PACKAGE / "contrib"]
FORBIDDEN = ("opendialer.core", "opendialer.admin_ui", "opendialer.cli")
#: Where built-in plugins and contrib pieces live: each may import its own package,
#: never another's (a simulator of a plugin's far end lives inside that plugin).
PLUGIN_PACKAGES = ("opendialer.plugins", "opendialer.contrib")


def _modules() -> list[Path]:
    found = []
    for root in ROOTS:
        found += [*root.rglob("*.py"), *root.rglob("*.py.tmpl")]
    return sorted(found)


def _imported(path: Path) -> list[tuple[int, str]]:
    text = path.read_text(encoding="utf-8")
    if path.name.endswith(".tmpl"):  # ${package} etc.: any identifier parses
        text = Template(text).substitute(defaultdict(lambda: "sample"))
    tree = ast.parse(text, filename=str(path))
    names: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append((node.lineno, node.module))
            # ``from opendialer import core`` reaches the internals too
            names += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return names


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def _own_package(path: Path) -> str:
    """``opendialer.plugins.route_oscc`` for any module of that plugin (a single-module
    plugin is its own package)."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(("opendialer", parts[0], parts[1].removesuffix(".py")))


def _anothers(name: str, own: str) -> bool:
    """A module of another plugin or contrib piece (its package or anything in it)."""
    for root in PLUGIN_PACKAGES:
        if name.startswith(root + ".") and not (name == own or name.startswith(own + ".")):
            return True
    return False


def test_plugins_import_only_the_sdk_and_their_own_package() -> None:
    offences = []
    for path in _modules():
        relative = path.relative_to(PACKAGE).as_posix()
        own = _own_package(path)
        for line, name in _imported(path):
            if _forbidden(name) or _anothers(name, own):
                offences.append(f"opendialer/{relative}:{line}: imports {name}")
    assert not offences, "plugins must import opendialer.sdk instead:\n" + "\n".join(offences)


def test_a_plugin_may_not_reach_into_another() -> None:
    oscc = PACKAGE / "plugins" / "route_oscc" / "simulator" / "app.py"
    assert _own_package(oscc) == "opendialer.plugins.route_oscc"
    assert not _anothers("opendialer.plugins.route_oscc.options", "opendialer.plugins.route_oscc")
    assert _anothers("opendialer.plugins.route_oscc.options", "opendialer.contrib.cc_tool")
    assert _anothers("opendialer.plugins.route_oscc", "opendialer.plugins.route_ivr")
    assert _own_package(PACKAGE / "plugins" / "route_static.py") == (
        "opendialer.plugins.route_static"
    )


def test_the_walk_sees_every_kind_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import opendialer.core.dnc\n"
        "from opendialer import core\n"
        "def later():\n"
        "    from opendialer.admin_ui.app import create_app\n"
        "from opendialer.sdk import hookimpl\n"
    )
    found = [name for _, name in _imported(sample) if _forbidden(name)]
    assert found == [
        "opendialer.core.dnc",
        "opendialer.core",
        "opendialer.admin_ui.app",
        "opendialer.admin_ui.app.create_app",
    ]
    assert len(_modules()) > 40 and any(p.suffix == ".tmpl" for p in _modules())
