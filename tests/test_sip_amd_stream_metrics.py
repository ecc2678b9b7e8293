"""``opendialer_amd_streams`` and ``opendialer_amd_processing_lag_seconds``: whether AMD
keeps up with answer audio, scraped from an engine while a SIPp far end plays a greeting."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sip_helpers import EnergyAmd, call_request, eventually, running_platform, sip_config
from sipp_far_end import SippUas, audio, ensure_sipp
from test_metrics import scrape, scraped_app, series

from opendialer.core.engine.engine import Engine
from opendialer.core.storage import Database
from opendialer.sdk.contracts import AmdLabel, CallDisposition

pytestmark = [pytest.mark.sip, pytest.mark.timeout(90)]

ACTIVE = "opendialer_amd_streams"
LAG = "opendialer_amd_processing_lag_seconds"


def value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    wanted = frozenset(labels.items())
    return next(v for key, v in series(samples, name).items() if key == wanted)


async def test_a_running_amd_stream_is_counted_and_its_lag_measured(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ensure_sipp()
    uas = SippUas(
        "uas_answer_rtp.xml",
        calls=1,
        keys={"audio": audio("machine_greeting.ulaw"), "refer_result": "200 OK"},
        sets={"ring_ms": "200"},
    ).start(tmp_path)
    amd = EnergyAmd()
    async with running_platform(sip_config(uas.address)) as platform:
        engine = Engine(db, "sip-node", platform=platform)  # not started: only read
        async with scraped_app(db, engine, monkeypatch) as client:
            _, before = await scrape(client)
            call = asyncio.create_task(platform.originate(call_request(amd=amd)))
            await eventually(lambda: amd.fed_samples > 0, what="answer audio fed to AMD")
            _, during = await scrape(client)
            outcome = await call
            _, after = await scrape(client)
    await asyncio.to_thread(uas.wait, 30)
    assert outcome.disposition is CallDisposition.AMD_HANGUP
    assert outcome.amd is not None and outcome.amd.label is AmdLabel.MACHINE
    assert value(before, ACTIVE) == 0 and value(before, LAG + "_count") == 0
    assert value(during, ACTIVE) == 1
    assert value(after, ACTIVE) == 0
    feeds = amd.fed_samples / 1600  # one sample per 200 ms batch fed
    assert value(after, LAG + "_count") == pytest.approx(feeds, abs=1)
    # one call keeps up: every batch analysed within a second of its audio (a lag counted
    # from the wrong moment — the INVITE, the ring — would be seconds)
    assert value(after, LAG + "_bucket", le="1.0") == value(after, LAG + "_count")
    assert value(after, LAG + "_sum") < 0.2 * value(after, LAG + "_count")
    assert platform.stats()["amd_streams"] == 0
