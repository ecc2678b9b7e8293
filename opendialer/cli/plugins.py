"""``opendialer plugins``: list and inspect the loaded plugins (``plugins new`` is
added by the scaffold plugin through ``register_commands``)."""

from __future__ import annotations

import json
import sys

import typer
from rich.table import Table

from opendialer.cli.runner import err, fail, out
from opendialer.core.plugins import get_plugin_manager

plugins_app = typer.Typer(help="List and inspect plugins, scaffold new ones.", no_args_is_help=True)


def _report_plugin_failures() -> None:
    for failure in get_plugin_manager().failures:
        err.print(
            f"[yellow]plugin {failure.name!r} ({failure.source}) failed to load:[/] "
            f"{failure.error}",
            highlight=False,
        )


@plugins_app.command("list")
def plugins_list(as_json: bool = typer.Option(False, "--json", help="Print a JSON array.")) -> None:
    """Every loaded plugin: name, version, source (builtin or distribution), hooks."""
    infos = get_plugin_manager().plugins()
    if as_json:
        sys.stdout.write(json.dumps([p.as_dict() for p in infos], indent=2) + "\n")
    else:
        table = Table("name", "version", "source", "hooks")
        for p in infos:
            table.add_row(p.name, p.version, p.source, ", ".join(p.hooks))
        out.print(table)
    _report_plugin_failures()


@plugins_app.command("info")
def plugins_info(name: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """One plugin's details."""
    info = get_plugin_manager().info(name)
    if info is None:
        failed = [f for f in get_plugin_manager().failures if f.name == name]
        if failed:
            fail(f"plugin {name!r} failed to load: {failed[0].error}")
        known = ", ".join(p.name for p in get_plugin_manager().plugins())
        fail(f"no plugin named {name!r}; loaded: {known}")
        return
    if as_json:
        sys.stdout.write(json.dumps(info.as_dict(), indent=2) + "\n")
        return
    out.print(f"[bold]{info.name}[/] {info.version}  (source: {info.source})")
    for hook in info.hooks:
        out.print(f"  hook {hook}")
