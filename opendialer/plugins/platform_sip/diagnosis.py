"""The ``sip`` line(s) of ``opendialer doctor`` and System → Diagnostics.

Where the engine runs in this process (``serve --role all``), its live registration
state is read (``diagnosis.live.registrations()``). Anywhere else — the CLI, a web
node — the plugin probes the server itself (:func:`~.probe.probe_server`): a
REGISTER *query* per port (no Contact: it tests the password and lists the
server's bindings without changing them) or, for a trunk, an OPTIONS ping.
"""

from __future__ import annotations

import asyncio
from typing import Any

from opendialer.plugins.platform_sip.probe import probe_server
from opendialer.sdk import CheckResult, PlatformDiagnosis
from opendialer.sdk import CheckStatus as Status

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


def _live_results(check: str, rows: list[dict[str, object]]) -> list[CheckResult]:
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
        results.append(CheckResult(check, status, message, subject=f"port {row.get('user')}"))
    return results


async def diagnose(diagnosis: PlatformDiagnosis) -> list[CheckResult]:
    """Registration of every dialer port (or why it cannot be checked)."""
    check = diagnosis.name
    live: Any = diagnosis.live
    rows = list(live.registrations()) if live is not None else []
    if rows:
        return _live_results(check, rows)
    running = diagnosis.running
    if running and running != check:  # e.g. the demo's simulator, whatever is stored
        return [CheckResult(check, Status.OK, f"not in use: the engine's platform is {running!r}")]
    config = await diagnosis.stored_options()
    try:
        platform, platform_options = await diagnosis.chosen()
    except ValueError as exc:
        return [CheckResult(check, Status.FAIL, f"{exc}: fix the environment variable")]
    if config is None:
        if platform == check:
            return [
                CheckResult(check, Status.FAIL, f"the SIP platform is not configured: {CONFIGURE}")
            ]
        if platform:
            return [
                CheckResult(check, Status.OK, f"not in use: the engine's platform is {platform!r}")
            ]
        return [
            CheckResult(
                check,
                Status.WARN,
                "no communication platform chosen: started campaigns do not dial until a "
                "Master chooses the SIP server or the simulator under System → "
                "Communication platform (or PUT /api/v1/platform/choice)",
            )
        ]
    if not config.get("ports"):
        return [CheckResult(check, Status.FAIL, f"no dialer port configured: {CONFIGURE}")]
    probe_options = {k: v for k, v in platform_options.items() if k != "config_source"}
    probe_options["config"] = config
    # the probe bounds each exchange (connect, challenge, answer); this bounds the whole
    probes = await asyncio.wait_for(
        probe_server(probe_options, diagnosis.timeout_s), diagnosis.timeout_s * 4
    )
    return [
        CheckResult(
            check,
            STATES.get(p.state, Status.WARN),
            p.detail,
            subject="server" if p.user == "server" else f"port {p.user}",
        )
        for p in probes
    ]
