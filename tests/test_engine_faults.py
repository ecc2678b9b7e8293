"""A campaign whose pacing round raises (an engine bug, a broken plugin) is held as
``engine_fault`` with the error, on its pages in the viewer's language and pointing a
Master to Diagnostics, while the engine's other campaigns go on dialing; the hold
clears by itself once its rounds complete again. (Before: the exception ended the
pacing round of every campaign of the node, and the Summary could only say "no
engine is pacing this campaign".)"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from engine_support import (
    RoutingTargetDouble,
    add_leads,
    add_schedule,
    make_campaign,
    make_engine,
    records,
    run_round,
    utc,
)
from test_engine_held import state_of

from opendialer import sdk
from opendialer.admin_ui.held_text import held_detail
from opendialer.admin_ui.i18n import translator
from opendialer.core import held
from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.runner import FAULT_AFTER_S, FAULT_RETRY_S
from opendialer.core.plugins import PluginManager
from opendialer.core.storage import Database
from opendialer.core.storage.tables import DncService, Lead
from opendialer.testing import registered_plugin

pytestmark = pytest.mark.pg

MONDAY = date(2026, 3, 2)


class BrokenQueue(RoutingTargetDouble):
    """A third party's routing target whose free count raises until it is mended."""

    broken = True
    asked = 0

    def free_slots(self, request: sdk.RoutingRequest) -> int:
        BrokenQueue.asked += 1
        if BrokenQueue.broken:
            raise RuntimeError("queue table corrupt")
        return 2


class BrokenQueuePlugin:
    @sdk.hookimpl
    def register_routing_targets(self) -> dict[str, Any]:
        return {"broken_queue": BrokenQueue}


async def test_a_failing_campaign_is_held_with_its_error_and_the_others_dial(
    db: Database,
) -> None:
    BrokenQueue.broken, BrokenQueue.asked = True, 0
    pm = PluginManager().load_all()
    with registered_plugin(BrokenQueuePlugin(), "broken_queue", manager=pm):
        clock = FakeClock(utc(2026, 3, 2, 10, 0))
        broken = await make_campaign(name="Broken", routing_target="broken_queue")
        healthy = await make_campaign(name="Healthy")
        for cid, first in ((broken, "1555030"), (healthy, "1555040")):
            await add_schedule(cid, MONDAY)
            await add_leads(cid, [f"{first}{n}" for n in range(4)])
        engine = make_engine(db, clock, pm=pm, node_id="node-7")
        await engine.start(run_loop=False)
        try:
            await run_round(engine, 3)
            assert len(await records(healthy)) == 4  # the fault of one stops no other
            assert await records(broken) == []
            # failing, it is tried again once a second, not at every wake
            assert BrokenQueue.asked == 1
            # one failed round is not shown as a fault (a database hiccup would be)
            assert (await state_of(broken, clock)).code is None
            await clock.advance(FAULT_AFTER_S + 1)
            await run_round(engine)
            state = await state_of(broken, clock)
            assert (state.code, state.dialing, state.fix_path) == (
                held.ENGINE_FAULT,
                False,
                "/system",
            )
            assert state.params == {"node": "node-7", "detail": "RuntimeError: queue table corrupt"}
            said = held_detail(state, translator("pt_BR"))
            assert said.startswith("Iniciada — sem discar: o motor de discagem node-7 falhou")
            assert "RuntimeError: queue table corrupt" in said
            assert (await state_of(healthy, clock)).code != held.ENGINE_FAULT
            # mended: the next try dials and the hold is gone
            BrokenQueue.broken = False
            await clock.advance(FAULT_RETRY_S)
            await run_round(engine)
            assert (await state_of(broken, clock)).code is None
            assert len(await records(broken)) == 2
        finally:
            BrokenQueue.broken = True
            await engine.stop()


class RefusingQueue(RoutingTargetDouble):
    """Counts its free agents, then fails to reserve one (a third party's bug)."""

    def free_slots(self, request: sdk.RoutingRequest) -> int:
        return 3

    def reserve(self, request: sdk.RoutingRequest, call_id: str) -> None:
        raise RuntimeError("reservation table locked")


class RefusingQueuePlugin:
    @sdk.hookimpl
    def register_routing_targets(self) -> dict[str, Any]:
        return {"refusing_queue": RefusingQueue}


@pytest.mark.parametrize("dnc", [False, True], ids=["started-in-the-claim", "dnc-checked"])
async def test_calls_claimed_but_not_launched_are_given_back(db: Database, dnc: bool) -> None:
    """The round failed after its claim committed: the claimed leads are not left leased
    with open call records (until a restart reconciled them as UNKNOWN attempts): each
    attempt is undone and the lead due again, as if never claimed."""
    pm = PluginManager().load_all()
    with registered_plugin(RefusingQueuePlugin(), "refusing_queue", manager=pm):
        clock = FakeClock(utc(2026, 3, 2, 10, 0))
        fields: dict[str, Any] = {"routing_target": "refusing_queue"}
        if dnc:
            service = DncService(name="Embedded list", kind="embedded")
            await service.save().run()
            fields["dnc_service"] = service.id
        cid = await make_campaign(name="Refused", **fields)
        await add_schedule(cid, MONDAY)
        await add_leads(cid, [f"155505{n}" for n in range(5)])
        engine = make_engine(db, clock, pm=pm, node_id="node-8")
        await engine.start(run_loop=False)
        try:
            for _ in range(3):
                await run_round(engine)
                await clock.advance(FAULT_RETRY_S)
            # while the node runs (stopping it reconciles what is left: too late)
            leads = await Lead.select().where(Lead.campaign == cid).run()
            assert [(row["attempts"], row["lease_owner"]) for row in leads] == [(0, None)] * 5
            assert all(row["next_attempt_at"] is not None for row in leads)  # due again
            assert await records(cid) == []  # no call record left open, none made up
        finally:
            await engine.stop()
