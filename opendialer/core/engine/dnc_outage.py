"""A campaign's DNC service stops answering: hold its dialing, probe until it answers.

Any node whose check fails moves today's schedule entry RUNNING →
DNC_OUT_OF_SERVICE (with the reason) and stops launching that campaign's calls;
only the leader probes — one probe per campaign at a time, one of the
campaign's numbers — and moves the entry back to RUNNING when it answers (with a
list fresh enough for the campaign's compliance policy, ``dnc_max_age_days``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from opendialer.core import held
from opendialer.core.domain import ScheduleState
from opendialer.core.engine.dnc_gate import DncGate
from opendialer.core.engine.scheduler import (
    DialableEntry,
    set_schedule_reason,
    set_schedule_state,
)
from opendialer.core.held import hold
from opendialer.core.storage.tables import Lead
from opendialer.sdk.contracts import DncUnavailable

if TYPE_CHECKING:
    from opendialer.core.engine.runner import CampaignRunner

log = logging.getLogger("opendialer.engine")


async def hold_for_dnc(runner: CampaignRunner, reason: str) -> None:
    """The DNC service failed: the campaign's entry goes DNC_OUT_OF_SERVICE."""
    entry = runner.entry
    if entry is None:
        return
    text = hold(held.DNC_OUT_OF_SERVICE, detail=reason).encode()
    if await set_schedule_state(
        entry.schedule_id,
        expect=ScheduleState.RUNNING.value,
        new=ScheduleState.DNC_OUT_OF_SERVICE.value,
        reason=text,
    ):
        log.error("dnc_out_of_service campaign=%s reason=%r", runner.campaign_id, reason)
    runner.update(
        DialableEntry(
            campaign=entry.campaign,
            schedule_id=entry.schedule_id,
            schedule_date=entry.schedule_date,
            state=ScheduleState.DNC_OUT_OF_SERVICE.value,
            reason=text,
            window=entry.window,
        )
    )


class DncProbes:
    """The leader's probes of failing DNC services, one task per campaign."""

    def __init__(self, gate: DncGate, wake: Callable[[], None]) -> None:
        self._gate = gate
        self._wake = wake
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def tasks(self) -> list[asyncio.Task[None]]:
        return list(self._tasks.values())

    def probe(self, runner: CampaignRunner) -> None:
        task = self._tasks.get(runner.campaign_id)
        if task is not None and not task.done():
            return
        self._tasks[runner.campaign_id] = asyncio.create_task(self._probe(runner))

    async def _probe(self, runner: CampaignRunner) -> None:
        """Ask the failing DNC service about one of the campaign's numbers; RUNNING if it
        answers."""
        entry = runner.entry
        if entry is None:
            return
        service_id = runner.campaign.dnc_service if runner.campaign is not None else None
        if service_id:
            lead = (
                await Lead.select(Lead.phone)
                .where(Lead.campaign == runner.campaign_id)
                .order_by(Lead.next_attempt_at)
                .first()
                .run()
            )
            if lead is None:
                return
            try:
                await self._gate.check(
                    service_id,
                    lead["phone"],
                    max_age_days=runner.campaign.compliance.dnc_max_age_days,
                )
            except DncUnavailable as exc:
                text = hold(held.DNC_OUT_OF_SERVICE, detail=str(exc)).encode()
                if text != entry.reason:
                    await set_schedule_reason(entry.schedule_id, text)
                return
        if await set_schedule_state(
            entry.schedule_id,
            expect=ScheduleState.DNC_OUT_OF_SERVICE.value,
            new=ScheduleState.RUNNING.value,
        ):
            log.info("dnc_back_in_service campaign=%s", runner.campaign_id)
            self._wake()


__all__ = ["DncProbes", "hold_for_dnc"]
