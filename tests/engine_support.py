"""Building blocks for the engine tests: rows made with Piccolo, an engine on a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from opendialer import sdk
from opendialer.core.engine.clock import Clock
from opendialer.core.engine.engine import Engine
from opendialer.core.plugins import PluginManager
from opendialer.core.storage import Database
from opendialer.core.storage.tables import CallRecord, Campaign, DialerGroup, Lead, Schedule


async def default_group_id() -> int:
    row = await DialerGroup.select(DialerGroup.id).first().run()
    return int(row["id"])


async def make_campaign(**fields: Any) -> int:
    values: dict[str, Any] = {
        "name": "Campaign",
        "group": await default_group_id(),
        "start_date": date(2026, 1, 1),
        "end_date": date(2026, 12, 31),
        "start_time": time(9),
        "end_time": time(17),
        "timezone": "UTC",
        "weekdays": "mon,tue,wed,thu,fri,sat,sun",
        "pilot_number": "5000",
        "max_attempts": 5,
        "retry_after_minutes": 60,
        "type": "OSCC",
        "queue": "sales",
        "amd_enabled": False,
        "routing_target": "static",
        "state": "STARTED",
    }
    values.update(fields)
    row = Campaign(**values)
    await row.save().run()
    return int(row.id)


async def add_schedule(
    campaign_id: int, day: date, start: time = time(9), end: time = time(17)
) -> int:
    row = Schedule(campaign=campaign_id, date=day, start_time=start, end_time=end)
    await row.save().run()
    return int(row.id)


async def add_leads(campaign_id: int, phones: list[str]) -> list[int]:
    ids = []
    for i, phone in enumerate(phones):
        row = Lead(campaign=campaign_id, name=f"Lead {i}", phone=phone)
        await row.save().run()
        ids.append(int(row.id))
    return ids


async def leads_by_phone(campaign_id: int) -> dict[str, dict[str, Any]]:
    rows = await Lead.select().where(Lead.campaign == campaign_id).run()
    return {r["phone"]: r for r in rows}


async def records(campaign_id: int) -> list[dict[str, Any]]:
    return (
        await CallRecord.select()
        .where(CallRecord.campaign == campaign_id)
        .order_by(CallRecord.id)
        .run()
    )


async def schedule_state(schedule_id: int) -> tuple[str, str]:
    row = (
        await Schedule.select(Schedule.state, Schedule.reason)
        .where(Schedule.id == schedule_id)
        .first()
        .run()
    )
    return row["state"], row["reason"]


def make_engine(
    db: Database,
    clock: Clock,
    *,
    script: dict[str, list[str]] | None = None,
    mix: dict[str, int] | None = None,
    slots: int = 10,
    pm: PluginManager | None = None,
    node_id: str = "test-node",
    **options: Any,
) -> Engine:
    platform_options: dict[str, Any] = {
        "time_scale": 0,
        "seed": 1,
        "mix": mix or {"busy": 1},
        "script": script or {},
        "ports": options.pop("ports", 50),
    }
    return Engine(
        db,
        node_id,
        clock,
        "sim",
        platform_options=platform_options,
        routing_options={"static": {"slots": slots}},
        plugin_manager=pm or PluginManager().load_all(),
        **options,
    )


async def run_round(engine: Engine, rounds: int = 1) -> None:
    """Tick, let every call finish, repeat."""
    for _ in range(rounds):
        await engine.tick()
        await engine.drain()


def utc(*args: int) -> datetime:
    from datetime import UTC

    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# -- Do-Not-Call campaigns (test_engine_dnc.py, test_dnc_campaign.py) ----------------

#: The day the DNC campaigns dial, on a fake clock at 10:00 UTC.
DNC_DAY = date(2026, 3, 2)


@dataclass
class DncCampaign:
    clock: Any  # a FakeClock at 10:00 UTC on DNC_DAY
    campaign_id: int
    schedule_id: int  # the entry of DNC_DAY: its state shows DNC_OUT_OF_SERVICE


async def dnc_campaign(service_id: int, phones: list[str]) -> DncCampaign:
    """A campaign checked against DNC service ``service_id``, one schedule entry on
    :data:`DNC_DAY`, ``phones`` as its leads."""
    from opendialer.core.engine.clock import FakeClock

    clock = FakeClock(utc(DNC_DAY.year, DNC_DAY.month, DNC_DAY.day, 10, 0))
    campaign_id = await make_campaign(dnc_service=service_id)
    schedule_id = await add_schedule(campaign_id, DNC_DAY)
    await add_leads(campaign_id, phones)
    return DncCampaign(clock, campaign_id, schedule_id)


@asynccontextmanager
async def started_engine(db: Database, clock: Clock, **options: Any) -> AsyncIterator[Engine]:
    """:func:`make_engine`, started without its loop (drive it with :func:`run_round`),
    stopped at the end."""
    engine = make_engine(db, clock, **options)
    await engine.start(run_loop=False)
    try:
        yield engine
    finally:
        await engine.stop()


# -- engine processes (crash and multi-node tests) ---------------------------------


def engine_process_env(
    cli_env: dict[str, str], node_id: str, *, slots: int = 5, **platform: Any
) -> dict[str, str]:
    import json

    env = dict(cli_env)
    env["OPENDIALER_PLATFORM"] = "sim"
    env["OPENDIALER_PLATFORM_OPTIONS"] = json.dumps(
        {"ring_s": [0.3, 1.2], "mix": {"human": 1}, "ports": 50, **platform}
    )
    env["OPENDIALER_ROUTING_OPTIONS"] = json.dumps({"static": {"slots": slots}})
    env["OPENDIALER_NODE_ID"] = node_id
    env["OPENDIALER_NODE_DEAD_AFTER_S"] = "4"
    return env


def start_engine_process(
    env: dict[str, str], log_path: Any, args: tuple[str, ...] = ("serve", "--role", "engine")
) -> Any:
    """``opendialer ARGS`` in a child process, its output in ``log_path``."""
    import subprocess

    from helpers import OPENDIALER

    with open(log_path, "w") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([*OPENDIALER, *args], env=env, stdout=log, stderr=subprocess.STDOUT)


async def wait_for(predicate: Any, *, deadline_s: float = 90.0, what: str = "") -> None:
    """``eventually`` for an engine run: an async predicate polled every 0.2 s, with a
    generous deadline for a stuck run (no timing assertion)."""
    from eventually import eventually

    await eventually(predicate, within=deadline_s, what=what, interval=0.2)


async def full_day_campaign(n_leads: int, **fields: Any) -> int:
    """A campaign dialing right now in real time: whole-day entries yesterday..tomorrow."""
    from datetime import UTC, timedelta

    today = datetime.now(UTC).date()
    cid = await make_campaign(start_date=today - timedelta(days=1), **fields)
    for offset in (-1, 0, 1):
        await add_schedule(cid, today + timedelta(days=offset), time(0), time(23, 59, 59))
    await add_leads(cid, [f"1666{i:07d}" for i in range(n_leads)])
    return cid


async def assert_every_lead_accounted_for(campaign_id: int) -> list[dict[str, Any]]:
    """Each lead: attempts == its records, numbered 1..n once each, none open, one SUCCESS."""
    calls = await records(campaign_id)
    leads = await Lead.select().where(Lead.campaign == campaign_id).run()
    by_lead: dict[int, list[dict[str, Any]]] = {}
    for call in calls:
        by_lead.setdefault(call["lead"], []).append(call)
    assert all(c["status"] is not None for c in calls), "a call record is still open"
    for lead in leads:
        mine = by_lead.get(lead["id"], [])
        attempts = sorted(c["attempt"] for c in mine)
        assert attempts == list(range(1, lead["attempts"] + 1)), (lead, attempts)
        assert lead["status"] == "SUCCESS", lead
        assert [c["status"] for c in mine].count("SUCCESS") == 1, mine
        assert lead["lease_owner"] is None and lead["next_attempt_at"] is None
    return calls


class RoutingTargetDouble:
    """A third party's routing target that does nothing: tests subclass it and override
    what they look at (free slots, reservations, health)."""

    def __init__(self, options: Any = None, context: Any = None) -> None:
        pass

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def free_slots(self, request: sdk.RoutingRequest) -> int:
        return 0

    def reserve(self, request: sdk.RoutingRequest, call_id: str) -> None:
        pass

    def release(self, call_id: str, transferred: bool) -> None:
        pass

    def health(self, request: sdk.RoutingRequest | None = None) -> sdk.Health:
        return sdk.Health(ok=True)
