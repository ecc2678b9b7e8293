"""The audit trail (docs/audit.md): a real campaign driven through the simulator writes
the rows that explain each decision — a DNC refusal, a normal call, an abandoned call —
and nobody can change or delete them afterwards (a database rule on both backends)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from engine_pacing_support import (
    MESSAGE,
    THREE_LINES,
    center_name,
    ended_records,
    pacing_campaign,
    pacing_engine,
    run_for,
    run_until_idle,
    upload_message,
)
from engine_support import (
    dnc_campaign,
    leads_by_phone,
    records,
    run_round,
    started_engine,
    utc,
)

from opendialer.core.engine.audit import deferred, write_audit
from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.transactions import write_transaction
from opendialer.core.plugins import PluginManager
from opendialer.core.services import campaigns
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import AuditEvent, Campaign, DncService
from opendialer.sdk.contracts import DncUnavailable, DncVerdict
from opendialer.sdk.hookspecs import hookimpl

pytestmark = pytest.mark.pg

BLOCKED = "15550902"
CALLABLE = "15550901"
#: When the test provider's list was loaded, and its version.
LOADED_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
LIST_VERSION = 42


class VersionedListProvider:
    """A DNC provider that says which list version answered and when it was loaded."""

    #: A switch that makes every check fail (the service is down).
    down = False

    def __init__(self, config: Any, context: Any) -> None:
        self.config, self.context = config, context

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def check(self, number: str) -> DncVerdict:
        if VersionedListProvider.down:
            raise DncUnavailable("connect timeout after 2.0 s")
        return DncVerdict(
            number=number,
            do_not_call=number == BLOCKED,
            service=self.config.name,
            checked_at=self.context.now(),
            list_version=LIST_VERSION,
            list_loaded_at=LOADED_AT,
        )

    def health(self) -> None:
        return None


class VersionedListPlugin:
    @hookimpl
    def register_dnc_providers(self) -> dict[str, Any]:
        return {"versioned_list": VersionedListProvider}


async def trail(campaign_id: int) -> list[dict[str, Any]]:
    rows = (
        await AuditEvent.select()
        .where(AuditEvent.campaign == campaign_id)
        .order_by(AuditEvent.id)
        .run()
    )
    for row in rows:
        row["detail"] = json.loads(row["detail"])
    return rows


def kinds_by_call(rows: list[dict[str, Any]]) -> dict[str | None, list[str]]:
    out: dict[str | None, list[str]] = {}
    for row in rows:
        out.setdefault(row["call_id"], []).append(row["kind"])
    return out


async def versioned_list_campaign(phones: list[str]) -> tuple[Any, PluginManager]:
    VersionedListProvider.down = False
    service = DncService(name="Versioned list", kind="versioned_list")
    await service.save().run()
    pm = PluginManager().load_all()
    assert pm.register(VersionedListPlugin(), name="versioned_dnc")
    return await dnc_campaign(service.id, phones), pm


async def test_a_dnc_refusal_and_a_checked_call_leave_their_rows(db: Database) -> None:
    campaign, pm = await versioned_list_campaign([CALLABLE, BLOCKED])
    cid, clock = campaign.campaign_id, campaign.clock
    async with started_engine(db, clock, pm=pm, mix={"busy": 1}) as engine:
        await run_round(engine)

    calls = {c["phone"]: c for c in await records(cid)}
    rows = await trail(cid)
    by_call = kinds_by_call(rows)
    blocked_call, called = calls[BLOCKED], calls[CALLABLE]
    # The refusal: one dnc_check row, no attempt started, nothing dialed.
    assert by_call[blocked_call["call_id"]] == ["dnc_check"]
    [refusal] = [r for r in rows if r["call_id"] == blocked_call["call_id"]]
    assert refusal["number"] == BLOCKED and refusal["lead"] == blocked_call["lead"]
    assert refusal["campaign_name"] == "Campaign" and refusal["attempt"] == 1
    assert refusal["at"] == utc(2026, 3, 2, 10, 0)
    assert refusal["detail"] == {
        "service": "Versioned list",
        "result": "blocked",
        "list_version": LIST_VERSION,
        "list_loaded_at": LOADED_AT.isoformat(),
        "list_age_s": 1800,
    }
    # The call let through: its check, its start, its end (busy: never answered).
    assert by_call[called["call_id"]] == ["dnc_check", "attempt_started", "attempt_ended"]
    check, started, ended = [r for r in rows if r["call_id"] == called["call_id"]]
    assert check["detail"]["result"] == "callable"
    assert started["at"] == called["created_at"] and started["node"] == "test-node"
    assert ended["at"] == called["ended_at"]
    assert ended["detail"]["status"] == "BUSY" == called["status"]
    assert ended["detail"]["disposition"] == called["disposition"]
    assert ended["detail"]["sip_code"] == called["sip_code"] == 486
    assert (
        ended["detail"]["next_attempt_at"]
        == (called["ended_at"] + timedelta(minutes=60)).isoformat()
    )


async def test_a_dnc_service_that_cannot_answer_leaves_a_row_and_no_call(db: Database) -> None:
    """Fail closed: no call, the lead given back, and the trail says the check failed."""
    campaign, pm = await versioned_list_campaign([CALLABLE])
    VersionedListProvider.down = True
    async with started_engine(db, campaign.clock, pm=pm, mix={"busy": 1}) as engine:
        await run_round(engine)
        assert engine.platform.calls == 0  # type: ignore[attr-defined]
    assert await records(campaign.campaign_id) == []
    [row] = await trail(campaign.campaign_id)
    assert (row["kind"], row["number"], row["attempt"]) == ("dnc_check", CALLABLE, None)
    assert row["detail"]["result"] == "unavailable"
    assert "connect timeout after 2.0 s" in row["detail"]["reason"]
    lead = (await leads_by_phone(campaign.campaign_id))[CALLABLE]
    assert lead["attempts"] == 0 and lead["lease_owner"] is None  # due as before


async def test_an_answered_call_and_an_abandoned_call_leave_their_rows(db: Database) -> None:
    """Three lines for one agent: every call is answered by a person; one gets the agent,
    the others wait 2 s, hear the 1.5 s safe-harbour message and are abandoned."""
    ten = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    clock = FakeClock(ten)
    cid = await pacing_campaign("Power audit", THREE_LINES, 3)
    await upload_message(cid, MESSAGE, ten)
    engine = pacing_engine(db, clock, center_name(), agents=1)
    await engine.start(run_loop=False)
    try:
        await run_for([engine], clock, 6)
        await run_until_idle([engine], clock)
    finally:
        await engine.stop()

    calls = {c["call_id"]: c for c in await ended_records(cid)}
    rows = await trail(cid)
    by_call = kinds_by_call(rows)
    dispositions = sorted(c["disposition"] for c in calls.values())
    assert dispositions == ["abandoned", "abandoned", "transferred"], dispositions
    for call_id, call in calls.items():
        own = {r["kind"]: r for r in rows if r["call_id"] == call_id}
        assert own["attempt_started"]["at"] == call["created_at"]
        assert own["attempt_answered"]["at"] == call["answered_at"]
        ended = own["attempt_ended"]
        assert ended["at"] == call["ended_at"]
        assert ended["detail"]["started_at"] == call["created_at"].isoformat()
        assert ended["detail"]["answered_at"] == call["answered_at"].isoformat()
        assert ended["detail"]["disposition"] == call["disposition"]
        assert ended["detail"]["amd_verdict"] == call["amd_verdict"]
        if call["disposition"] == "transferred":
            assert by_call[call_id] == ["attempt_started", "attempt_answered", "attempt_ended"]
            continue
        assert by_call[call_id] == [
            "attempt_started",
            "attempt_answered",
            "attempt_ended",
            "abandoned",
            "safe_harbour_played",
        ]
        assert own["abandoned"]["at"] == call["ended_at"]
        # The platform's own account: the person waited 2 s, heard the 1.5 s message.
        sim_says = {"waited_ms": "2000", "message_ms": "1500"}
        assert own["abandoned"]["detail"]["detail_code"] == "platform_sim.abandoned"
        assert own["abandoned"]["detail"]["detail_params"] == sim_says
        assert own["safe_harbour_played"]["detail"] == {
            "message_ms": 1500,
            "detail_code": "platform_sim.abandoned",
            "detail_params": sim_says,
        }


async def test_the_rows_cannot_be_changed_nor_deleted_and_outlive_their_campaign(
    db: Database,
) -> None:
    created = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Kept",
            "group_id": (await Campaign.raw("SELECT id FROM dialer_group LIMIT 1").run())[0]["id"],
            "start_date": "2030-01-07",
            "end_date": "2030-01-11",
            "start_time": "09:00",
            "end_time": "18:00",
            "pilot_number": "4000",
        },
    )
    cid = created["id"]
    now = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
    async with write_transaction(db):
        await write_audit(
            [
                deferred(
                    campaign_id=cid,
                    lead_id=7,
                    number="15550903",
                    rule="local_hours",
                    until=now + timedelta(hours=3),
                    at=now,
                    zone="America/New_York",
                )
            ]
        )
    [row] = await trail(cid)
    assert row["kind"] == "deferred" and row["campaign_name"] == "Kept"
    assert row["detail"] == {
        "rule": "local_hours",
        "until": "2030-01-07T12:00:00+00:00",
        "zone": "America/New_York",
    }

    for statement in (
        "UPDATE audit_event SET kind = 'changed'",
        f"UPDATE audit_event SET detail = '[]' WHERE id = {row['id']}",
        "DELETE FROM audit_event",
        f"DELETE FROM audit_event WHERE campaign = {cid}",
    ):
        with pytest.raises(Exception, match="audit_event is append-only"):
            await db.engine.run_ddl(statement)
    if db.is_postgres:
        with pytest.raises(Exception, match="audit_event is append-only: TRUNCATE refused"):
            await db.engine.run_ddl("TRUNCATE audit_event")

    await campaigns.delete_campaign(SYSTEM, cid)
    [kept] = await trail(cid)
    assert kept == row


async def test_a_call_the_platform_refuses_is_started_then_cancelled(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No free port after all: the trail keeps the start and says it was undone (the call
    record itself is deleted), and the lead's next call is a start of its own."""
    from engine_support import add_leads, add_schedule, make_campaign, make_engine

    from opendialer.sdk.contracts import PlatformUnavailable

    clock = FakeClock(utc(2026, 3, 2, 10, 0))
    cid = await make_campaign()
    await add_schedule(cid, clock.now().date())
    await add_leads(cid, ["15552000001"])
    engine = make_engine(db, clock, mix={"busy": 1}, slots=1)
    await engine.start(run_loop=False)
    originate = engine.platform.originate
    refusals = [PlatformUnavailable("no free port (test)")]

    async def refuse_once(request: Any) -> Any:
        if refusals:
            raise refusals.pop()
        return await originate(request)

    monkeypatch.setattr(engine.platform, "originate", refuse_once)
    try:
        await run_round(engine, rounds=2)
    finally:
        await engine.stop()
    [call] = await records(cid)
    rows = await trail(cid)
    refused = next(r["call_id"] for r in rows if r["call_id"] != call["call_id"])
    assert kinds_by_call(rows) == {
        refused: ["attempt_started", "attempt_cancelled"],
        call["call_id"]: ["attempt_started", "attempt_ended"],
    }
    cancelled = next(r for r in rows if r["kind"] == "attempt_cancelled")
    assert cancelled["detail"]["reason"] == "no free port (test)"
    assert cancelled["attempt"] == 1 and call["attempt"] == 1  # the attempt was undone
