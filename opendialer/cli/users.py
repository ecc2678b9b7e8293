"""``opendialer users``: dialer users made from the command line (the first Master)."""

from __future__ import annotations

import os
import sys

import typer

from opendialer.cli.runner import fail, open_database, out, run

users_app = typer.Typer(help="Dialer users.", no_args_is_help=True)

PASSWORD_ENV = "OPENDIALER_MASTER_PASSWORD"


def _read_password() -> str:
    """From $OPENDIALER_MASTER_PASSWORD, else the first line of stdin (never argv)."""
    env = os.environ.get(PASSWORD_ENV)
    if env:
        return env
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            fail("the two passwords differ")
        return first
    line = sys.stdin.readline()
    if not line:
        fail(f"no password: pipe it on stdin or set {PASSWORD_ENV}")
    return line.rstrip("\r\n")


@users_app.command("create-master")
def users_create_master(
    username: str = typer.Option(..., "--username", help="The new Master's user name."),
    language: str = typer.Option(
        None,
        "--language",
        help="The pages' language: en, pt_BR or es (default: the shell's locale; a locale "
        "naming none, such as C, leaves it to the browser's language at the first login). "
        "The Master changes it later from the menu under their name.",
    ),
) -> None:
    """Create a Master user. The password comes from stdin or $OPENDIALER_MASTER_PASSWORD."""
    from opendialer.core.services import users

    chosen = language or users.language_of_the_shell()
    if chosen is not None and chosen not in users.LANGUAGES:
        fail(f"--language {chosen!r}: one of {', '.join(users.LANGUAGES)}")
    password = _read_password()

    async def body() -> None:
        db = await open_database(migrate_first=True)
        try:
            user = await users.create_master(username, password, chosen)
        finally:
            await db.close()
        pages = (
            f"pages in {chosen}"
            if chosen
            else "pages in the browser's language from the first login (the shell's locale "
            "names none; --language chooses)"
        )
        out.print(f"created Master {user['username']!r} (id {user['id']}), {pages}")

    run(body)
