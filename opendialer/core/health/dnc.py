"""Each Do-Not-Call service: its provider started and answering a lookup.

A health() alone would say "fine" for an HTTP service nobody asked yet, so the
check looks one number up (:data:`PROBE_NUMBER`, a fictional one) and then reads
the provider's health. Providers come from ``core.dnc``'s registry, so the web page
reuses the engine's when they share a process.
"""

from __future__ import annotations

import asyncio

from opendialer.core import dnc
from opendialer.core.health.model import CheckResult, DoctorOptions, Status
from opendialer.core.storage.tables import Campaign, DncService
from opendialer.sdk.contracts import DncUnavailable

#: +1 555 555 0100: reserved for fiction, never a real subscriber.
PROBE_NUMBER = "15555550100"
FIX = (
    "fix the service under Do-Not-Call → Services (URL, CA bundle, timeout) or the service "
    "itself; campaigns using it do not dial meanwhile (DNC_OUT_OF_SERVICE)"
)


async def _check_one(row: dict[str, object], options: DoctorOptions) -> CheckResult:
    name = str(row["name"])
    used_by = await Campaign.count().where(Campaign.dnc_service == row["id"]).run()
    bad = Status.FAIL if used_by else Status.WARN  # a broken service nobody uses stops nothing
    unused = "" if used_by else " (no campaign uses it)"
    # Two bounds, each named in its own message: starting (an embedded list loads for
    # seconds) and the lookup (one network exchange).
    try:
        provider = await asyncio.wait_for(dnc.provider_for(row), options.dnc_start_timeout_s)
    except TimeoutError:
        took = f"did not start within {options.dnc_start_timeout_s:g} s"
        return CheckResult("dnc", bad, f"{took}{unused}: {FIX}", subject=name)
    except DncUnavailable as exc:
        return CheckResult("dnc", bad, f"{exc}{unused}: {FIX}", subject=name)
    try:
        await asyncio.wait_for(provider.check(PROBE_NUMBER), options.timeout_s)
    except TimeoutError:
        took = f"no answer to a lookup within {options.timeout_s:g} s"
        return CheckResult("dnc", bad, f"{took}{unused}: {FIX}", subject=name)
    except DncUnavailable as exc:
        return CheckResult("dnc", bad, f"{exc}{unused}: {FIX}", subject=name)
    health = provider.health()
    if not health.ok:
        return CheckResult("dnc", bad, f"{health.detail}{unused}: {FIX}", subject=name)
    users = f"; used by {used_by} campaign(s)" if used_by else unused
    return CheckResult("dnc", Status.OK, f"answering: {health.detail}{users}", subject=name)


async def check_dnc(options: DoctorOptions) -> list[CheckResult]:
    rows = await DncService.select().order_by(DncService.id).run()
    if not rows:
        return [CheckResult("dnc", Status.WARN, "no Do-Not-Call service configured")]
    return list(await asyncio.gather(*(_check_one(row, options) for row in rows)))
