"""The ``call_outcome`` log line: the simulator engine dials a campaign with JSON logs in
the data directory; every attempt — placed, blocked by the DNC check, closed by crash
reconciliation — has exactly one line whose fields equal its call record."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_support import (
    add_leads,
    add_schedule,
    make_campaign,
    records,
    run_round,
    started_engine,
    utc,
)

from opendialer.core import logs
from opendialer.core.engine.claims import claim_due_leads
from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.records import start_attempt
from opendialer.core.plugins import PluginManager
from opendialer.core.storage import Database
from opendialer.core.storage.tables import DncService, Lead
from opendialer.sdk.contracts import DncVerdict
from opendialer.sdk.hookspecs import hookimpl

BLOCKED = "15550902"
DAY = utc(2026, 3, 2, 10, 0)


class OneNumberBlocked:
    """A DNC provider whose list holds :data:`BLOCKED` only."""

    def __init__(self, config: Any, context: Any) -> None:
        self.config, self.context = config, context

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def check(self, number: str) -> DncVerdict:
        return DncVerdict(
            number=number,
            do_not_call=number == BLOCKED,
            service=self.config.name,
            checked_at=self.context.now(),
        )

    def health(self) -> None:
        return None


class OneNumberPlugin:
    @hookimpl
    def register_dnc_providers(self) -> dict[str, Any]:
        return {"one_number": OneNumberBlocked}


@pytest.fixture
def json_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """This test's process logs as the engine node ``test-node``: its file in the data dir."""
    monkeypatch.setenv("OPENDIALER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv(logs.LOG_DIR_ENV, raising=False)
    path = logs.configure(role="engine", node="test-node", level="INFO", console_format="json")
    yield path
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_opendialer", False):
            root.removeHandler(handler)
            handler.close()


def outcome_lines(path: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line["event"] == "call_outcome"]


def plugins() -> PluginManager:
    # amd_numpy off: the simulator then gives its scripted verdict at once (same path).
    pm = PluginManager(disabled=frozenset({"amd_numpy"})).load_all()
    assert pm.register(OneNumberPlugin(), name="one_number_dnc")
    return pm


async def test_every_attempt_has_one_line_equal_to_its_record(db: Database, json_log: Path) -> None:
    assert json_log.parent == Path(logs.config.data_dir()) / "logs"
    assert json_log.name == "opendialer-engine-test-node.log"
    service = DncService(name="One number", kind="one_number")
    await service.save().run()
    clock = FakeClock(DAY)
    cid = await make_campaign(dnc_service=service.id, amd_enabled=True)
    await add_schedule(cid, DAY.date())
    await add_leads(cid, ["15550901", BLOCKED, "15550903", "15550904", "15550905", "15550906"])
    mix = {"human": 2, "machine": 2, "busy": 1, "no_answer": 1}
    async with started_engine(db, clock, pm=plugins(), mix=mix, slots=10) as engine:
        await run_round(engine)
        await clock.advance(61 * 60)  # busy and unanswered leads are due again
        await run_round(engine)

    calls = await records(cid)
    lines = outcome_lines(json_log)
    by_call = {line["call_id"]: line for line in lines}
    assert len(lines) == len(by_call) == len(calls) > 6  # one each, retries included
    statuses = {c["status"] for c in calls}
    assert {"DO_NOT_CALL", "SUCCESS", "AMD"} <= statuses
    for call in calls:
        line = by_call[call["call_id"]]
        assert line["logger"] == "opendialer.engine.calls" and line["level"] == "INFO"
        expected = {
            "campaign": cid,
            "lead": call["lead"],
            "attempt": call["attempt"],
            "node": "test-node",
            "status": call["status"],
            "disposition": call["disposition"],
            "sip_code": call["sip_code"],
            "amd_verdict": call["amd_verdict"],
            "dnc_service": "One number",
            "dnc_result": call["dnc_result"],
            "port": call["port"] or None,
        }
        assert {key: line[key] for key in expected} == expected, line
        assert isinstance(line["dnc_ms"], float | int) and line["dnc_ms"] >= 0
        if call["status"] == "DO_NOT_CALL":
            assert line["dnc_result"] == "blocked" and line["originate_latency_ms"] is None
            assert line["duration_ms"] is None and line["port"] is None
        else:
            assert line["dnc_result"] == "callable"
            assert line["duration_ms"] >= line["ring_ms"] >= 0
            assert line["originate_latency_ms"] >= 0
        if call["amd_verdict"]:
            assert line["amd_decision_ms"] == round(call["amd_decision_ms"])
            assert line["talk_ms"] is not None
    [blocked] = [line for line in lines if line["status"] == "DO_NOT_CALL"]
    assert blocked["disposition"] == "dnc_blocked" and blocked["attempt"] == 1
    assert "Do-Not-Call list of One number" in blocked["detail"]


async def test_no_dnc_service_says_skipped(db: Database, json_log: Path) -> None:
    clock = FakeClock(DAY)
    cid = await make_campaign()
    await add_schedule(cid, DAY.date())
    await add_leads(cid, ["15550911", "15550912"])
    async with started_engine(db, clock, mix={"busy": 1}) as engine:
        await run_round(engine)
    [first, second] = sorted(outcome_lines(json_log), key=lambda line: line["lead"])
    assert [c["dnc_result"] for c in await records(cid)] == [None, None]
    for line in (first, second):
        assert (line["status"], line["sip_code"], line["dnc_result"]) == ("BUSY", 486, "skipped")
        assert line["dnc_service"] is None and line["next_attempt_at"] is not None


async def test_calls_closed_by_crash_reconciliation_get_their_line(
    db: Database, json_log: Path
) -> None:
    """A node restarted after kill -9 closes what its previous life left in flight."""
    clock = FakeClock(DAY)
    cid = await make_campaign()
    await add_schedule(cid, DAY.date(), start=DAY.time().replace(hour=20))  # not dialing now
    await add_leads(cid, ["15550921", "15550922"])
    await Lead.update({Lead.next_attempt_at: DAY}).where(Lead.campaign == cid).run()
    leads = await claim_due_leads(db, campaign_id=cid, node="test-node", now=DAY, limit=2)
    assert len(leads) == 2
    for n, lead in enumerate(leads):
        started = await start_attempt(
            db, lead, node="test-node", call_id=f"crashed-{n}", now=DAY, dnc=None
        )
        assert started is not None
    async with started_engine(db, clock):
        pass
    calls = {c["call_id"]: c for c in await records(cid)}
    lines = {line["call_id"]: line for line in outcome_lines(json_log)}
    assert set(lines) == set(calls) == {"crashed-0", "crashed-1"}
    for call_id, line in lines.items():
        assert (line["status"], line["disposition"]) == ("UNKNOWN", "unknown")
        assert line["lead"] == calls[call_id]["lead"] and line["attempt"] == 1
        assert line["detail"] == "engine node restarted after it stopped mid-call"
        assert line["dnc_result"] == "skipped" and line["sip_code"] is None


async def test_console_line_is_readable_key_value(
    db: Database, capsys: pytest.CaptureFixture[str], json_log: Path
) -> None:
    logs.configure(role="engine", node="test-node", console_format="kv")
    clock = FakeClock(DAY)
    cid = await make_campaign()
    await add_schedule(cid, DAY.date())
    await add_leads(cid, ["15550931"])
    async with started_engine(db, clock, mix={"busy": 1}) as engine:
        await run_round(engine)
    [line] = [line for line in capsys.readouterr().err.splitlines() if "call_outcome" in line]
    assert " INFO opendialer.engine.calls call_outcome campaign=" in line
    assert " status=BUSY disposition=final_response port=" in line
    assert " sip_code=486 amd_verdict=- amd_decision_ms=- dnc_service=- dnc_result=skipped " in line
