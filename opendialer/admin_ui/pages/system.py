"""System → Diagnostics: the health checks of ``opendialer doctor`` (``core/health``),
refreshed by htmx, and the dialer's logs as a zip."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.response import Template

from opendialer.admin_ui.i18n import N_
from opendialer.admin_ui.pages.session import UI
from opendialer.core import health, logs
from opendialer.core.plugins import get_plugin_manager
from opendialer.core.services import installation
from opendialer.core.services.errors import PermissionDenied


def build_logs_zip(instance: str) -> bytes:
    """The zip ``opendialer logs export`` writes — this installation's files only — as
    bytes (runs in a worker thread)."""
    with tempfile.TemporaryDirectory(prefix="opendialer-logs-") as work:
        target = Path(work) / "logs.zip"
        logs.export_zip(target, instance=instance)
        return target.read_bytes()


#: Check id → its title on the page (the doctor's lines, translated).
TITLES = {
    "database": N_("Database"),
    "migrations": N_("Migrations"),
    "plugins": N_("Plugins loaded"),
    "dnc": N_("Do-Not-Call services"),
    "contact_center": N_("Contact center"),
    "tls": N_("TLS certificates"),
    "clock": N_("Clock sync"),
}
#: Fixed subjects the checks name (ports, services and targets keep their own names).
SUBJECTS = {
    "this node": N_("this node"),
    "database server": N_("database server"),
    "web server": N_("web server"),
    "SIP CA": N_("SIP CA"),
    "server": N_("server"),
}
#: Every network exchange of a check is bounded by this; the panel answers in seconds.
CHECK_TIMEOUT_S = 3.0
REFRESH_S = 30


@dataclass(frozen=True, slots=True)
class Line:
    """One row of the health panel."""

    title: str
    subject: str
    status: str  # ok | warn | fail
    message: str  # English, like the doctor's (it names files, hosts and commands)


def _subject(ui: UI, result: health.CheckResult) -> str:
    subject = result.subject
    if subject in SUBJECTS:
        return ui._(SUBJECTS[subject])
    if result.check in _diagnosis_titles("platforms") and subject.startswith("port "):
        return ui._("port %(user)s", user=subject[len("port ") :])
    return subject


def _diagnosis_titles(kind: str) -> dict[str, str]:
    """Name → ``diagnosis_title`` (a message id) of the plugins of ``kind`` that title
    their own Diagnostics line: a platform's check (its id is the platform's name), a
    routing target titled by itself as its System page is ("IVR", not "Contact
    center — ivr")."""
    factories = get_plugin_manager().factories(kind)
    titles = {
        name: getattr(factory, "diagnosis_title", None) for name, factory in factories.items()
    }
    return {name: title for name, title in titles.items() if isinstance(title, str)}


def _line(ui: UI, r: health.CheckResult) -> Line:
    targets = _diagnosis_titles("routing_targets")
    if r.check == "contact_center" and r.subject in targets:
        return Line(ui._(targets[r.subject]), "", r.status.value, r.message)
    title = TITLES.get(r.check) or _diagnosis_titles("platforms").get(r.check, r.check)
    return Line(ui._(title), _subject(ui, r), r.status.value, r.message)


async def health_lines(ui: UI) -> list[Line]:
    """The same checks as ``opendialer doctor``, on this process's database."""
    options = health.DoctorOptions(timeout_s=CHECK_TIMEOUT_S)
    results = await health.run_checks(ui.request.app.state.db, options)
    return [_line(ui, r) for r in results]


async def _panel_context(ui: UI) -> dict[str, Any]:
    return {
        "lines": await health_lines(ui),
        "checked_at": datetime.now(UTC).strftime("%H:%M:%S"),
        "refresh_s": REFRESH_S,
    }


def _require_system(ui: UI) -> None:
    ui.require_tab("system")


@get("/system")
async def system_page(ui: NamedDependency[UI]) -> Template:
    _require_system(ui)
    instance = await installation.instance_id()
    files = await asyncio.to_thread(logs.log_files, None, instance)
    return ui.render(
        "system/diagnostics.html",
        **await _panel_context(ui),
        log_dir=str(await asyncio.to_thread(logs.log_dir)),
        log_count=len(files),
        installation_id=instance,
    )


@get("/system/health")
async def health_panel(ui: NamedDependency[UI]) -> Template:
    """The health panel alone: htmx refreshes it (every REFRESH_S, and on demand)."""
    _require_system(ui)
    return ui.render("system/health_panel.html", **await _panel_context(ui))


@get("/system/logs.zip")
async def download_logs(
    request: Request[Any, Any, Any], ui: NamedDependency[UI]
) -> Response[bytes]:
    if not ui.may_see("system"):
        raise PermissionDenied("system.logs_master_only")
    content = await asyncio.to_thread(build_logs_zip, await installation.instance_id())
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="opendialer-logs-{stamp}.zip"'},
    )


ROUTES: list[Any] = [system_page, health_panel, download_logs]
