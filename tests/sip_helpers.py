"""Helpers for the SIP platform tests: a test-only AMD, configs, call requests.

``EnergyAmd`` is deliberately simple (it is not the product's detector): it
measures 20 ms frame energy and decides MACHINE when voiced audio runs on for
more than 2 s (gaps under 300 ms bridged), HUMAN when a short greeting is
followed by 800 ms of silence; ``finish()`` says SILENCE when nothing was ever
heard. That is enough to tell the two far-end recordings apart.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from eventually import eventually as eventually  # tests import it from here too

from opendialer.plugins.platform_sip import SipPlatform
from opendialer.sdk.contracts import AmdDecision, AmdLabel, CallAction, CallRequest
from opendialer.sdk.hookspecs import hookimpl

FRAME = 160  # 20 ms at 8 kHz
VOICE_RMS = 500.0


class EnergyAmd:
    def __init__(self) -> None:
        self.ms = 0.0
        self.fed_samples = 0
        self.heard = False
        self.run_ms = 0.0  # current voiced run, gaps < 300 ms bridged
        self.gap_ms = 0.0
        self.decision: AmdDecision | None = None

    def feed(self, pcm: npt.NDArray[np.int16]) -> AmdDecision | None:
        if self.decision is not None:
            return self.decision
        self.fed_samples += len(pcm)
        usable = len(pcm) - len(pcm) % FRAME
        frames = pcm[:usable].astype(np.float32).reshape(-1, FRAME)
        voiced = np.sqrt((frames**2).mean(axis=1)) > VOICE_RMS
        for is_voiced in voiced.tolist():  # 10 frames per 200 ms batch: cheap
            self.ms += 20
            if is_voiced:
                self.heard = True
                self.run_ms += 20 + (self.gap_ms if self.gap_ms < 300 else 0)
                self.gap_ms = 0
            else:
                self.gap_ms += 20
                if self.gap_ms >= 300:
                    self.run_ms = 0
            if self.run_ms > 2000:
                return self._decide(AmdLabel.MACHINE, "voiced audio > 2 s")
            if self.heard and self.gap_ms >= 800:
                return self._decide(AmdLabel.HUMAN, "short greeting then silence")
        return None

    def _decide(self, label: AmdLabel, why: str) -> AmdDecision:
        self.decision = AmdDecision(label, self.ms, why)
        return self.decision

    def finish(self) -> AmdDecision:
        if self.decision is None:
            label = AmdLabel.NOTSURE if self.heard else AmdLabel.SILENCE
            self.decision = AmdDecision(label, self.ms, "audio ended before a decision")
        return self.decision


class EnergyStrategy:
    """``EnergyAmd`` as an AMD strategy, for tests that drive the engine."""

    def __init__(self, context: Any = None) -> None:
        pass

    def parameters(self) -> list[Any]:
        return []

    def presets(self) -> dict[str, Any]:
        return {}

    def new_session(self, params: Any, sample_rate: int = 8000) -> EnergyAmd:
        return EnergyAmd()


class EnergyPlugin:
    """Registers :class:`EnergyStrategy` as ``sip_energy_test`` (a campaign's
    ``amd_params={"strategy": "sip_energy_test", ...}``)."""

    @hookimpl
    def register_amd_strategies(self) -> dict[str, Any]:
        return {"sip_energy_test": EnergyStrategy}


def hang_up_machines(decision: AmdDecision) -> CallAction:
    return CallAction.TRANSFER if decision.label is AmdLabel.HUMAN else CallAction.HANGUP


def sip_config(
    server: str, *, ports: int = 4, transport: str = "udp", **more: Any
) -> dict[str, Any]:
    return {
        "server": server,
        "transport": transport,
        "domain": "dialer.test",
        "register": False,
        "ports": [
            {"user": f"port{i:03d}", "auth_user": f"port{i:03d}", "password": "secret"}
            for i in range(1, ports + 1)
        ],
        "caller_id": "4930123456",
        "no_answer_timeout_s": 30,
        "rtp_port_min": 20000,
        "rtp_port_max": 29999,
        **more,
    }


def call_request(
    *,
    amd: Any = None,
    number: str = "5551234",
    no_answer_timeout_s: float = 30.0,
    answered: list[datetime] | None = None,
    on_verdict: Any = hang_up_machines,
) -> CallRequest:
    return CallRequest(
        call_id=uuid.uuid4().hex,
        number=number,
        caller_id=None,
        transfer_to="7000",
        no_answer_timeout_s=no_answer_timeout_s,
        amd_session=amd,
        on_verdict=on_verdict,
        on_answered=answered.append if answered is not None else None,
    )


@asynccontextmanager
async def running_platform(config: dict[str, Any], **tunables: Any) -> AsyncIterator[SipPlatform]:
    options = {"config": config, "bind_host": "127.0.0.1", **tunables}
    platform = SipPlatform(options)
    await platform.start()
    try:
        yield platform
    finally:
        await platform.close()
