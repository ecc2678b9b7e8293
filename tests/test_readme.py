"""The README's Quickstart is the contract: two commands, and CI runs the second
(then ``tox -e lint,docs``: ruff, mypy and the strict docs build are not tests)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quickstart_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:sh|bash)?\n(.*?)```", section, re.S)
    assert block, "the Quickstart has a code block"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_quickstart_has_exactly_two_commands() -> None:
    commands = quickstart_commands()
    assert len(commands) == 2, commands
    assert "opendialer demo" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert quickstart_commands()[1] in ci.splitlines()


def test_ci_installs_the_system_packages_first_and_runs_lint_and_docs_after() -> None:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    tests = lines.index(quickstart_commands()[1])
    assert lines.index("scripts/setup-test-deps") < tests
    assert lines.index(".venv/bin/tox -e lint,docs") > tests
    tox = (ROOT / "tox.ini").read_text()
    lint = tox.split("[testenv:lint]", 1)[1].split("\n[", 1)[0]
    for command in ("ruff check .", "ruff format --check .", "mypy"):
        assert f"    {command}\n" in lint, command
    docs = tox.split("[testenv:docs]", 1)[1].split("\n[", 1)[0]
    assert "tests/docs_site" in docs
