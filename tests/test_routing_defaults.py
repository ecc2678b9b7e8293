"""The routing target a campaign uses when it names none is the one registered as its
type's default; a third-party target can declare itself the default of a type."""

from __future__ import annotations

from datetime import date
from typing import Any

from engine_support import (
    RoutingTargetDouble,
    add_leads,
    add_schedule,
    make_campaign,
    records,
    run_round,
    utc,
)

from opendialer import sdk
from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.engine import Engine
from opendialer.core.plugins import PluginManager
from opendialer.core.services import routing_config
from opendialer.core.storage import Database
from opendialer.testing import registered_plugin

MONDAY = date(2026, 3, 2)


class QueueRouter(RoutingTargetDouble):
    """A third party's IVR replacement: three free channels, every launch recorded."""

    default_for_campaign_types = ("IVR",)
    reserved: list[str] = []

    def free_slots(self, request: sdk.RoutingRequest) -> int:
        return 3

    def reserve(self, request: sdk.RoutingRequest, call_id: str) -> None:
        QueueRouter.reserved.append(call_id)


class QueueRouterPlugin:
    @sdk.hookimpl
    def register_routing_targets(self) -> dict[str, Any]:
        return {"queue_router": QueueRouter}


async def test_a_third_party_target_declared_default_of_a_type_gets_its_campaigns(
    db: Database,
) -> None:
    QueueRouter.reserved.clear()
    pm = PluginManager().load_all()
    with registered_plugin(QueueRouterPlugin(), "queue_router", manager=pm):
        clock = FakeClock(utc(2026, 3, 2, 10, 0))
        cid = await make_campaign(type="IVR", routing_target=None)
        await add_schedule(cid, MONDAY)
        await add_leads(cid, ["15550201", "15550202"])
        engine = Engine(
            db,
            "test-node",
            clock,
            "sim",
            platform_options={"time_scale": 0, "seed": 1, "mix": {"human": 1}},
            plugin_manager=pm,
        )
        await engine.start(run_loop=False)
        try:
            await run_round(engine)
            calls = await records(cid)
        finally:
            await engine.stop()
        assert len(calls) == 2
        assert sorted(QueueRouter.reserved) == sorted(c["call_id"] for c in calls)
        # The type it did not claim keeps the built-in default.
        assert engine.routing_by_type["OSCC"] == "oscc"


def test_the_settings_service_names_the_declared_default_of_each_type() -> None:
    assert routing_config.target_of("OSCC") == "oscc"
    assert routing_config.target_of("IVR") == "ivr"
    with registered_plugin(QueueRouterPlugin(), "queue_router"):
        assert routing_config.target_of("IVR") == "queue_router"
        assert routing_config.target_of("IVR", "static") == "static"  # its own wins
    assert routing_config.target_of("IVR") == "ivr"
