"""Health checks: one per concern, each saying OK or exactly what to fix.

``opendialer doctor`` and System → Diagnostics both call :func:`run_checks`::

    database, first = await connect_database(url, DoctorOptions())
    results = await run_checks(database, DoctorOptions(), connected=first)

Checks run concurrently; each is bounded (network exchanges by
``DoctorOptions.timeout_s``, the check as a whole by :func:`_bound`), and an
exception becomes a failed line naming the check, so a health run never hangs and
never raises. Checks that need the database report "not checked" when it is
unreachable. Details of every check: ``docs/doctor.md``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from opendialer.core.health.certificates import check_certificates, note_web_certificate
from opendialer.core.health.clock import check_database_skew, check_kernel_clock
from opendialer.core.health.contact_center import attach_routing_targets, check_contact_center
from opendialer.core.health.database import check_database, check_migrations, connect_database
from opendialer.core.health.dnc import check_dnc
from opendialer.core.health.model import CheckResult, DoctorOptions, Status
from opendialer.core.health.plugin_load import check_plugins
from opendialer.core.health.settings_read import note_engine_platform
from opendialer.core.health.sip import check_sip
from opendialer.core.storage import Database

log = logging.getLogger(__name__)

#: Every check id, in the order results are shown.
CHECKS = ("database", "migrations", "plugins", "sip", "dnc", "contact_center", "tls", "clock")
NEEDS_DATABASE = frozenset({"migrations", "sip", "dnc", "contact_center"})


def _bound(check: str, options: DoctorOptions) -> float:
    """The most a whole check may take (its own exchanges are bounded tighter)."""
    if check == "dnc":
        return options.dnc_start_timeout_s + options.timeout_s * 2
    return options.timeout_s * 5


async def _guarded(
    check: str,
    options: DoctorOptions,
    body: Callable[[], Awaitable[list[CheckResult]]],
    hint: str = "",
) -> list[CheckResult]:
    try:
        return await asyncio.wait_for(body(), _bound(check, options))
    except TimeoutError:
        return [
            CheckResult(check, Status.FAIL, f"did not finish within {_bound(check, options):g} s")
        ]
    except Exception as exc:  # a broken check is a red line, never a crashed doctor
        log.info("health_check_failed check=%s", check, exc_info=True)
        reason = f"could not run: {type(exc).__name__}: {exc}"
        return [CheckResult(check, Status.FAIL, f"{reason}{hint}")]


async def _listed(result: Awaitable[CheckResult]) -> list[CheckResult]:
    return [await result]


async def _given(result: CheckResult) -> list[CheckResult]:
    return [result]


async def run_checks(
    database: Database | None,
    options: DoctorOptions | None = None,
    *,
    connected: CheckResult | None = None,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
) -> list[CheckResult]:
    """Run the checks (all, or ``only``, minus ``skip``) and return their lines in
    :data:`CHECKS` order. ``database`` None means it could not be opened: ``connected``
    (from :func:`connect_database`) says why."""
    options = options or DoctorOptions()
    wanted = [c for c in CHECKS if (not only or c in set(only)) and c not in set(skip)]
    unknown = sorted((set(only) | set(skip)) - set(CHECKS))
    if unknown:
        raise ValueError(f"unknown check {unknown[0]!r}: use one of {', '.join(CHECKS)}")
    by_check: dict[str, list[CheckResult]] = {}
    hint = ""
    if database is not None and ("migrations" in wanted or NEEDS_DATABASE & set(wanted)):
        # first, alone: a schema behind the code explains the failures of the others
        migrations = await _guarded(
            "migrations", options, lambda: _listed(check_migrations(database, options))
        )
        if any(r.status is Status.FAIL for r in migrations):
            hint = " (apply the pending migrations first: `opendialer db migrate`)"
        if "migrations" in wanted:
            by_check["migrations"] = migrations
    bodies: dict[str, Callable[[], Awaitable[list[CheckResult]]]] = {}
    for check in wanted:
        if (database is None and check in NEEDS_DATABASE) or check == "migrations":
            continue
        if check == "database":
            if connected is not None:
                bodies[check] = lambda: _given(connected)
            elif database is not None:
                bodies[check] = lambda: _listed(check_database(database, options))
        elif check == "plugins":
            bodies[check] = _plugins
        elif check == "sip":
            bodies[check] = lambda: check_sip(options)
        elif check == "dnc":
            bodies[check] = lambda: check_dnc(options)
        elif check == "contact_center":
            bodies[check] = lambda: check_contact_center(options)
        elif check == "tls":
            bodies[check] = lambda: check_certificates(options, with_database=database is not None)
        elif check == "clock":
            bodies[check] = lambda: _clock(database, options)
    done = await asyncio.gather(*(_guarded(c, options, b, hint) for c, b in bodies.items()))
    by_check.update(zip(bodies, done, strict=True))
    results: list[CheckResult] = []
    for check in wanted:
        if check in by_check:
            results.extend(by_check[check])
        elif check in NEEDS_DATABASE:
            results.append(
                CheckResult(check, Status.FAIL, "not checked: the database cannot be reached")
            )
    return results


async def _plugins() -> list[CheckResult]:
    return check_plugins()


async def _clock(database: Database | None, options: DoctorOptions) -> list[CheckResult]:
    results = [await check_kernel_clock(options)]
    if database is not None:
        results.append(await check_database_skew(database, options))
    return results


def worst(results: Iterable[CheckResult]) -> Status:
    statuses = {r.status for r in results}
    for status in (Status.FAIL, Status.WARN):
        if status in statuses:
            return status
    return Status.OK


__all__ = [
    "CHECKS",
    "CheckResult",
    "DoctorOptions",
    "Status",
    "attach_routing_targets",
    "connect_database",
    "note_engine_platform",
    "note_web_certificate",
    "run_checks",
    "worst",
]
