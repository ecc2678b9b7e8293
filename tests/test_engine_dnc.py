"""The DNC gate: blocked numbers are recorded and never called; a failing service
stops dialing (fail closed) until it answers again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from engine_support import (
    DncCampaign,
    dnc_campaign,
    leads_by_phone,
    records,
    run_round,
    schedule_state,
    started_engine,
    utc,
)

from opendialer.core.plugins import PluginManager
from opendialer.core.storage import Database
from opendialer.core.storage.tables import DncService
from opendialer.sdk.contracts import DncUnavailable, DncVerdict
from opendialer.sdk.hookspecs import hookimpl

pytestmark = pytest.mark.pg

BLOCKED = {"15550802"}


class ListProvider:
    """A throw-away provider: a fixed list, and a switch that makes it fail."""

    down = False
    asked: list[str] = []

    def __init__(self, config, context):
        self.config, self.context = config, context

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def check(self, number: str) -> DncVerdict:
        ListProvider.asked.append(number)
        if ListProvider.down:
            raise DncUnavailable("connect timeout after 2.0 s")
        return DncVerdict(
            number=number,
            do_not_call=number in BLOCKED,
            service=self.config.name,
            checked_at=self.context.now(),
        )

    def health(self):
        return None


class ListPlugin:
    @hookimpl
    def register_dnc_providers(self):
        return {"test_list": ListProvider}


async def _setup(phones: list[str]) -> tuple[DncCampaign, PluginManager]:
    """A campaign on the "test_list" service, and a plugin manager that knows the kind."""
    ListProvider.down = False
    ListProvider.asked = []
    service = DncService(name="Test list", kind="test_list")
    await service.save().run()
    pm = PluginManager().load_all()
    assert pm.register(ListPlugin(), name="test_dnc")
    return await dnc_campaign(service.id, phones), pm


async def test_blocked_number_gets_a_record_and_no_call(db: Database) -> None:
    campaign, pm = await _setup(["15550801", "15550802"])
    cid, clock = campaign.campaign_id, campaign.clock
    async with started_engine(db, clock, pm=pm, mix={"busy": 1}) as engine:
        await run_round(engine)
        await clock.advance(3 * 3600)
        await run_round(engine)
    leads = await leads_by_phone(cid)
    assert leads["15550802"]["status"] == "DO_NOT_CALL"
    assert leads["15550802"]["next_attempt_at"] is None
    calls = {c["phone"]: [] for c in await records(cid)}
    for c in await records(cid):
        calls[c["phone"]].append(c)
    [blocked] = calls["15550802"]  # recorded once, never retried
    assert blocked["status"] == "DO_NOT_CALL"
    assert blocked["port"] == "" and blocked["sip_code"] is None
    assert blocked["dnc_service"] == "Test list" and blocked["dnc_result"] == "blocked"
    assert blocked["dnc_checked_at"] == utc(2026, 3, 2, 10, 0)
    assert len(calls["15550801"]) == 2  # busy, retried after an hour
    assert all(c["dnc_result"] == "callable" for c in calls["15550801"])
    assert engine.platform.calls == 2  # type: ignore[attr-defined]


async def test_failing_service_holds_dialing_until_it_answers_again(db: Database) -> None:
    campaign, pm = await _setup(["15550811", "15550812", "15550813"])
    cid, entry = campaign.campaign_id, campaign.schedule_id
    async with started_engine(db, campaign.clock, pm=pm, mix={"human": 1}, slots=1) as engine:
        ListProvider.down = True
        await run_round(engine, rounds=3)
        state, reason = await schedule_state(entry)
        assert state == "DNC_OUT_OF_SERVICE"
        assert "connect timeout after 2.0 s" in reason
        assert await records(cid) == []
        assert engine.platform.calls == 0  # type: ignore[attr-defined]
        leads = await leads_by_phone(cid)
        assert all(lead["attempts"] == 0 and lead["lease_owner"] is None for lead in leads.values())

        ListProvider.down = False  # it answers again: the leader's probe brings it back
        await run_round(engine)
        await run_round(engine, rounds=4)
        assert (await schedule_state(entry))[0] == "RUNNING"
        assert {lead["status"] for lead in (await leads_by_phone(cid)).values()} == {"SUCCESS"}


async def test_unknown_provider_kind_fails_closed_and_says_why(db: Database) -> None:
    service = DncService(name="National list", kind="not_installed")
    await service.save().run()
    campaign = await dnc_campaign(service.id, ["15550821"])
    cid = campaign.campaign_id
    async with started_engine(db, campaign.clock, mix={"human": 1}) as engine:
        await run_round(engine, rounds=2)
    state, reason = await schedule_state(campaign.schedule_id)
    assert state == "DNC_OUT_OF_SERVICE"
    assert "no provider for kind 'not_installed'" in reason
    assert await records(cid) == []


class SlowStartProvider(ListProvider):
    """Counts its builds and starts slowly, as an embedded list loading from the database."""

    built: list[SlowStartProvider] = []
    closed = 0

    def __init__(self, config, context):
        super().__init__(config, context)
        SlowStartProvider.built.append(self)

    async def start(self) -> None:
        await asyncio.sleep(0.05)

    async def close(self) -> None:
        SlowStartProvider.closed += 1


class SlowStartPlugin:
    @hookimpl
    def register_dnc_providers(self):
        return {"slow_start": SlowStartProvider}


async def test_a_burst_of_first_checks_builds_one_provider(db: Database) -> None:
    """A campaign's first pacing round checks every number at once: the engine builds the
    service's provider once. It used to build one per check and keep the last, leaving
    the others running (embedded lists: a LISTEN connection each, on PostgreSQL); the
    engine's own registry closes it when the engine stops."""
    from opendialer.core.engine.clock import FakeClock

    SlowStartProvider.built, SlowStartProvider.closed = [], 0
    service = DncService(name="Slow list", kind="slow_start")
    await service.save().run()
    pm = PluginManager().load_all()
    assert pm.register(SlowStartPlugin(), name="slow_start_dnc")
    clock = FakeClock(datetime(2026, 3, 2, 12, tzinfo=UTC))
    async with started_engine(db, clock, pm=pm) as engine:
        checks = await asyncio.gather(
            *(engine.dnc.check(service.id, f"1555{n:04d}") for n in range(200))
        )
        assert len(checks) == 200 and all(c.result == "callable" for c in checks)
        assert len(SlowStartProvider.built) == 1
        assert list(engine.dnc.providers()) == ["Slow list"]
        assert SlowStartProvider.closed == 0
    assert SlowStartProvider.closed == 1
