"""Each campaign is paced by its own mode; over-dialing abandons when agents are short.

The engine dials on the simulator with a fake clock: every call is answered by a
person after a second of ring, and each of the simulated center's agents is then
busy for 30 s. An over-dialing mode — registered through the hook as a third
party's plugin would be, three lines per free agent — is compared with the
built-in progressive mode; outcomes are read where an operator reads them: the
call records, the leads, the ``pacing_decision`` log lines and table, ``/metrics``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from engine_pacing_support import (
    DAY,
    MESSAGE,
    THREE_LINES,
    ThreeLinesPerFreeAgent,
    center_name,
    decision_lines,
    ended_records,
    most_at_once,
    pacing_campaign,
    pacing_engine,
    plugins,
    run_for,
    run_until_idle,
    upload_message,
)
from engine_support import add_schedule, leads_by_phone, records, schedule_state
from prometheus_client.parser import text_string_to_metric_families

from opendialer.core import held
from opendialer.core.domain import Role
from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.engine import Engine
from opendialer.core.engine.view import attach_exporter
from opendialer.core.services import campaigns, dialing
from opendialer.core.services.abandon_rate import abandon_counts
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import Campaign, PacingDecisionRow, Schedule
from opendialer.plugins.metrics_prometheus.exporter import PrometheusExporter
from opendialer.plugins.platform_sim import SimPlatform
from opendialer.sdk import (
    PacingDecision,
    PacingModeFactory,
    PacingSnapshot,
    PlatformFactory,
    hookimpl,
)

TEN = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PACING_LOG = "opendialer.engine.pacing"


def played_messages(engine: Engine) -> int:
    """How many abandoned calls heard the safe-harbour message (the simulator counts)."""
    assert isinstance(engine.platform, SimPlatform)
    return engine.platform.safe_harbour_played


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


async def test_an_over_dialing_campaign_dials_above_its_agents_and_abandons_when_short(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=PACING_LOG)
    clock = FakeClock(TEN)
    cid = await pacing_campaign("Power", THREE_LINES, 10, abandon_target_pct=3.0)
    await upload_message(cid, MESSAGE, TEN - timedelta(days=1))
    engine = pacing_engine(db, clock, center_name(), agents=2)
    exporter = PrometheusExporter(db_refresh_s=0)
    await engine.start(run_loop=False)
    stop_events = attach_exporter(exporter, engine)
    try:
        await run_for([engine], clock, 70)
        await run_until_idle([engine], clock)
        body, _ = await exporter.render()
        text = body.decode()
    finally:
        stop_events()
        await engine.stop()

    calls = await ended_records(cid)
    assert len(calls) == 10  # every lead dialed once
    # Six lines for two free agents at once: over-dialing, not one call per agent.
    assert most_at_once(calls) == 6

    abandoned = [c for c in calls if c["disposition"] == "abandoned"]
    assert len(abandoned) == 4, [c["disposition"] for c in calls]
    for call in abandoned:
        assert call["status"] == "ABANDONED" and call["answered_at"] is not None
        # The person waited the campaign's 2 s, then heard the 1.5 s message.
        assert call["detail_code"] == "platform_sim.abandoned"
        assert "safe-harbour message played (1500 ms)" in call["detail"]
        assert "no agent after 2000 ms" in call["detail"]
        assert call["ended_at"] - call["answered_at"] == timedelta(seconds=3.5)
    assert engine.metrics.abandoned == 4 and played_messages(engine) == 4

    # Abandoned leads are retried like a failure: due again after retry_after_minutes.
    leads = {lead["id"]: lead for lead in (await leads_by_phone(cid)).values()}
    for call in abandoned:
        lead = leads[call["lead"]]
        assert lead["status"] == "ABANDONED" and lead["attempts"] == 1
        assert lead["next_attempt_at"] == call["ended_at"] + timedelta(minutes=60)
    counts = await abandon_counts(cid, "30d", clock.now())
    assert (counts.live_answered, counts.abandoned) == (10, 4)

    # Over its 3 % target, the campaign is dialed progressively: no more abandons.
    later = [c for c in calls if c["created_at"] > TEN + timedelta(seconds=10)]
    assert len(later) == 4 and all(c["disposition"] == "transferred" for c in later)
    assert most_at_once(later) <= 2

    lines = decision_lines(caplog.records)
    first = next(line for line in lines if " launch=6 " in line)
    assert f"pacing_decision campaign={cid} mode={THREE_LINES} launch=6 dial_level=3.0 " in first
    assert "predicted_free_agents=2.0 abandon_rate=0.00% window=30d reason=three_lines" in first
    held_back = next(line for line in lines if "reason=abandon_budget" in line)
    assert "dial_level=1.0" in held_back and "abandon_rate=66.67%" in held_back
    assert 'why="abandon rate 66.67% is over the target 3% (30d)' in held_back

    metrics = samples(text)
    label = str(cid)
    assert metrics[("opendialer_calls_abandoned_total", frozenset({("campaign", label)}))] == 4
    rate = metrics[("opendialer_abandon_rate", frozenset({("campaign", label), ("window", "30d")}))]
    assert rate == pytest.approx(0.4)
    assert metrics[("opendialer_dial_level", frozenset({("campaign", label)}))] == 1.0
    info = ("opendialer_pacing_info", frozenset({("campaign", label), ("mode", THREE_LINES)}))
    assert metrics[(info[0], info[1] | {("reason", "abandon_budget")})] == 1.0
    assert ("opendialer_predicted_free_agents", frozenset({("campaign", label)})) in metrics

    # The node's last decision is in the table the Summary page reads.
    [row] = await PacingDecisionRow.select().where(PacingDecisionRow.campaign == cid).run()
    assert (row["node"], row["mode"], row["reason"]) == (
        "pacing-node",
        THREE_LINES,
        "abandon_budget",
    )
    assert (row["live_answered"], row["abandoned"]) == (10, 4)
    assert row["abandon_rate_pct"] == pytest.approx(40.0)
    assert row["occupancy"] is not None and 0.0 <= row["occupancy"] <= 1.0


async def test_a_person_waiting_takes_the_agent_that_frees_during_the_wait(
    db: Database,
) -> None:
    """One agent, three lines: the first person gets the agent; of the two left waiting
    (1.5 s at most), the first gets it when it frees a second later, the other is
    abandoned."""
    clock = FakeClock(TEN)
    cid = await pacing_campaign("One agent", THREE_LINES, 3, abandon_timeout_ms=1500)
    await upload_message(cid, MESSAGE, TEN)
    engine = pacing_engine(db, clock, center_name(), agents=1, handle_s=[1, 1])
    await engine.start(run_loop=False)
    try:
        await run_for([engine], clock, 6)
        await run_until_idle([engine], clock)
    finally:
        await engine.stop()
    calls = await ended_records(cid)
    assert most_at_once(calls) == 3
    talk = sorted(
        (c["disposition"], (c["ended_at"] - c["answered_at"]).total_seconds()) for c in calls
    )
    # Transferred 0.2 s after its claim: at once, or after waiting 1 s for the agent.
    assert talk == [("abandoned", 3.0), ("transferred", 0.2), ("transferred", 1.2)], talk


async def test_a_progressive_campaign_never_abandons(db: Database) -> None:
    clock = FakeClock(TEN)
    cid = await pacing_campaign("Progressive", "progressive", 8)
    await upload_message(cid, MESSAGE, TEN)
    engine = pacing_engine(db, clock, center_name(), agents=2)
    await engine.start(run_loop=False)
    try:
        await run_for([engine], clock, 130)
        await run_until_idle([engine], clock)
    finally:
        await engine.stop()
    calls = await ended_records(cid)
    assert len(calls) == 8
    assert {c["disposition"] for c in calls} == {"transferred"}
    assert most_at_once(calls) <= 2  # one call per free agent, never more
    assert engine.metrics.abandoned == 0 and played_messages(engine) == 0


class SnapshotRecorder(ThreeLinesPerFreeAgent):
    """Three lines per free agent, keeping every snapshot the engine hands it."""

    seen: list[PacingSnapshot] = []

    def decide(self, snapshot: PacingSnapshot) -> PacingDecision:
        SnapshotRecorder.seen.append(snapshot)
        return super().decide(snapshot)


class SnapshotRecorderPlugin:
    @hookimpl
    def register_pacing_modes(self) -> Mapping[str, PacingModeFactory]:
        return {"recorder": SnapshotRecorder}


async def test_a_target_that_knows_its_agents_gives_modes_their_busy_times(
    db: Database,
) -> None:
    """The simulator's queue tells its agents: how many are logged on, how long each busy
    one has been busy, and how long its finished calls kept agents busy (30 s here) —
    the last as one object while it does not change, so a mode derives from it once."""
    SnapshotRecorder.seen = []
    clock = FakeClock(TEN)
    cid = await pacing_campaign("Recorded", "recorder", 6)
    pm = plugins(recorder=SnapshotRecorderPlugin())
    engine = pacing_engine(db, clock, center_name(), agents=2, pm=pm)
    await engine.start(run_loop=False)
    try:
        await run_for([engine], clock, 70)
        await run_until_idle([engine], clock)
    finally:
        await engine.stop()
    assert len(await ended_records(cid)) == 6
    seen = SnapshotRecorder.seen
    assert seen and all(s.agents_logged_on == 2 for s in seen)
    before = [s for s in seen if s.agent_busy_history is None]
    after = [s for s in seen if s.agent_busy_history is not None]
    assert before and after and seen.index(after[0]) == len(before)  # none until a call ends
    assert any(s.agent_busy_s for s in before)  # busy agents, none finished yet
    assert all(0.0 <= b < 30.5 for s in seen for b in s.agent_busy_s or ())
    last = after[-1].agent_busy_history
    assert last is not None and len(last) >= 2
    assert all(x == pytest.approx(30.0, abs=0.5) for x in last.samples)
    unchanged = [
        (a, b) for a, b in itertools.pairwise(after) if a.agent_busy_history == b.agent_busy_history
    ]
    assert unchanged and all(a.agent_busy_history is b.agent_busy_history for a, b in unchanged)


async def test_campaigns_sharing_a_queue_share_its_free_agents(db: Database) -> None:
    """Two over-dialing campaigns on one queue: three lines per agent between them, not
    three lines per agent each."""
    clock = FakeClock(TEN)
    first = await pacing_campaign("Power A", THREE_LINES, 20)
    second = await pacing_campaign("Power B", THREE_LINES, 20)
    engine = pacing_engine(db, clock, center_name(), agents=4)
    await engine.start(run_loop=False)
    try:
        await engine.tick()  # one pacing round: no call answered yet
        launched = {cid: len(await records(cid)) for cid in (first, second)}
        await run_until_idle([engine], clock)
    finally:
        await engine.stop()
    assert launched == {first: 6, second: 6}  # 2 agents each, 3 lines per agent


async def test_an_uninstalled_pacing_mode_holds_the_campaign_and_says_which(
    db: Database,
) -> None:
    clock = FakeClock(TEN)
    cid = await pacing_campaign("Old plugin", "predictive_v9", 3)
    [entry] = await Schedule.select(Schedule.id).where(Schedule.campaign == cid).run()
    engine = pacing_engine(db, clock, center_name(), agents=2)
    await engine.start(run_loop=False)
    try:
        await engine.tick()
        state, reason = await schedule_state(entry["id"])
        stored = held.decode(reason)
        assert state == "RUNNING" and stored is not None
        assert stored.code == held.PACING_NOT_INSTALLED
        assert stored.params["mode"] == "predictive_v9"
        assert (
            THREE_LINES in stored.params["installed"]
            and "progressive" in stored.params["installed"]
        )
        assert "pacing mode 'predictive_v9' is not installed" in stored.english()
        assert await records(cid) == []
        seen = await dialing.dialing_state(await campaigns.get_campaign(SYSTEM, cid), clock.now())
        assert not seen.dialing and seen.code == held.PACING_NOT_INSTALLED
        assert (seen.fix_path, seen.fix_role) == (f"/campaigns/{cid}/edit", Role.CAMPAIGN_ADMIN)

        # A Campaign Administrator picks an installed mode: dialing resumes, no restart.
        await Campaign.update({Campaign.pacing_mode: THREE_LINES}).where(Campaign.id == cid).run()
        await engine.tick()
        assert (await schedule_state(entry["id"]))[1] == ""
        assert len(await records(cid)) == 3
        await run_until_idle([engine], clock)
    finally:
        await engine.stop()


class NoWaitSim(SimPlatform):
    """A simulator that, like a platform written before over-dialing, cannot hold a
    person until an agent frees."""

    waits_for_agents = False


class NoWaitPlatformPlugin:
    @hookimpl
    def register_platforms(self) -> Mapping[str, PlatformFactory]:
        return {"sim_no_wait": NoWaitSim}


async def test_a_platform_that_cannot_wait_for_agents_is_dialed_progressively(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=PACING_LOG)
    clock = FakeClock(TEN)
    cid = await pacing_campaign("Power, old platform", THREE_LINES, 6)
    pm = plugins(no_wait_platform=NoWaitPlatformPlugin())
    engine = pacing_engine(db, clock, center_name(), agents=2, platform="sim_no_wait", pm=pm)
    await engine.start(run_loop=False)
    try:
        await run_for([engine], clock, 70)
        await run_until_idle([engine], clock)
    finally:
        await engine.stop()
    calls = await ended_records(cid)
    assert len(calls) == 6 and {c["disposition"] for c in calls} == {"transferred"}
    assert most_at_once(calls) <= 2
    lines = decision_lines(caplog.records)
    assert lines and all("reason=platform_no_wait" in line for line in lines), lines
    assert all("dial_level=1.0" in line for line in lines)
    assert "cannot hold a person until an agent frees" in lines[0]


async def test_a_message_uploaded_later_is_played_from_then_on(db: Database) -> None:
    """No safe-harbour message: the person is hung up on in silence. The campaign
    uploads one; the next day's abandoned calls hear it (a 24 h window starts afresh)."""
    clock = FakeClock(TEN)
    cid = await pacing_campaign("Power 24h", THREE_LINES, 6, abandon_window="24h")
    engine = pacing_engine(db, clock, center_name(), agents=2)
    await engine.start(run_loop=False)
    try:
        await run_for([engine], clock, 10)
        await run_until_idle([engine], clock)
        first_day = await ended_records(cid)
        silent = [c for c in first_day if c["disposition"] == "abandoned"]
        assert len(silent) == 4
        assert {c["detail_code"] for c in silent} == {"platform_sim.abandoned_without_message"}

        await upload_message(cid, MESSAGE[:4000], clock.now())  # half a second
        next_day = DAY + timedelta(days=1)
        await add_schedule(cid, next_day)
        await clock.set(datetime(next_day.year, next_day.month, next_day.day, 11, tzinfo=UTC))
        await run_for([engine], clock, 10)
        await run_until_idle([engine], clock)
    finally:
        await engine.stop()
    retried = [c for c in await ended_records(cid) if c["attempt"] == 2]
    assert len(retried) == 4  # the abandoned leads, due again after 60 minutes
    heard = [c for c in retried if c["disposition"] == "abandoned"]
    assert len(heard) == 2 and all("(500 ms)" in c["detail"] for c in heard)
