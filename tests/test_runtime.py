"""The node runtime (``opendialer.core.runtime``): ``serve --role engine`` runs the
engine without the web package."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from engine_support import engine_process_env, wait_for

from opendialer.core.storage import Database
from opendialer.core.storage.tables import EngineNode

pytestmark = pytest.mark.slow

#: ``opendialer serve --role engine`` in this process, saying at exit which modules of
#: the web package it imported.
SERVE_ENGINE_REPORTING_IMPORTS = """
import atexit, sys
atexit.register(lambda: print(
    "web modules imported:",
    sorted(m for m in sys.modules if m.startswith("opendialer.admin_ui")),
    flush=True,
))
from opendialer.cli import main
sys.argv = ["opendialer", "serve", "--role", "engine"]
main()
"""


def _serve_engine_reporting_imports(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "w") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-c", SERVE_ENGINE_REPORTING_IMPORTS],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def test_engine_role_never_imports_the_web_package(
    db: Database, cli_env: dict[str, str], tmp_path
) -> None:
    log_path = tmp_path / "engine.log"
    proc = _serve_engine_reporting_imports(engine_process_env(cli_env, "engine-no-web"), log_path)
    try:

        async def joined() -> bool:
            return bool(await EngineNode.count().where(EngineNode.node_id == "engine-no-web").run())

        await wait_for(joined, what="the engine node to join")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    output = log_path.read_text()
    assert proc.returncode == 0, output
    assert "web modules imported: []" in output, output


@pytest.mark.parametrize("role", ["all", "web"])
async def test_a_role_with_a_web_server_needs_the_web_app(role: str) -> None:
    from opendialer.core.runtime import serve_node

    with pytest.raises(ValueError, match="serves the web app"):
        await serve_node(host="127.0.0.1", port=0, role=role)
