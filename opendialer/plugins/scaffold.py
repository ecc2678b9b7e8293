"""Built-in plugin ``scaffold``: ``opendialer plugins new dnc|routing NAME [--dir D]``.

Writes a ready-to-install plugin package from the templates in
``opendialer/contrib/templates/`` (``dnc_connector/``, ``routing_target/``): a
pyproject with the entry point, the plugin module, the provider or target
class, and tests that pass as generated (they use :mod:`opendialer.testing`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import typer

from opendialer.sdk import hookimpl

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
TEMPLATE_PACKAGE = "opendialer.contrib"


@dataclass(frozen=True, slots=True)
class PackageKind:
    """One kind of package ``plugins new`` writes."""

    template_dir: str
    #: Prefix of the package, distribution and entry-point names (``dnc`` → opendialer_dnc_x).
    prefix: str
    #: Suffix of the generated class (``DncProvider`` → TpsUkDncProvider).
    class_suffix: str


KINDS = {
    "dnc": PackageKind("templates/dnc_connector", "dnc", "DncProvider"),
    "routing": PackageKind("templates/routing_target", "routing", "RoutingTarget"),
}


class ScaffoldError(ValueError):
    """The package cannot be written; the message says why and what to do."""


def names_for(name: str, kind: str = "dnc") -> dict[str, str]:
    if not NAME_RE.match(name):
        raise ScaffoldError(
            f"{name!r} is not a usable name: use lower-case letters, digits and _ "
            "(2-40 characters, starting with a letter), e.g. tps_uk"
        )
    title = " ".join(part.capitalize() for part in name.split("_"))
    prefix = KINDS[kind].prefix
    return {
        "name": name,
        "kind": name,
        "title": title,
        "package": f"opendialer_{prefix}_{name}",
        "dist_name": f"opendialer-{prefix}-{name.replace('_', '-')}",
        "plugin_name": f"{prefix}_{name}",
        "class_name": "".join(part.capitalize() for part in name.split("_"))
        + KINDS[kind].class_suffix,
    }


def write_package(kind: str, name: str, directory: Path) -> Path:
    """Render the ``kind`` package for ``name`` under ``directory``; return its root."""
    values = names_for(name, kind)
    root = directory / values["dist_name"]
    if root.exists():
        raise ScaffoldError(f"{root} already exists: pick another --dir or remove it")
    templates = resources.files(TEMPLATE_PACKAGE).joinpath(KINDS[kind].template_dir)
    written: list[tuple[Path, str]] = []
    _collect(templates, Path(), values, written)
    for relative, text in written:
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def _collect(
    node: Any, relative: Path, values: dict[str, str], out: list[tuple[Path, str]]
) -> None:
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.is_dir():
            folder = values["package"] if child.name == "package" else child.name
            _collect(child, relative / folder, values, out)
        elif child.name.endswith(".tmpl"):
            text = Template(child.read_text(encoding="utf-8")).substitute(values)
            out.append((relative / child.name.removesuffix(".tmpl"), text))


def new_command(
    kind: str = typer.Argument(
        ..., help="What to create: dnc (a Do-Not-Call connector) or routing (a routing target)."
    ),
    name: str = typer.Argument(
        ..., help="Short name, e.g. tps_uk: the DNC service kind or routing target admins pick."
    ),
    directory: Path = typer.Option(Path("."), "--dir", help="Where to create the package."),
) -> None:
    """Write a ready-to-install plugin package (pyproject, provider, passing tests)."""
    if kind not in KINDS:
        typer.echo(f"error: cannot create {kind!r}; available: {', '.join(KINDS)}", err=True)
        raise typer.Exit(1)
    try:
        root = write_package(kind, name, directory)
    except (ScaffoldError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    values = names_for(name, kind)
    typer.echo(f"created {root}")
    what = "kind" if kind == "dnc" else "routing target"
    typer.echo(f"  {what} {values['kind']!r}, entry point {values['plugin_name']!r}")
    typer.echo(f"next:  pip install -e '{root}[test]' && python -m pytest {root}")


@hookimpl
def register_commands(app: Any) -> None:
    for group in app.registered_groups:
        if group.name == "plugins" and group.typer_instance is not None:
            group.typer_instance.command("new")(new_command)
            return
    raise RuntimeError("the CLI has no 'plugins' command group to add 'new' to")
