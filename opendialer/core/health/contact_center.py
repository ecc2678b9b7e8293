"""Each configured routing target (the contact-center session, an IVR's status URL).

The check builds the target from the settings the engine would use, starts it,
waits up to the bound for its health to turn OK (an OSCC session registers, logs
on and takes its first snapshot), then closes it — unregistering the session.
Where the engine runs in this process (``serve --role all``,
:func:`attach_routing_targets`), the targets it started are read instead: the
page does not open a session of its own every refresh.
A target offering ``status()`` (``ReportsStatus``) that reports its session
``down`` ends the wait early: the reason is known.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from opendialer.core.dnc import SystemContext
from opendialer.core.domain import CampaignState
from opendialer.core.health.model import CheckResult, DoctorOptions, Status
from opendialer.core.health.settings_read import routing_options
from opendialer.core.plugins import get_plugin_manager
from opendialer.core.routing_defaults import default_targets, settings_page
from opendialer.core.services import platform_choice
from opendialer.core.storage.tables import Campaign
from opendialer.sdk.contracts import Health, ReportsStatus

FIX = "fix the stored options of routing target {name!r} (setting routing.{name}): "
FIX_REACH = "check the contact center's URL, TLS trust and credentials, and that it runs"


def _session_down(target: Any) -> bool:
    if not isinstance(target, ReportsStatus):
        return False
    session = target.status().get("session")
    return isinstance(session, dict) and session.get("state") == "down"


async def _settled_health(target: Any, timeout_s: float) -> Health:
    deadline = time.monotonic() + timeout_s
    health: Health = target.health()
    while not health.ok and time.monotonic() < deadline and not _session_down(target):
        await asyncio.sleep(0.05)
        health = target.health()
    return health


#: The running engine's targets, when it shares this process (``serve --role all``).
_live_targets: Callable[[], Mapping[str, Any]] | None = None


def attach_routing_targets(source: Callable[[], Mapping[str, Any]] | None) -> None:
    """``serve`` hands over ``engine.routing_targets``: the page then reads the engine's
    own sessions instead of opening another one every refresh."""
    global _live_targets
    _live_targets = source


def _live_result(name: str, target: Any) -> CheckResult:
    health: Health = target.health()
    if health.ok:
        detail = f"{health.detail or 'up'} (this node's engine)"
        return CheckResult("contact_center", Status.OK, detail, subject=name)
    return CheckResult(
        "contact_center",
        Status.FAIL,
        f"{health.detail or 'not up'} (this node's engine): {FIX_REACH}; dialing for its "
        "campaigns waits meanwhile",
        subject=name,
    )


async def _check_one(
    name: str, target_options: dict[str, Any], options: DoctorOptions
) -> CheckResult:
    factory = get_plugin_manager().factories("routing_targets").get(name)
    if factory is None:
        return CheckResult(
            "contact_center",
            Status.FAIL,
            f"settings exist for routing target {name!r} but no plugin provides it: "
            "install or enable its plugin, or delete the settings",
            subject=name,
        )
    try:
        target = factory(options=target_options, context=SystemContext())
    except ValueError as exc:
        fix = FIX.format(name=name) + "the options it refuses"
        return CheckResult("contact_center", Status.FAIL, f"{exc}: {fix}", subject=name)
    try:
        await asyncio.wait_for(target.start(), options.timeout_s)
        health = await _settled_health(target, options.timeout_s)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(target.close(), options.timeout_s)
    if health.ok:
        return CheckResult("contact_center", Status.OK, health.detail or "up", subject=name)
    return CheckResult(
        "contact_center",
        Status.FAIL,
        f"{health.detail or 'not up'}: {FIX_REACH}; dialing for its campaigns waits meanwhile",
        subject=name,
    )


async def needed_targets() -> tuple[dict[str, list[str]], set[str]]:
    """The routing target each STARTED campaign dials through → those campaigns' names
    (its own target, else by type: ``OPENDIALER_ROUTING`` or the type's default
    target); and the targets every one of whose campaigns has it as its type's default
    (names none, no ``OPENDIALER_ROUTING``): the chosen platform's own may stand in."""
    forced = os.environ.get("OPENDIALER_ROUTING", "").strip()
    rows = (
        await Campaign.select(Campaign.name, Campaign.type, Campaign.routing_target)
        .where(Campaign.state == CampaignState.STARTED.value)
        .order_by(Campaign.name)
        .run()
    )
    needed: dict[str, list[str]] = {}
    chosen: set[str] = set()  # named by a campaign or the environment
    defaults = default_targets()
    for row in rows:
        name = row["routing_target"] or forced or defaults.get(row["type"], "")
        needed.setdefault(name, []).append(row["name"])
        if row["routing_target"] or forced:
            chosen.add(name)
    return needed, set(needed) - chosen


def _for_campaigns(result: CheckResult, names: list[str]) -> CheckResult:
    """A failing target's result, naming the started campaigns it holds."""
    if result.status is not Status.FAIL or not names:
        return result
    detail = f"{result.message}; started campaign(s) not dialing: {', '.join(names)}"
    return CheckResult(result.check, result.status, detail, subject=result.subject)


def _unconfigured(name: str, names: list[str]) -> CheckResult | None:
    """FAIL when a started campaign needs target ``name`` and it has no options it can
    start with (None: it builds without options, check it like a configured one)."""
    page = settings_page(name)
    where = f"a Master sets it at System → {page.title} ({page.path})"
    campaigns = ", ".join(names)
    factory = get_plugin_manager().factories("routing_targets").get(name)
    if factory is None:
        return CheckResult(
            "contact_center",
            Status.FAIL,
            f"routing target {name!r} is not installed but started campaign(s) {campaigns} "
            "dial through it: install its plugin or change the campaigns' type",
            subject=name,
        )
    try:
        factory(options={}, context=SystemContext())
    except Exception as exc:
        return CheckResult(
            "contact_center",
            Status.FAIL,
            f"routing target {name!r} is not configured ({exc}) and started campaign(s) "
            f"{campaigns} are not dialing: {where}",
            subject=name,
        )
    return None


async def check_contact_center(options: DoctorOptions) -> list[CheckResult]:
    try:
        configured = await routing_options()
    except ValueError as exc:
        return [CheckResult("contact_center", Status.FAIL, f"{exc}: fix the environment variable")]
    needed, by_type_default = await needed_targets()
    results: list[CheckResult] = []
    to_check = dict(configured)
    stands_in = await platform_choice.own_routing_target()
    for name, names in sorted(needed.items()):
        if name in configured:
            continue
        failure = _unconfigured(name, names)
        if failure is not None and stands_in and name in by_type_default:
            # the engine dials them through the chosen platform's own target meanwhile
            results.append(
                CheckResult(
                    "contact_center",
                    Status.WARN,
                    f"routing target {name!r} is not configured: started campaign(s) "
                    f"{', '.join(names)} dial the simulator's agents ({stands_in!r}) until "
                    f"it is; a Master sets it at System → {settings_page(name).title} "
                    f"({settings_page(name).path})",
                    subject=name,
                )
            )
        elif failure is not None:
            results.append(failure)
        else:
            to_check[name] = {}
    if not to_check and not results:
        return [
            CheckResult(
                "contact_center",
                Status.OK,
                "no routing target configured (routing.<target> settings) and no started "
                "campaign needs one: nothing to reach",
            )
        ]
    live = dict(_live_targets()) if _live_targets is not None else {}
    checked = await asyncio.gather(
        *(
            _given(_live_result(name, live[name]))
            if name in live
            else _check_one(name, opts, options)
            for name, opts in sorted(to_check.items())
        )
    )
    results.extend(
        _for_campaigns(r, needed.get(name, []))
        for r, name in zip(checked, sorted(to_check), strict=True)
    )
    return results


async def _given(result: CheckResult) -> CheckResult:
    return result
