"""Every example of docs/plugins.md works: each block marked ``# example: KIND`` is
loaded as a module, registered with a plugin manager, and driven through its
contract as the dialer drives it."""

from __future__ import annotations

import logging
import re
import types
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from opendialer import sdk
from opendialer.core.services import error_messages
from opendialer.testing import FakeClock, PluginManager

DOC = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
BLOCK = re.compile(r"```python\n# example: (\w+)\n(.*?)```", re.DOTALL)
KINDS = {
    "dnc_provider",
    "routing_target",
    "platform",
    "amd_strategy",
    "pacing_mode",
    "retry_policy",
    "exporter",
    "event_observer",
}
REQUEST = sdk.RoutingRequest(
    campaign_id=1, campaign_type="OSCC", queue="sales", pilot_number="4000"
)


def examples() -> dict[str, str]:
    found = dict(BLOCK.findall(DOC.read_text(encoding="utf-8")))
    assert set(found) == KINDS, "docs/plugins.md has one example per plugin kind"
    return found


@pytest.fixture
def load() -> Any:
    """``load(kind)`` → (a plugin manager with only that example registered, its module).
    The error codes an example registers are forgotten after its test."""
    codes = set(error_messages.MESSAGES)

    def _load(kind: str) -> tuple[PluginManager, types.ModuleType]:
        module = types.ModuleType(f"doc_example_{kind}")
        exec(compile(examples()[kind], f"docs/plugins.md ({kind})", "exec"), module.__dict__)
        pm = PluginManager()
        assert pm.register(module, name=kind), pm.failures
        return pm, module

    yield _load
    for code in set(error_messages.MESSAGES) - codes:
        del error_messages.MESSAGES[code]


def test_the_page_has_one_example_per_kind() -> None:
    assert len(examples()) == len(KINDS)


async def test_dnc_provider(load: Any) -> None:
    pm, _ = load("dnc_provider")
    clock = FakeClock()
    config = sdk.DncServiceConfig(
        id=1, name="Blocked", kind="blocklist", options={"blocked": ["+554181021119"]}
    )
    provider = pm.factories("dnc_providers")["blocklist"](config=config, context=clock)
    await provider.start()
    try:
        verdict = await provider.check("554181021119")
        assert verdict.do_not_call and verdict.checked_at == clock.now()
        assert not (await provider.check("554181021120")).do_not_call
        with pytest.raises(sdk.DncUnavailable):
            await provider.check("not a number")
        assert provider.health().ok
    finally:
        await provider.close()
    with pytest.raises(sdk.OptionError, match="blocked"):
        pm.factories("dnc_providers")["blocklist"](
            config=sdk.DncServiceConfig(id=2, name="x", kind="blocklist", options={"blocked": 1}),
            context=clock,
        )
    factory = pm.factories("dnc_providers")["blocklist"]
    assert factory.validate_options({"options": {"blocked": ["+554181021119"]}}) == {
        "url": None,
        "ca_bundle": None,
        "options": {"blocked": ["+554181021119"]},
    }
    with pytest.raises(sdk.OptionsInvalid) as refused:
        factory.validate_options({"url": "https://x.example", "options": {"blocked": 1}})
    assert [(e.option, e.code) for e in refused.value.errors] == [  # type: ignore[attr-defined]
        ("url", "blocklist.no_url"),
        ("options.blocked", "blocklist.blocked_not_list"),
    ]


async def test_routing_target(load: Any) -> None:
    pm, _ = load("routing_target")
    clock = FakeClock()
    factory = pm.factories("routing_targets")["seats"]
    target = factory(options={"seats": {"sales": 2}}, context=clock)
    await target.start()
    try:
        assert target.free_slots(REQUEST) == 2
        target.reserve(REQUEST, "a")
        target.reserve(REQUEST, "b")
        assert target.free_slots(REQUEST) == 0
        target.release("a", transferred=True)
        assert target.free_slots(REQUEST) == 1 and clock.pacer_wakes == 1
        assert target.health(REQUEST).ok
    finally:
        await target.close()
    with pytest.raises(sdk.OptionError) as refused:
        factory.validate_options({"seats": {"sales": -1}})
    assert refused.value.option == "seats"
    assert refused.value.code == "seats.seats_invalid"


async def test_platform(load: Any) -> None:
    pm, _ = load("platform")
    clock = FakeClock()
    factory = pm.factories("platforms")["loopback"]
    with pytest.raises(sdk.OptionError) as refused:
        factory.validate_options({"ports": 0})
    assert (refused.value.option, refused.value.code) == ("ports", "loopback.ports_invalid")
    platform = factory(options={"ports": 1}, context=clock)
    answered: list[object] = []
    request = sdk.CallRequest(
        call_id="c1",
        number="554181021119",
        caller_id=None,
        transfer_to="4000",
        no_answer_timeout_s=30,
        amd_session=None,
        on_verdict=lambda decision: sdk.CallAction.TRANSFER,
        on_answered=answered.append,
    )
    await platform.start()
    try:
        outcome = await platform.originate(request)
        assert outcome.disposition == sdk.CallDisposition.TRANSFERRED
        assert answered == [clock.now()] and platform.free_ports() == 1
        platform.busy = 1  # every port taken: nothing is sent
        with pytest.raises(sdk.PlatformUnavailable):
            await platform.originate(request)
    finally:
        await platform.close()


def test_amd_strategy(load: Any) -> None:
    pm, _ = load("amd_strategy")
    strategy = pm.factories("amd_strategies")["talk_length"](context=FakeClock())
    assert {p.name for p in strategy.parameters()} == {"listen_ms", "loud"}
    rng = np.random.default_rng(1)
    loud = (rng.standard_normal(160) * 3000).astype(np.int16)  # 20 ms of talking
    quiet = np.zeros(160, dtype=np.int16)

    machine = strategy.new_session(strategy.presets()["fast"])
    decisions = [machine.feed(loud) for _ in range(75)]  # 1.5 s of talking
    assert decisions[-2] is None and decisions[-1].label == sdk.AmdLabel.MACHINE
    person = strategy.new_session({})
    for chunk in [loud] * 25 + [quiet] * 100:  # "hello?", then waiting
        decision = person.feed(chunk)
    assert decision is not None and decision.label == sdk.AmdLabel.HUMAN
    assert strategy.new_session({}).finish().label == sdk.AmdLabel.NOTSURE
    with pytest.raises(ValueError, match="nonsense"):
        strategy.new_session({"nonsense": 1})


def test_pacing_mode(load: Any) -> None:
    pm, _ = load("pacing_mode")
    pacing = pm.factories("pacing_modes")["half"](context=FakeClock())
    snapshot = sdk.PacingSnapshot(free_slots=5, free_ports=10, global_max=100, in_flight=0)
    assert pacing.calls_to_launch(snapshot) == 3
    full = sdk.PacingSnapshot(free_slots=5, free_ports=10, global_max=4, in_flight=4)
    assert pacing.calls_to_launch(full) == 0


def test_retry_policy(load: Any) -> None:
    pm, _ = load("retry_policy")
    policy = pm.factories("retry_policies")["doubling"](context=FakeClock())
    ended = FakeClock().now()
    again = policy.next_attempt_at(
        status=sdk.LeadStatus.BUSY,
        attempts=3,
        max_attempts=5,
        ended_at=ended,
        retry_after_minutes=10,
    )
    assert again == ended + timedelta(minutes=40)
    done = policy.next_attempt_at(
        status=sdk.LeadStatus.BUSY,
        attempts=5,
        max_attempts=5,
        ended_at=ended,
        retry_after_minutes=10,
    )
    assert done is None


async def test_exporter(load: Any) -> None:
    pm, _ = load("exporter")
    exporter = pm.factories("metrics_exporters")["text"](context=FakeClock())
    await exporter.start()
    stop = pm.observe(exporter)  # what the dialer does with the exporter it built
    try:
        call = sdk.CallRecord.from_api({"id": 1, "campaign_id": 2, "lead_id": 3, "status": "BUSY"})
        await pm.notify("call_finished", call=call)
        body, content_type = await exporter.render("")
        assert body == b"outcome BUSY 1\n" and content_type == "text/plain"
    finally:
        stop()
        await exporter.close()


async def test_event_observer(load: Any, caplog: pytest.LogCaptureFixture) -> None:
    pm, _ = load("event_observer")
    call = sdk.CallRecord.from_api({"id": 1, "campaign_id": 2, "lead_id": 3, "status": "SUCCESS"})
    campaign = sdk.CampaignRecord.from_api({"id": 2, "name": "Spring", "state": "STARTED"})
    with caplog.at_level(logging.INFO, logger="crm_sync"):
        await pm.notify("call_finished", call=call)
        await pm.notify(
            "campaign_state_changed",
            campaign=campaign,
            old_state="STOPPED",
            new_state="STARTED",
            reason="user:alice",
        )
    assert [r.getMessage() for r in caplog.records if r.name == "crm_sync"] == [
        "crm_outcome lead=3 status=SUCCESS",
        "crm_campaign Spring STOPPED -> STARTED (user:alice)",
    ]
