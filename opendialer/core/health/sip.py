"""SIP registration of every dialer port.

Where the engine runs in this process (``serve --role all``), its live registration
state is read (``platform_config.registrations()``). Anywhere else — the CLI, a web
node — the platform plugin probes the server itself (``ProbesServer``): for the SIP
plugin, a REGISTER *query* per port (no Contact: it tests the password and lists
the server's bindings without changing them) or, for a trunk, an OPTIONS ping.
"""

from __future__ import annotations

import asyncio
from typing import Any

from opendialer.core.contracts import ProbesServer
from opendialer.core.health.model import CheckResult, DoctorOptions, Status
from opendialer.core.health.settings_read import platform_choice, running_platform
from opendialer.core.plugins import get_plugin_manager
from opendialer.core.services import platform_config

CONFIGURE = "configure it under System → Communication platform (or PUT /api/v1/platform)"

#: Probe and live states → status.
STATES = {
    "registered": Status.OK,
    "answering": Status.OK,
    "not_required": Status.OK,
    "not_registered": Status.WARN,
    "registering": Status.WARN,
    "unregistered": Status.WARN,
    "failed": Status.FAIL,
    "not_answering": Status.FAIL,
}


def _live_results(rows: list[dict[str, object]]) -> list[CheckResult]:
    results = []
    for row in rows:
        state = str(row.get("state"))
        detail = str(row.get("detail") or "")
        if state == "registered":
            message = f"registered by this node's engine ({detail})" if detail else "registered"
        elif state == "not_required":
            message = "trunk port: no registration needed"
        elif state == "failed":
            retry = row.get("next_attempt_at")
            message = f"registration failed: {detail}" + (f"; next try {retry}" if retry else "")
        else:
            message = f"{state}: the engine is registering it"
        status = STATES.get(state, Status.WARN)
        results.append(CheckResult("sip", status, message, subject=f"port {row.get('user')}"))
    return results


async def check_sip(options: DoctorOptions) -> list[CheckResult]:
    live = platform_config.registrations()
    if live:
        return _live_results(live)
    running = running_platform()
    if running and running != "sip":  # e.g. the demo's simulator, whatever is stored
        return [CheckResult("sip", Status.OK, f"not in use: the engine's platform is {running!r}")]
    config = await platform_config.load_platform_config()
    try:
        platform, platform_options = await platform_choice()
    except ValueError as exc:
        return [CheckResult("sip", Status.FAIL, f"{exc}: fix the environment variable")]
    if config is None:
        if platform == "sip":
            return [
                CheckResult("sip", Status.FAIL, f"the SIP platform is not configured: {CONFIGURE}")
            ]
        if platform:
            return [
                CheckResult("sip", Status.OK, f"not in use: the engine's platform is {platform!r}")
            ]
        return [
            CheckResult(
                "sip",
                Status.WARN,
                "no communication platform chosen: started campaigns do not dial until a "
                "Master chooses the SIP server or the simulator under System → "
                "Communication platform (or PUT /api/v1/platform/choice)",
            )
        ]
    if not config.get("ports"):
        return [CheckResult("sip", Status.FAIL, f"no dialer port configured: {CONFIGURE}")]
    factory: Any = get_plugin_manager().factories("platforms").get("sip")
    if factory is None:
        return [
            CheckResult(
                "sip",
                Status.FAIL,
                "the SIP configuration exists but no plugin provides "
                "platform 'sip': reinstall opendialer or enable platform_sip",
            )
        ]
    if not isinstance(factory, ProbesServer):
        return [
            CheckResult("sip", Status.WARN, "the 'sip' platform plugin cannot probe its server")
        ]
    probe_options = {k: v for k, v in platform_options.items() if k != "config_source"}
    probe_options["config"] = config
    # the plugin bounds each exchange (connect, challenge, answer); this bounds the whole
    probes = await asyncio.wait_for(
        factory.probe_server(probe_options, options.timeout_s), options.timeout_s * 4
    )
    return [
        CheckResult(
            "sip",
            STATES.get(p.state, Status.WARN),
            p.detail,
            subject="server" if p.user == "server" else f"port {p.user}",
        )
        for p in probes
    ]
