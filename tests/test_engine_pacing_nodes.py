"""Two engine nodes over-dialing one campaign on one PostgreSQL: one abandon budget,
and one set of free agents shared between them — from their first decisions, when
they start together or the campaign starts under them.

Both nodes run in this process on one fake clock, each with its own plugins,
platform and routing target, in front of one simulated contact center (its agents
are the ones a real queue would give both nodes); they meet only in the database,
as separate machines do.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from engine_pacing_support import (
    THREE_LINES,
    add_due_leads,
    center_name,
    ended_records,
    pacing_campaign,
    pacing_engine,
    run_for,
    run_until_idle,
)
from engine_support import records

from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.engine import Engine
from opendialer.core.engine.fair_share import (
    COUNTED_AFTER_S,
    FairShares,
    Reported,
    beyond_share,
    counted_in,
)
from opendialer.core.engine.view import EngineReadView
from opendialer.core.plugins import PluginManager
from opendialer.core.storage import Database
from opendialer.core.storage.tables import Campaign, PacingDecisionRow
from opendialer.sdk import CampaignPacingState

pytestmark = pytest.mark.pg

TEN = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def state(engine: Engine, campaign_id: int) -> CampaignPacingState:
    return EngineReadView(engine).pacing_states()[campaign_id]


async def stop_campaign_and_finish(cid: int, nodes: list[Engine], clock: FakeClock) -> None:
    """No new calls; the calls up end in simulated time, then the nodes stop."""
    await Campaign.update({Campaign.state: "STOPPED"}).where(Campaign.id == cid).run()
    try:
        await run_until_idle(nodes, clock)
    finally:
        for node in nodes:
            await node.stop()


async def test_two_nodes_share_one_abandon_budget(db: Database) -> None:
    if not db.is_postgres:
        pytest.skip("several engine nodes need PostgreSQL (SQLite is the single-node backend)")
    clock = FakeClock(TEN)
    center = center_name()
    cid = await pacing_campaign("Power, two nodes", THREE_LINES, 10)
    a = pacing_engine(db, clock, center, agents=2, node_id="node-a")
    b = pacing_engine(db, clock, center, agents=2, node_id="node-b")
    await a.start(run_loop=False)
    up = [a]
    try:
        # node-a alone: six lines on two agents, four people abandoned.
        await run_for([a], clock, 6)
        calls = await ended_records(cid)
        assert [c["disposition"] for c in calls].count("abandoned") == 4
        assert {c["node"] for c in calls} == {"node-a"}

        # node-b starts. It has abandoned nobody, yet its first decisions see node-a's
        # abandons: the campaign is over its target, node-b holds it to progressive too.
        await b.start(run_loop=False)
        up.append(b)
        await run_for(up, clock, 4)
        seen_by_b = state(b, cid)
        assert seen_by_b.decision.reason == "abandon_budget"
        assert seen_by_b.decision.dial_level == 1.0
        assert (seen_by_b.abandon.live_answered, seen_by_b.abandon.abandoned) == (6, 4)
        assert state(a, cid).abandon == seen_by_b.abandon
        assert b.metrics.abandoned == 0

        rows = await PacingDecisionRow.select().where(PacingDecisionRow.campaign == cid).run()
        by_node = {row["node"]: row for row in rows}
        assert set(by_node) == {"node-a", "node-b"}
        for row in by_node.values():
            assert (row["reason"], row["live_answered"], row["abandoned"]) == (
                "abandon_budget",
                6,
                4,
            )
            assert row["abandon_rate_pct"] == pytest.approx(400 / 6)
    finally:
        await stop_campaign_and_finish(cid, up, clock)


async def test_two_nodes_share_the_free_agents_of_one_campaign(db: Database) -> None:
    """Four free agents, three lines per agent: twelve calls between the two nodes, not
    twelve each."""
    if not db.is_postgres:
        pytest.skip("several engine nodes need PostgreSQL (SQLite is the single-node backend)")
    clock = FakeClock(TEN)
    center = center_name()
    cid = await pacing_campaign("Power, shared agents", THREE_LINES, 0)
    a = pacing_engine(db, clock, center, agents=4, node_id="node-a")
    b = pacing_engine(db, clock, center, agents=4, node_id="node-b")
    await a.start(run_loop=False)
    await b.start(run_loop=False)
    try:
        # Both pace the campaign (no lead yet) long enough to read each other's decisions.
        await run_for([a, b], clock, 8)
        await add_due_leads(cid, 40, TEN)
        await a.tick()
        await b.tick()
        launched = [c["node"] for c in await records(cid)]
        assert {node: launched.count(node) for node in ("node-a", "node-b")} == {
            "node-a": 6,
            "node-b": 6,
        }
        for node in (a, b):
            assert state(node, cid).decision.predicted_free_agents == 2.0  # half of 4
    finally:
        await stop_campaign_and_finish(cid, [a, b], clock)


async def launched_by_node(cid: int) -> dict[str, int]:
    nodes = [c["node"] for c in await records(cid)]
    return {node: nodes.count(node) for node in sorted(set(nodes))}


async def test_two_nodes_starting_together_over_dial_the_free_agents_once(db: Database) -> None:
    """Neither node has told the other it paces the campaign when both launch their first
    calls: each counts the other, a live engine node, in from the start. Four free agents,
    three lines per agent: twelve calls in all, not twelve per node."""
    if not db.is_postgres:
        pytest.skip("several engine nodes need PostgreSQL (SQLite is the single-node backend)")
    clock = FakeClock(TEN)
    center = center_name()
    cid = await pacing_campaign("Power, two nodes starting", THREE_LINES, 40)
    a = pacing_engine(db, clock, center, agents=4, node_id="node-a")
    b = pacing_engine(db, clock, center, agents=4, node_id="node-b")
    await a.start(run_loop=False)
    await b.start(run_loop=False)
    try:
        # 1 s of ringing, then the people answered beyond the four agents are abandoned
        # 2 s later; the agents stay busy 30 s: nothing else is launched meanwhile.
        await run_for([a, b], clock, 6)
        assert await launched_by_node(cid) == {"node-a": 6, "node-b": 6}
    finally:
        await stop_campaign_and_finish(cid, [a, b], clock)


async def test_a_campaign_started_under_two_running_nodes_over_dials_its_agents_once(
    db: Database,
) -> None:
    """Two nodes up for a while; a campaign starts: neither has a decision for it yet, so
    each counts the other in until it has had time to report."""
    if not db.is_postgres:
        pytest.skip("several engine nodes need PostgreSQL (SQLite is the single-node backend)")
    clock = FakeClock(TEN)
    center = center_name()
    cid = await pacing_campaign("Power, started later", THREE_LINES, 40, state="STOPPED")
    a = pacing_engine(db, clock, center, agents=4, node_id="node-a")
    b = pacing_engine(db, clock, center, agents=4, node_id="node-b")
    await a.start(run_loop=False)
    await b.start(run_loop=False)
    try:
        await run_for([a, b], clock, 30)  # long past any start-up
        assert await launched_by_node(cid) == {}
        await Campaign.update({Campaign.state: "STARTED"}).where(Campaign.id == cid).run()
        await run_for([a, b], clock, 6)
        assert await launched_by_node(cid) == {"node-a": 6, "node-b": 6}
    finally:
        await stop_campaign_and_finish(cid, [a, b], clock)


async def test_a_live_node_that_never_reports_on_the_campaign_stops_counting(
    db: Database,
) -> None:
    """node-b is alive but cannot pace the campaign (its mode is not installed there): it is
    counted in only while it might still report, then node-a has every free agent."""
    if not db.is_postgres:
        pytest.skip("several engine nodes need PostgreSQL (SQLite is the single-node backend)")
    clock = FakeClock(TEN)
    center = center_name()
    cid = await pacing_campaign("Power, one node held", THREE_LINES, 0)
    a = pacing_engine(db, clock, center, agents=4, node_id="node-a")
    without_the_mode = PluginManager(disabled=frozenset({"amd_numpy"})).load_all()
    b = pacing_engine(db, clock, center, agents=4, node_id="node-b", pm=without_the_mode)
    await a.start(run_loop=False)
    await b.start(run_loop=False)
    try:
        await run_for([a, b], clock, 2)
        assert state(a, cid).decision.predicted_free_agents == 2.0  # half of 4
        await run_for([a, b], clock, 14)  # its grace, and the next reading
        assert state(a, cid).decision.predicted_free_agents == 4.0
        rows = await PacingDecisionRow.select().where(PacingDecisionRow.campaign == cid).run()
        assert {row["node"] for row in rows} == {"node-a"}
    finally:
        await stop_campaign_and_finish(cid, [a, b], clock)


def unresolved_up(nodes: list[Engine], cid: int) -> int:
    """The campaign's calls in flight on every node (all still ringing in the test below:
    none has reached an agent nor ended)."""
    return sum(EngineReadView(node).calls_in_flight().get(cid, 0) for node in nodes)


async def test_a_node_joining_a_campaign_over_dialed_by_another_counts_the_others_calls(
    db: Database,
) -> None:
    """node-a over-dials alone: twelve calls on four free agents, ringing 20 s. node-b
    starts while they ring: those calls will take the agents of node-b's share too, so it
    launches nothing until they have resolved — twelve unresolved calls at most, not
    twelve plus six. Then the two share the agents as they free."""
    if not db.is_postgres:
        pytest.skip("several engine nodes need PostgreSQL (SQLite is the single-node backend)")
    clock = FakeClock(TEN)
    center = center_name()
    # No abandon budget to hold it to progressive: the test is about the lines alone.
    cid = await pacing_campaign("Power, a node joins", THREE_LINES, 60, abandon_target_pct=100)
    ringing = {"ring_s": [20, 20]}
    a = pacing_engine(db, clock, center, agents=4, node_id="node-a", **ringing)
    b = pacing_engine(db, clock, center, agents=4, node_id="node-b", **ringing)
    await a.start(run_loop=False)
    up = [a]
    try:
        await run_for(up, clock, 3)
        assert await launched_by_node(cid) == {"node-a": 12}

        await b.start(run_loop=False)
        up.append(b)
        most = 0
        for _ in range(20):  # node-b's first 10 s; node-a's calls ring until 20 s
            await run_for(up, clock, 0.5)
            most = max(most, unresolved_up(up, cid))
        assert most == 12
        row = (
            await PacingDecisionRow.select()
            .where((PacingDecisionRow.campaign == cid) & (PacingDecisionRow.node == "node-a"))
            .first()
            .run()
        )
        assert (row["unresolved"], row["unresolved_among"]) == (12, 1)

        # At 20 s four people reach the agents (busy 30 s), eight are abandoned 2 s later;
        # when the agents free, each node over-dials its half of them.
        await run_for(up, clock, 45)
        assert await launched_by_node(cid) == {"node-a": 18, "node-b": 6}
    finally:
        await stop_campaign_and_finish(cid, up, clock)


async def test_a_joining_node_waits_until_the_other_has_counted_it_in(db: Database) -> None:
    """node-a has paced the campaign alone for a while, with no lead left: its row shows no
    call. node-b starts and leads come: node-a, which reads the others only every few
    seconds, still takes every free agent for its own — twelve calls. node-b launches
    nothing until node-a's decisions count it in, then none while those twelve ring."""
    if not db.is_postgres:
        pytest.skip("several engine nodes need PostgreSQL (SQLite is the single-node backend)")
    clock = FakeClock(TEN)
    center = center_name()
    cid = await pacing_campaign("Power, leads as a node joins", THREE_LINES, 0)
    ringing = {"ring_s": [20, 20]}
    a = pacing_engine(db, clock, center, agents=4, node_id="node-a", **ringing)
    b = pacing_engine(db, clock, center, agents=4, node_id="node-b", **ringing)
    await a.start(run_loop=False)
    up = [a]
    try:
        await run_for(up, clock, 30)  # long past any start-up
        await b.start(run_loop=False)
        up.append(b)
        await add_due_leads(cid, 40, TEN)
        most = 0
        reasons = set()
        for _ in range(24):  # node-b's first 12 s; node-a's calls ring 20 s
            await run_for(up, clock, 0.5)
            most = max(most, unresolved_up(up, cid))
            row = (
                await PacingDecisionRow.select(PacingDecisionRow.reason)
                .where((PacingDecisionRow.campaign == cid) & (PacingDecisionRow.node == "node-b"))
                .first()
                .run()
            )
            if row is not None:
                reasons.add(row["reason"])
        assert most == 12
        assert await launched_by_node(cid) == {"node-a": 12}
        # While it waits to be counted in, node-b says so (the Summary shows it).
        assert "share_pending" in reasons, reasons
    finally:
        await stop_campaign_and_finish(cid, up, clock)


async def test_a_campaign_starting_beside_another_on_one_node_counts_its_calls(
    db: Database,
) -> None:
    """The same on one node (either backend): a campaign over-dials its pool's four free
    agents alone, twelve calls ringing 20 s; a second campaign of the pool starts and takes
    nothing while they ring."""
    clock = FakeClock(TEN)
    center = center_name()
    first = await pacing_campaign("Power, first", THREE_LINES, 40, abandon_target_pct=100)
    second = await pacing_campaign(
        "Power, second", THREE_LINES, 40, abandon_target_pct=100, state="STOPPED"
    )
    node = pacing_engine(db, clock, center, agents=4, ring_s=[20, 20])
    await node.start(run_loop=False)
    try:
        await run_for([node], clock, 3)
        assert await launched_by_node(first) == {"pacing-node": 12}
        await Campaign.update({Campaign.state: "STARTED"}).where(Campaign.id == second).run()
        most = 0
        for _ in range(20):
            await run_for([node], clock, 0.5)
            in_flight = EngineReadView(node).calls_in_flight()
            most = max(most, in_flight.get(first, 0) + in_flight.get(second, 0))
        assert most == 12
        assert await launched_by_node(second) == {}
    finally:
        for cid in (first, second):
            await Campaign.update({Campaign.state: "STOPPED"}).where(Campaign.id == cid).run()
        try:
            await run_until_idle([node], clock)
        finally:
            await node.stop()


# -- the rule alone (no database) ------------------------------------------------


def test_calls_launched_for_a_larger_share_count_beyond_the_smaller_one() -> None:
    assert beyond_share(12, among=1, participants=2) == 6
    assert beyond_share(9, among=1, participants=2) == 5  # 4.5, rounded up
    assert beyond_share(12, among=1, participants=3) == 8
    assert beyond_share(12, among=2, participants=2) == 0  # launched for this share
    assert beyond_share(12, among=3, participants=2) == 0  # for a smaller one
    assert beyond_share(0, among=1, participants=2) == 0


def test_a_joining_share_and_the_calls_out_never_exceed_the_lines_of_the_pool() -> None:
    """Three lines per free agent, four free: node-a launched u calls alone; node-b, with
    half the agents, launches its six lines less node-a's calls beyond its half."""
    for u in range(13):
        launched_by_b = max(0, 3 * 2 - beyond_share(u, among=1, participants=2))
        assert u + launched_by_b <= 12


def test_a_participant_is_counted_in_by_decisions_made_well_after_its_first_row() -> None:
    at = 1_000.0
    assert counted_in([], None)  # nobody else reports: nothing to wait for
    assert not counted_in([Reported(0, 1, at + 60)], None)  # no row of its own yet
    assert not counted_in([Reported(0, 1, at + COUNTED_AFTER_S - 0.5)], at)
    late = Reported(0, 1, at + COUNTED_AFTER_S)
    assert counted_in([late], at)
    assert not counted_in([late, Reported(0, 1, at + 1)], at)


def test_a_node_alone_keeps_every_free_agent() -> None:
    shares = FairShares("node-a")
    shares.remote_nodes({})
    assert shares.share(7, 4, [7], 0.0).free == 4
    assert (shares.share(7, 4, [7], 0.0).beyond, shares.share(7, 4, [7], 0.0).waiting) == (
        0,
        False,
    )


def test_the_other_nodes_rows_give_the_calls_beyond_their_share() -> None:
    shares = FairShares("node-b")
    a_row = Reported(unresolved=12, among=1, decided_s=1_000.0 + COUNTED_AFTER_S)
    shares.remote_nodes({7: {"node-a": a_row}}, visible={7: 1_000.0})
    share = shares.share(7, 4, [7], 0.0)
    assert (share.free, share.participants, share.beyond, share.waiting) == (2, 2, 6, False)
    shares.remote_nodes({7: {"node-a": a_row}}, visible={7: 1_001.0})
    assert shares.share(7, 4, [7], 0.0).waiting
