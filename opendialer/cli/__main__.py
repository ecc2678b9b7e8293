"""``python -m opendialer.cli``: the ``opendialer`` command."""

from opendialer.cli.app import main

main()
