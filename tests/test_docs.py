"""What the documentation promises is there (the strict site build is
``tests/docs_site``, run by ``tox -e docs``).

Every page is in the nav; the README's links into ``docs/`` resolve; the systemd
units the docs show must be valid units that only use variables their environment
file defines.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SYSTEMD = ROOT / "deploy" / "systemd"
UNITS = ("opendialer-web.service", "opendialer-engine.service")


def nav_pages() -> list[str]:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text.split("\nnav:\n", 1)[1]
    return re.findall(r":\s*\"?([\w./-]+\.md)\"?\s*$", nav, re.M)


def test_every_markdown_page_is_in_the_nav() -> None:
    listed = set(nav_pages())
    on_disk = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert on_disk - listed == set(), "pages missing from mkdocs.yml nav"
    generated = {"hook-reference.md"}
    assert listed - on_disk - generated == set(), "nav entries with no page"


def test_readme_links_into_docs_resolve() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\((docs/[^)#\s]+)", readme)
    assert links, "the README links to the documentation"
    for link in links:
        assert (ROOT / link).is_file(), f"README links to missing {link}"


def read_unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    unit.read(SYSTEMD / name, encoding="utf-8")
    return unit


def env_file_names() -> set[str]:
    names = set()
    for line in (SYSTEMD / "opendialer.env").read_text(encoding="utf-8").splitlines():
        match = re.match(r"#?([A-Z][A-Z0-9_]*)=", line.strip())
        if match:
            names.add(match.group(1))
    return names


@pytest.mark.parametrize("name", UNITS)
def test_systemd_unit_runs_its_role_with_the_shared_environment_file(name: str) -> None:
    service = read_unit(name)["Service"]
    role = name.removeprefix("opendialer-").removesuffix(".service")
    exec_start = service["ExecStart"]
    assert exec_start.startswith("/opt/opendialer/bin/opendialer serve ")
    assert f"--role {role}" in exec_start
    assert service["EnvironmentFile"] == "/etc/opendialer/opendialer.env"
    used = set(re.findall(r"\$\{(\w+)\}", exec_start))
    assert used <= env_file_names(), f"{name} uses variables the env file lacks: {used}"
    assert service["Environment"].startswith(f"OPENDIALER_DATA_DIR=/var/lib/opendialer/{role}")
    env_text = (SYSTEMD / "opendialer.env").read_text(encoding="utf-8")
    # EnvironmentFile= overrides Environment=: the file must leave the data directory alone.
    assert not re.search(r"^OPENDIALER_DATA_DIR=", env_text, re.M)


def test_systemd_units_use_only_options_serve_has() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "opendialer.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    ).stdout
    for name in UNITS:
        exec_start = read_unit(name)["Service"]["ExecStart"]
        for option in re.findall(r"(--[a-z][a-z-]+)", exec_start):
            assert option in help_text, f"{name}: `opendialer serve` has no {option}"


def test_environment_file_names_only_variables_the_dialer_reads() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "opendialer").rglob("*.py"))
    unit_only = {"WEB_HOST", "WEB_PORT", "TLS_CERT", "TLS_KEY", "METRICS_HOST", "METRICS_PORT"}
    for name in env_file_names() - unit_only:
        assert name.startswith("OPENDIALER_") and name in source, f"{name} is read by nothing"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    # The binary and env file must exist for verify: point them at this checkout.
    opendialer = Path(sys.executable).parent / "opendialer"
    for name in UNITS:
        text = (SYSTEMD / name).read_text(encoding="utf-8")
        text = text.replace("/opt/opendialer/bin/opendialer", str(opendialer))
        text = text.replace("/etc/opendialer/opendialer.env", str(SYSTEMD / "opendialer.env"))
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / n) for n in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    complaints = [line for line in result.stderr.splitlines() if str(tmp_path) in line]
    assert result.returncode == 0 and not complaints, result.stderr
