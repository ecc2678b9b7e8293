"""The ``opendialer`` root command: its groups and commands, in the order ``--help``
lists them, and the plugins' commands added through the ``register_commands`` hook."""

from __future__ import annotations

import typer

import opendialer
from opendialer.cli.audit import audit_app
from opendialer.cli.db import db_app
from opendialer.cli.doctor import doctor
from opendialer.cli.leads import leads_app
from opendialer.cli.logs import logs_app
from opendialer.cli.platform import platform_app
from opendialer.cli.plugins import plugins_app
from opendialer.cli.routing import routing_app
from opendialer.cli.runner import out
from opendialer.cli.serve import demo, serve
from opendialer.cli.users import users_app
from opendialer.core.plugins import get_plugin_manager

app = typer.Typer(
    name="opendialer",
    help="OpenDialer: an open-source outbound campaign dialer.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(plugins_app, name="plugins")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(leads_app, name="leads")
app.add_typer(logs_app, name="logs")
app.add_typer(platform_app, name="platform")
app.add_typer(routing_app, name="routing")
app.add_typer(audit_app, name="audit")
app.command("doctor")(doctor)
app.command("serve")(serve)
app.command("demo")(demo)


@app.callback(invoke_without_command=True)
def root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        out.print(f"opendialer {opendialer.__version__}")
        raise typer.Exit(0)


def build_app() -> typer.Typer:
    get_plugin_manager().call_register_commands(app)
    return app


def main() -> None:
    build_app()()
