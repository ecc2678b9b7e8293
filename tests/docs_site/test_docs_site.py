"""The documentation site builds with no warning, and what it promises is there.

Run by ``tox -e docs`` (and by ``.ci/run``), not by the default ``pytest``: a
strict build takes tens of seconds and checks the documentation, not the dialer
(pyproject's ``norecursedirs`` leaves this directory out; ``pytest tests/docs_site``
runs it by hand). ``mkdocs build --strict`` (the venv's mkdocs, into a temporary
directory) fails on any broken link, anchor, nav entry or missing snippet; the
generated hook reference must list every hook and contract of the code.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
DOCS = ROOT / "docs"


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
