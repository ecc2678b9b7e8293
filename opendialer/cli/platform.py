"""``opendialer platform``: which communication platform the engine uses."""

from __future__ import annotations

import typer

from opendialer.cli.runner import open_database, out, run

platform_app = typer.Typer(
    help="The communication platform the engine uses (SIP server or simulator).",
    no_args_is_help=True,
)


@platform_app.command("show")
def platform_show() -> None:
    """Which platform the engine uses, and which ones are installed."""
    from opendialer.core.services import platform_choice
    from opendialer.core.services.common import SYSTEM

    async def body() -> None:
        db = await open_database()
        try:
            choice = await platform_choice.get(SYSTEM)
        finally:
            await db.close()
        out.print(f"chosen: {choice['name'] or 'none (started campaigns do not dial)'}")
        out.print(f"installed: {', '.join(choice['available'])}")
        if choice["environment"]:
            out.print(f"this node: OPENDIALER_PLATFORM={choice['environment']} overrides it")

    run(body)


@platform_app.command("choose")
def platform_choose(
    name: str = typer.Argument(..., help="sip (your SIP server) or sim (the simulator)."),
) -> None:
    """Choose the platform every engine node uses; running engines switch within seconds."""
    from opendialer.core.services import platform_choice
    from opendialer.core.services.common import SYSTEM

    async def body() -> None:
        db = await open_database()
        try:
            choice = await platform_choice.put(SYSTEM, name)
        finally:
            await db.close()
        out.print(f"platform: {choice['name']} (running engines switch within a few seconds)")

    run(body)
