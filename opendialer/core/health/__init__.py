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
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable

from opendialer.core.health.certificates import check_certificates, note_web_certificate
from opendialer.core.health.clock import check_database_skew, check_kernel_clock
from opendialer.core.health.contact_center import attach_routing_targets, check_contact_center
from opendialer.core.health.database import check_database, check_migrations, connect_database
from opendialer.core.health.dnc import check_dnc
from opendialer.core.health.model import CheckResult, DoctorOptions, Status
from opendialer.core.health.platform_checks import check_platform, diagnosing_platforms
from opendialer.core.health.plugin_load import check_plugins
from opendialer.core.health.settings_read import note_engine_platform
from opendialer.core.storage import Database

log = logging.getLogger(__name__)

#: The checks of core, in the order results are shown; the installed platform plugins'
#: checks (the SIP platform's ``sip``) come between these two groups: see :func:`check_ids`.
CHECKS_BEFORE_PLATFORMS = ("database", "migrations", "plugins")
CHECKS_AFTER_PLATFORMS = ("dnc", "contact_center", "tls", "clock")
CORE_NEEDS_DATABASE = frozenset({"migrations", "dnc", "contact_center"})


def check_ids() -> tuple[str, ...]:
    """Every check id, in the order results are shown."""
    return (*CHECKS_BEFORE_PLATFORMS, *diagnosing_platforms(), *CHECKS_AFTER_PLATFORMS)


def _needs_database() -> frozenset[str]:
    """A platform's check reads its stored options: it needs the database too."""
    return CORE_NEEDS_DATABASE | frozenset(diagnosing_platforms())


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
    :func:`check_ids` order. ``database`` None means it could not be opened: ``connected``
    (from :func:`connect_database`) says why."""
    options = options or DoctorOptions()
    checks = check_ids()
    platforms = frozenset(diagnosing_platforms())
    needs_database = _needs_database()
    wanted = [c for c in checks if (not only or c in set(only)) and c not in set(skip)]
    unknown = sorted((set(only) | set(skip)) - set(checks))
    if unknown:
        raise ValueError(f"unknown check {unknown[0]!r}: use one of {', '.join(checks)}")
    by_check: dict[str, list[CheckResult]] = {}
    hint = ""
    if database is not None and ("migrations" in wanted or needs_database & set(wanted)):
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
        if (database is None and check in needs_database) or check == "migrations":
            continue
        if check == "database":
            if connected is not None:
                bodies[check] = lambda: _given(connected)
            elif database is not None:
                bodies[check] = lambda: _listed(check_database(database, options))
        elif check == "plugins":
            bodies[check] = _plugins
        elif check in platforms:
            bodies[check] = functools.partial(check_platform, check, options)
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
        elif check in needs_database:
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
    "CHECKS_AFTER_PLATFORMS",
    "CHECKS_BEFORE_PLATFORMS",
    "CheckResult",
    "DoctorOptions",
    "Status",
    "attach_routing_targets",
    "check_ids",
    "connect_database",
    "note_engine_platform",
    "note_web_certificate",
    "run_checks",
    "worst",
]
