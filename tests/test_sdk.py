"""The SDK as a plugin author meets it: events through pluggy (order, wrappers,
isolation), payloads as the JSON API shows them, one complete context, and the
old import paths still loading with a warning."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings
from collections.abc import Generator
from datetime import date
from typing import Any

import pytest
from engine_support import add_leads, add_schedule, make_campaign, make_engine, run_round, utc

from opendialer import sdk
from opendialer.core.engine.clock import FakeClock as EngineClock
from opendialer.core.engine.view import EngineReadView
from opendialer.core.plugin_context import DialerContext
from opendialer.core.storage import Database
from opendialer.testing import FakeClock, PluginManager

CALL = sdk.CallRecord.from_api({"id": 7, "campaign_id": 3, "lead_id": 9, "status": "SUCCESS"})


async def test_tryfirst_and_wrapper_implementations_take_part() -> None:
    pm = PluginManager()
    order: list[str] = []

    class Plain:
        @sdk.hookimpl
        async def call_finished(self, call: sdk.CallRecord) -> None:
            order.append("plain")  # awaited by notify, once pluggy's loop is done

    class First:
        @sdk.hookimpl(tryfirst=True)
        def call_finished(self, call: sdk.CallRecord) -> None:
            order.append("first")

    class Wrapper:
        @sdk.hookimpl(wrapper=True)
        def call_finished(self, call: sdk.CallRecord) -> Generator[None, Any, Any]:
            order.append(f"before {call.status}")
            results = yield
            order.append(f"after {len(results)} result(s)")
            return results

    for plugin, name in ((First(), "first"), (Plain(), "plain"), (Wrapper(), "wrapper")):
        assert pm.register(plugin, name=name), pm.failures
    await pm.notify("call_finished", call=CALL)
    assert order == ["before SUCCESS", "first", "after 1 result(s)", "plain"]


async def test_a_failing_implementation_is_logged_by_name_and_the_rest_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pm = PluginManager()
    seen: list[int] = []

    class Broken:
        @sdk.hookimpl(tryfirst=True)
        def call_finished(self, call: sdk.CallRecord) -> None:
            raise RuntimeError("crm down")

    class SlowlyBroken:
        @sdk.hookimpl
        async def call_finished(self, call: sdk.CallRecord) -> None:
            raise RuntimeError("crm still down")

    class Counter:
        @sdk.hookimpl(trylast=True)
        def call_finished(self, call: sdk.CallRecord) -> None:
            seen.append(call.id)

        @sdk.hookimpl
        def dnc_checked(self, service: str, result: str, seconds: float) -> None:
            raise RuntimeError("hot path")

    pm.register(Broken(), name="broken")
    pm.register(SlowlyBroken(), name="slowly_broken")
    pm.register(Counter(), name="counter")
    with caplog.at_level(logging.ERROR):
        await pm.notify("call_finished", call=CALL)
        pm.notify_now("dnc_checked", service="x", result="callable", seconds=0.1)
    assert seen == [7]
    logged = [r.getMessage() for r in caplog.records]
    assert "plugin_hook_error plugin=broken hook=call_finished" in logged
    assert "plugin_hook_error plugin=slowly_broken hook=call_finished" in logged
    assert "plugin_hook_error plugin=counter hook=dnc_checked" in logged


async def test_an_observer_built_by_a_factory_receives_events_until_stopped() -> None:
    pm = PluginManager()
    counted: list[str | None] = []

    class Exporter:
        @sdk.hookimpl
        def call_finished(self, call: sdk.CallRecord) -> None:
            counted.append(call.status)

    stop = pm.observe(Exporter())
    await pm.notify("call_finished", call=CALL)
    stop()
    await pm.notify("call_finished", call=CALL)
    assert counted == ["SUCCESS"]
    assert pm.plugins() == []  # an observer is not a plugin of the listing

    class NotAnObserver:
        @sdk.hookimpl
        def register_platforms(self) -> dict[str, Any]:
            return {}

    with pytest.raises(ValueError, match="register_platforms"):
        pm.observe(NotAnObserver())


def test_payloads_read_as_typed_objects_and_as_the_api_json() -> None:
    ended = utc(2026, 3, 2, 10, 0)
    call = sdk.CallRecord.from_api({"id": 1, "campaign_id": 2, "lead_id": 3, "ended_at": ended})
    assert call.ended_at == ended and call["ended_at"] == ended.isoformat()
    assert call.get("status") is None and "lease_owner" not in call
    assert call.as_json()["campaign_id"] == 2
    with pytest.raises(AttributeError):
        call.status = "BUSY"  # type: ignore[misc]


async def test_lead_and_call_events_carry_what_the_api_shows(db: Database) -> None:
    cid = await make_campaign()
    await add_schedule(cid, date(2026, 3, 2))
    await add_leads(cid, ["15550101"])
    leads: list[sdk.LeadRecord] = []
    calls: list[sdk.CallRecord] = []

    class Observer:
        @sdk.hookimpl
        def lead_status_changed(self, lead: sdk.LeadRecord, old_status: str, new_status: str):
            leads.append(lead)

        @sdk.hookimpl
        def call_finished(self, call: sdk.CallRecord) -> None:
            calls.append(call)

    pm = PluginManager().load_all()
    pm.register(Observer(), name="observer")
    engine = make_engine(db, EngineClock(utc(2026, 3, 2, 10, 0)), pm=pm, mix={"busy": 1})
    await engine.start(run_loop=False)
    try:
        await run_round(engine)
    finally:
        await engine.stop()
    [lead] = leads
    assert set(lead) == {
        "id", "campaign_id", "name", "description", "phone", "attempts", "status",
        "next_attempt_at",
    }  # fmt: skip
    assert (lead.campaign_id, lead.phone, lead.status) == (cid, "15550101", "BUSY")
    [call] = calls
    assert (call.campaign_id, call.phone, call.status) == (cid, "15550101", "BUSY")
    assert call.lead_id == lead.id and isinstance(call, sdk.CallRecord)


def test_every_context_is_a_complete_plugin_context() -> None:
    engine_side = DialerContext(settings={"node_id": "node-a", "dead_after_s": 15.0})
    for context in (engine_side, DialerContext(), FakeClock(settings={"node_id": "t"})):
        assert isinstance(context, sdk.PluginContext)
    assert engine_side.node_id == "node-a" and DialerContext().node_id == ""
    DialerContext().wake_pacer()  # outside an engine: nothing to wake, no error


async def test_the_engine_view_reads_the_engine(db: Database) -> None:
    engine = make_engine(db, EngineClock(utc(2026, 3, 2, 10, 0)))
    await engine.start(run_loop=False)
    try:
        view = EngineReadView(engine)
        assert isinstance(view, sdk.EngineView)
        assert view.node_id == engine.node_id and view.now() == utc(2026, 3, 2, 10, 0)
        assert view.calls_in_flight() == {} and view.platform().free_ports() > 0
    finally:
        await engine.stop()


def test_old_import_paths_still_load_with_a_deprecation_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from opendialer.core.contracts import DncProvider
        from opendialer.core.hookspecs import hookimpl
    assert DncProvider is sdk.DncProvider and hookimpl is sdk.hookimpl
    messages = [str(w.message) for w in caught if w.category is DeprecationWarning]
    assert any("import DncProvider from opendialer.sdk" in m for m in messages)
    assert any("import hookimpl from opendialer.sdk" in m for m in messages)
    # The dialer's own modules load without one (they moved, or are moving, over).
    quiet = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", "import opendialer.cli"],
        capture_output=True,
        text=True,
    )
    assert quiet.returncode == 0, quiet.stderr
