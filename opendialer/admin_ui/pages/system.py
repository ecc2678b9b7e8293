"""System → Diagnostics: download the dialer's logs, and a short health panel."""

from __future__ import annotations

import asyncio
import importlib
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.response import Template

from opendialer.admin_ui.i18n import N_
from opendialer.admin_ui.pages.session import UI
from opendialer.core import logs
from opendialer.core.plugins import get_plugin_manager
from opendialer.core.services.errors import PermissionDenied


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the health panel."""

    name: str
    ok: bool | None  # None: not available in this installation
    detail: str


def log_files() -> list[Path]:
    """The current and rotated log files (file I/O: call it in a worker thread)."""
    return sorted(logs.log_dir().glob(f"{logs.LOG_FILE}*"))


def build_logs_zip() -> bytes:
    """The zip ``opendialer logs export`` writes, as bytes (runs in a worker thread)."""
    with tempfile.TemporaryDirectory(prefix="opendialer-logs-") as work:
        return logs.export_zip(Path(work) / "logs.zip").read_bytes()


async def _database_check(ui: UI) -> Check:
    from opendialer.core.storage import current

    started = time.perf_counter()
    try:
        database = current()
        await database.engine.run_ddl("SELECT 1")
    except Exception as exc:  # the panel reports any failure; it must not fail itself
        return Check(ui._("Database"), False, f"{type(exc).__name__}: {exc}")
    took_ms = (time.perf_counter() - started) * 1000
    return Check(
        ui._("Database"),
        True,
        ui._("%(dialect)s reachable (%(ms)s ms): %(url)s")
        % {"dialect": database.dialect, "ms": f"{took_ms:.1f}", "url": database.describe()},
    )


async def _optional_check(ui: UI, label: str, module: str, function: str) -> Check:
    """A check some other part of the dialer provides, once it exists."""
    try:
        provider = getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError):
        return Check(label, None, ui._("not available in this installation yet"))
    try:
        result = provider()
        if asyncio.iscoroutine(result):
            result = await asyncio.wait_for(result, timeout=5)
    except Exception as exc:  # a failing probe is a red line, not a broken page
        return Check(label, False, f"{type(exc).__name__}: {exc}")
    if isinstance(result, dict):
        return Check(label, bool(result.get("ok")), str(result.get("detail", "")))
    return Check(label, bool(result), "")


async def health(ui: UI) -> list[Check]:
    manager = get_plugin_manager()
    plugins = manager.plugins()
    failures = manager.failures
    plugin_detail = ", ".join(f"{p.name} {p.version}" for p in plugins) or "—"
    checks = [
        await _database_check(ui),
        Check(
            ui._("Plugins loaded"),
            not failures,
            ui._("%(n)s loaded: %(names)s") % {"n": len(plugins), "names": plugin_detail},
        ),
    ]
    checks.extend(
        Check(ui._("Plugin failed: %(name)s") % {"name": f.name}, False, f.error) for f in failures
    )
    for label, module, function in PROBES:
        checks.append(await _optional_check(ui, ui._(label), module, function))
    return checks


#: (label, module, function): probes the SIP, DNC and routing parts expose.
PROBES: list[tuple[str, str, str]] = [
    (N_("SIP registrations"), "opendialer.core.services.platform_config", "health"),
    (N_("Do-Not-Call services"), "opendialer.core.services.dnc_services", "health"),
    (N_("Contact center"), "opendialer.core.services.routing", "health"),
]


def _require_system(ui: UI) -> None:
    ui.require_tab("system")


@get("/system")
async def system_page(ui: UI) -> Template:
    _require_system(ui)
    files = await asyncio.to_thread(log_files)
    return ui.render(
        "system/diagnostics.html",
        checks=await health(ui),
        log_dir=str(await asyncio.to_thread(logs.log_dir)),
        log_count=len(files),
    )


@get("/system/logs.zip")
async def download_logs(request: Request[Any, Any, Any], ui: UI) -> Response[bytes]:
    if not ui.may_see("system"):
        raise PermissionDenied("only a Master downloads the dialer's logs")
    content = await asyncio.to_thread(build_logs_zip)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="opendialer-logs-{stamp}.zip"'},
    )


ROUTES: list[Any] = [system_page, download_logs]
