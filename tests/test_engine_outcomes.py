"""docs/outcomes.md and core/engine/outcomes.py are the same table; the simulator
plays real audio to a campaign's AMD session."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from engine_support import (
    add_leads,
    add_schedule,
    make_campaign,
    make_engine,
    records,
    run_round,
    utc,
)

from opendialer.core.domain import LeadStatus
from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.outcomes import DISPOSITION_STATUS, SIP_CODE_STATUS, status_for_sip_code
from opendialer.core.plugins import PluginManager
from opendialer.core.storage import Database
from opendialer.plugins.platform_sim.clips import load_clips
from opendialer.sdk.contracts import AmdDecision, AmdLabel, CallDisposition
from opendialer.sdk.hookspecs import hookimpl

DOC = Path(__file__).resolve().parent.parent / "docs" / "outcomes.md"


def _table(heading: str) -> dict[str, str]:
    text = DOC.read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ([^|]+?) \| ([^|]+?) \|$", section, flags=re.M)
    return {a.strip(): b.strip() for a, b in rows if not set(a.strip()) <= {"-"}}


def test_sip_code_table_matches_the_code() -> None:
    doc = _table("## SIP final responses")
    doc.pop("SIP code")
    assert {int(k): v for k, v in doc.items()} == {k: v.value for k, v in SIP_CODE_STATUS.items()}
    assert status_for_sip_code(487) is LeadStatus.FAILURE  # "any other 4xx"
    assert status_for_sip_code(302) is LeadStatus.UNKNOWN


def test_disposition_table_matches_the_code() -> None:
    doc = _table("## Platform dispositions")
    doc.pop("disposition")
    assert doc.pop("final_response") == "by SIP code, table above"
    assert doc == {k.value: v.value for k, v in DISPOSITION_STATUS.items()}
    assert set(doc) | {"final_response"} == {d.value for d in CallDisposition}


class EnergyDetector:
    """A throw-away AMD session: long speech is a machine, a short hello then silence a person."""

    def __init__(self) -> None:
        self.samples = 0
        self.speech = 0
        self.silence_after = 0
        self.decision: AmdDecision | None = None

    def feed(self, pcm):
        if self.decision is not None:
            return self.decision
        self.samples += len(pcm)
        loud = float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) > 300
        if loud:
            self.speech += len(pcm)
            self.silence_after = 0
        elif self.speech:
            self.silence_after += len(pcm)
        if self.speech > 2.0 * 8000:
            self.decision = AmdDecision(AmdLabel.MACHINE, self.samples / 8, "long greeting")
        elif self.speech and self.silence_after > 0.8 * 8000:
            self.decision = AmdDecision(AmdLabel.HUMAN, self.samples / 8, "short hello")
        return self.decision

    def finish(self):
        return AmdDecision(AmdLabel.NOTSURE, self.samples / 8, "audio ended")


class EnergyStrategy:
    def __init__(self, context=None) -> None:
        pass

    def parameters(self):
        return []

    def presets(self):
        return {}

    def new_session(self, params, sample_rate=8000):
        return EnergyDetector()


class EnergyPlugin:
    @hookimpl
    def register_amd_strategies(self):
        return {"energy_test": EnergyStrategy}


DAY = date(2026, 3, 2)


async def amd_campaign(
    prefix: str, answers: dict[str, int], **settings: Any
) -> tuple[int, dict[str, list[str]], dict[str, list[str]]]:
    """A campaign with AMD on and, per simulator answer ("human", "machine"), that many
    leads: ``(id, numbers by answer, the simulator's script for them)``."""
    cid = await make_campaign(amd_enabled=True, **settings)
    await add_schedule(cid, DAY)
    numbers = {
        answer: [f"{prefix}{k}{i}" for i in range(count)]
        for k, (answer, count) in enumerate(answers.items())
    }
    await add_leads(cid, [n for listed in numbers.values() for n in listed])
    script = {n: [answer] for answer, listed in numbers.items() for n in listed}
    return cid, numbers, script


async def dial_one_round(db: Database, pm: PluginManager, script: dict[str, list[str]]) -> None:
    engine = make_engine(db, FakeClock(utc(2026, 3, 2, 10, 0)), pm=pm, script=script, slots=20)
    await engine.start(run_loop=False)
    try:
        await run_round(engine)
    finally:
        await engine.stop()


async def test_simulator_plays_its_clips_to_the_campaign_amd(db: Database) -> None:
    pm = PluginManager().load_all()
    pm.register(EnergyPlugin(), name="energy_test")
    cid, numbers, script = await amd_campaign(
        "155509", {"human": 6, "machine": 6}, amd_params={"strategy": "energy_test"}
    )
    await dial_one_round(db, pm, script)
    calls = {c["phone"]: c for c in await records(cid)}
    for number in numbers["human"]:
        assert (calls[number]["amd_verdict"], calls[number]["status"]) == ("HUMAN", "SUCCESS")
        assert 500 < calls[number]["amd_decision_ms"] < 3500
    for number in numbers["machine"]:
        assert (calls[number]["amd_verdict"], calls[number]["status"]) == ("MACHINE", "AMD")
        assert calls[number]["disposition"] == "amd_hangup"
        assert calls[number]["amd_decision_ms"] >= 2000


async def test_amd_on_without_any_strategy_uses_the_simulators_verdict(db: Database) -> None:
    pm = PluginManager(disabled=frozenset({"amd_numpy"})).load_all()
    assert pm.factories("amd_strategies") == {}
    cid, numbers, script = await amd_campaign("155095", {"human": 1, "machine": 1})
    await dial_one_round(db, pm, script)
    calls = {c["phone"]: c for c in await records(cid)}
    (human,), (machine,) = numbers["human"], numbers["machine"]
    assert (calls[human]["amd_verdict"], calls[human]["status"]) == ("HUMAN", "SUCCESS")
    assert (calls[machine]["amd_verdict"], calls[machine]["status"]) == ("MACHINE", "AMD")


async def test_the_product_detector_decides_the_simulators_calls(db: Database) -> None:
    """AMD on with no strategy named: the engine picks ``numpy``, the built-in detector,
    and the simulator streams it its recorded hellos and voicemail greetings. Each call's
    verdict, time and reasons are those of the detector run on the whole clip."""
    pm = PluginManager().load_all()
    strategy = pm.factories("amd_strategies")["numpy"](context=None)
    offline: dict[str, set[tuple[str, float, str]]] = {}
    for kind, clips in load_clips().items():
        for pcm in clips:
            session = strategy.new_session({}, sample_rate=8000)
            d = session.feed(pcm) or session.finish()
            offline.setdefault(kind, set()).add((d.label.value, d.decision_ms, d.reasons))
    assert {label for label, _, _ in offline["human"]} == {"HUMAN"}
    assert {label for label, _, _ in offline["machine"]} == {"MACHINE"}

    cid, numbers, script = await amd_campaign("155092", {"human": 8, "machine": 8})
    await dial_one_round(db, pm, script)
    calls = {c["phone"]: c for c in await records(cid)}
    for kind, outcome in (
        ("human", ("SUCCESS", "transferred")),
        ("machine", ("AMD", "amd_hangup")),
    ):
        for number in numbers[kind]:
            call = calls[number]
            verdict = (call["amd_verdict"], call["amd_decision_ms"], call["amd_reasons"])
            assert verdict in offline[kind], call
            assert (call["status"], call["disposition"]) == outcome, call


async def test_what_each_verdict_does_is_the_campaigns_setting(db: Database) -> None:
    """``on_machine: transfer`` sends machines to the pilot like people (status SUCCESS);
    the other campaign keeps the defaults (MACHINE hangs up, status AMD)."""
    pm = PluginManager().load_all()
    keeps, _, script = await amd_campaign("155094", {"machine": 4}, name="Defaults")
    transfers, _, more = await amd_campaign(
        "155096",
        {"machine": 4},
        name="Machines to agents",
        amd_params={"on_machine": "transfer", "preset": "fast"},
    )
    await dial_one_round(db, pm, script | more)
    for cid, outcome in ((keeps, ("AMD", "amd_hangup")), (transfers, ("SUCCESS", "transferred"))):
        calls = await records(cid)
        assert len(calls) == 4
        for call in calls:
            assert call["amd_verdict"] == "MACHINE", call
            assert (call["status"], call["disposition"]) == outcome, call


def test_verdict_actions_default_to_the_product_guide() -> None:
    from opendialer.core.amd_settings import verdict_actions
    from opendialer.sdk.contracts import CallAction as Act

    assert verdict_actions({}) == {
        AmdLabel.HUMAN: Act.TRANSFER,
        AmdLabel.MACHINE: Act.HANGUP,
        AmdLabel.FAX: Act.HANGUP,
        AmdLabel.SILENCE: Act.HANGUP,
        AmdLabel.NOTSURE: Act.TRANSFER,
    }
    flipped = verdict_actions(
        {"on_machine": "transfer", "on_fax": "transfer", "on_silence": "transfer"}
        | {"on_notsure": "hangup"}
    )
    assert flipped[AmdLabel.HUMAN] is Act.TRANSFER  # a person is never hung up on by setting
    assert [flipped[x] for x in (AmdLabel.MACHINE, AmdLabel.FAX, AmdLabel.SILENCE)] == [
        Act.TRANSFER
    ] * 3
    assert flipped[AmdLabel.NOTSURE] is Act.HANGUP
