"""``opendialer routing``: show, change and try the routing targets' options."""

from __future__ import annotations

import json
from typing import Any

import typer

from opendialer.cli.runner import fail, open_database, out, run

routing_app = typer.Typer(
    help="Routing targets: the contact center (oscc) and the IVR (ivr).", no_args_is_help=True
)


def _option_value(key: str, raw: str) -> Any:
    """``raw`` as JSON when it parses (30, true, ["a"], {"logon": ...}), else the text;
    a secret stays text (a password of digits is not a number)."""
    from opendialer.core.services.routing_config import is_secret

    if is_secret(key.rpartition(".")[2]):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _print_routing(view: dict[str, Any]) -> None:
    name = view["target"]
    if not view["configured"]:
        out.print(
            f"{name}: not configured yet (opendialer routing set {name} KEY=VALUE ...)",
            highlight=False,
            soft_wrap=True,
        )
        return
    out.print(f"{name}: configured, updated {view['updated_at']}", highlight=False, soft_wrap=True)
    for key, value in sorted(view["options"].items()):
        if key.startswith("has_"):
            out.print(
                f"  {key[4:]} = {'(set)' if value else '(not set)'}",
                highlight=False,
                soft_wrap=True,
            )
        else:
            out.print(f"  {key} = {json.dumps(value)}", highlight=False, soft_wrap=True)


@routing_app.command("show")
def routing_show(
    target: str | None = typer.Argument(None, help="oscc, ivr, ... (default: every target)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (the API's shape)."),
) -> None:
    """Show the routing targets' options; secrets only as set / not set."""
    from opendialer.core.services import routing_config
    from opendialer.core.services.common import SYSTEM

    async def body() -> Any:
        db = await open_database()
        try:
            if target is None:
                return await routing_config.list_all(SYSTEM)
            return await routing_config.get(SYSTEM, target)
        finally:
            await db.close()

    shown = run(body)
    if as_json:
        print(json.dumps(shown, indent=2))
        return
    for view in shown if isinstance(shown, list) else [shown]:
        _print_routing(view)


ASSIGNMENTS_HELP = (
    "KEY=VALUE ...: VALUE is JSON when it parses, else text; paths.logon=... sets one "
    "entry of a mapping option."
)
UNSET_HELP = "Remove an option (back to its default); a secret is cleared."


def _changes(assignments: list[str] | None) -> list[tuple[str, Any]]:
    changes: list[tuple[str, Any]] = []
    for item in assignments or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            fail(f"{item!r}: give KEY=VALUE, e.g. channels=30")
        changes.append((key.strip(), _option_value(key.strip(), raw)))
    return changes


async def _changed_options(
    target: str, changes: list[tuple[str, Any]], unset: list[str]
) -> dict[str, Any]:
    """The stored options of ``target`` with ``changes`` and ``unset`` applied; stored
    secrets are left out (``put`` and ``test_connection`` keep them), a cleared one
    is None."""
    from opendialer.core.services import routing_config
    from opendialer.core.services.common import SYSTEM

    current = await routing_config.get(SYSTEM, target)
    options = {k: v for k, v in current["options"].items() if not k.startswith("has_")}
    for key, value in changes:
        head, dot, tail = key.partition(".")
        if dot:
            nested = options.get(head)
            options[head] = {**(nested if isinstance(nested, dict) else {}), tail: value}
        else:
            options[key] = value
    for key in unset:
        head, dot, tail = key.partition(".")
        if routing_config.is_secret(key):
            options[key] = None
        elif dot and isinstance(options.get(head), dict):
            options[head] = {k: v for k, v in options[head].items() if k != tail}
        else:
            options.pop(key, None)
    return options


@routing_app.command("set")
def routing_set(
    target: str = typer.Argument(..., help="The routing target: oscc, ivr, ..."),
    assignments: list[str] = typer.Argument(None, help=ASSIGNMENTS_HELP),
    unset: list[str] = typer.Option([], "--unset", help=UNSET_HELP),
) -> None:
    """Change some options of a routing target, keeping the others (and its secrets)."""
    from opendialer.core.services import routing_config
    from opendialer.core.services.common import SYSTEM

    changes = _changes(assignments)
    if not changes and not unset:
        fail("nothing to set: give KEY=VALUE ... or --unset KEY")

    async def body() -> dict[str, Any]:
        db = await open_database()
        try:
            options = await _changed_options(target, changes, unset)
            return await routing_config.put(SYSTEM, target, options)
        finally:
            await db.close()

    saved = run(body)
    out.print(f"saved routing.{target}", highlight=False, soft_wrap=True)
    _print_routing(saved)


@routing_app.command("test")
def routing_test(
    target: str = typer.Argument(..., help="The routing target: oscc, ivr, ..."),
    assignments: list[str] = typer.Argument(None, help=ASSIGNMENTS_HELP),
    unset: list[str] = typer.Option([], "--unset", help=UNSET_HELP),
    timeout: float = typer.Option(5.0, "--timeout", help="Seconds to wait for it to come up."),
) -> None:
    """Try the stored options (changed by KEY=VALUE, not saved): build and start the
    target, wait until it is up, close it. Exit 1 when it does not come up."""
    from opendialer.core.services import routing_config
    from opendialer.core.services.common import SYSTEM

    changes = _changes(assignments)

    async def body() -> dict[str, Any]:
        db = await open_database()
        try:
            options = await _changed_options(target, changes, unset)
            return await routing_config.test_connection(SYSTEM, target, options, timeout)
        finally:
            await db.close()

    result = run(body)
    if not result["ok"]:
        fail(f"{target}: {result['detail']}")
    out.print(f"{target}: works: {result['detail']}", highlight=False, soft_wrap=True)
