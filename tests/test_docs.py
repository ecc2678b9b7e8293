"""The documentation site builds with no warning, and what it promises is there.

``mkdocs build --strict`` (the venv's mkdocs, into a temporary directory) fails
on any broken link, anchor, nav entry or missing snippet; the generated hook
reference must list every hook and contract of the code; the README's links into
``docs/`` must resolve; the systemd units the docs show must be valid units that
only use variables their environment file defines.
"""

from __future__ import annotations

import ast
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


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=ROOT,  # snippet paths (deploy/systemd/...) are relative to the repository root
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = mkdocs_build(ROOT / "mkdocs.yml", out)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{output}"
    warnings = [line for line in output.splitlines() if line.startswith("WARNING")]
    assert not warnings, "\n".join(warnings)
    return out


def page_text(site: Path, page: str) -> str:
    return (site / page / "index.html").read_text(encoding="utf-8")


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


def test_strict_build_has_no_warning_and_renders_the_guides(site: Path) -> None:
    for page in ("user-guide", "admin-guide", "troubleshooting", "scaling", "logs", "plugins"):
        html = page_text(site, page)
        assert "<h1" in html, page
    guide = page_text(site, "user-guide")
    for image in re.findall(
        r"\(screenshots/([\w.-]+\.png)\)", (DOCS / "user-guide.md").read_text()
    ):
        assert f'src="../screenshots/{image}"' in guide, image
        assert (site / "screenshots" / image).is_file(), image
    assert not (site / "screenshots.py").exists(), "helper scripts are not published"


def test_hook_reference_is_generated_from_hookspecs_and_contracts(site: Path) -> None:
    from opendialer.sdk import contracts, hookspecs

    html = page_text(site, "hook-reference")
    hooks = [
        name
        for name, value in vars(hookspecs).items()
        if callable(value) and hasattr(value, f"{hookspecs.PROJECT_NAME}_spec")
    ]
    assert "register_dnc_providers" in hooks and "call_finished" in hooks
    for name in hooks:
        assert f'id="{name}"' in html, f"hook {name} missing from the reference"
        first_line = (getattr(hookspecs, name).__doc__ or "").strip().splitlines()[0]
        words = re.sub(r"`+|\*", "", first_line).split()[:3]
        assert " ".join(words) in re.sub(r"<[^>]+>", "", html), f"{name}: docstring not shown"
    tree = ast.parse(Path(contracts.__file__).read_text(encoding="utf-8"))
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    assert "DncProvider" in classes and "Platform" in classes
    for name in classes:
        assert f'id="{name.lower()}"' in html, f"contract {name} missing from the reference"
    assert not (DOCS / "hook-reference.md").exists(), "the reference is generated, never stored"


def test_strict_build_fails_on_a_broken_link(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    with (docs / "index.md").open("a", encoding="utf-8") as index:
        index.write("\nSee [the missing page](no-such-page.md).\n")
    config = tmp_path / "mkdocs.yml"
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    text = text.replace("docs_dir: docs", f"docs_dir: {docs}")
    text = text.replace(
        "  - tools/docs_reference.py", f"  - {ROOT / 'tools' / 'docs_reference.py'}"
    )
    config.write_text(text, encoding="utf-8")
    result = mkdocs_build(config, tmp_path / "site")
    assert result.returncode != 0
    assert "no-such-page.md" in result.stdout + result.stderr


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
