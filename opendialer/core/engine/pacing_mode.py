"""A campaign's pacing mode, and the engine's edges around what it decides.

Each campaign on a node has its own mode instance, built through the plugin
registry from the name in ``campaign.pacing_mode`` (a mode may keep state between
decisions, e.g. a dial level it adapts) and rebuilt when the campaign names another.
A name no plugin provides holds the campaign (``pacing_not_installed``, core/held.py)
until a Campaign Administrator picks an installed mode; a factory that raises holds
it as ``pacing_failed`` (tried again every :data:`RETRY_S`).

What the engine enforces whatever the mode says (:func:`guarded_decision`):

* the launch never exceeds the platform's free ports nor the node's cap;
* an over-dialing mode on a platform that cannot hold a person for an agent
  (``WaitsForAgents`` missing or False) runs as progressive (``platform_no_wait``);
* an over-dialing campaign whose abandon rate is over its target in its window runs
  as progressive until it is back under (``abandon_budget``): the mode is still
  asked, so it keeps learning, but its launch is not used;
* a mode that raises runs as progressive for that decision (``mode_failed``, logged);
* an over-dialing mode's decision that says ``holds_agents`` (its own one call per
  free agent) is launched like progressive's: each call holds its agent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from opendialer.core import held
from opendialer.core.held import Hold, hold
from opendialer.core.plugins import PluginManager
from opendialer.sdk.contracts import PluginContext
from opendialer.sdk.pacing import PacingDecision, PacingMode, PacingSnapshot, decide, over_dials

log = logging.getLogger("opendialer.engine.pacing")

#: How often a mode that could not be built is looked up again (seconds).
RETRY_S = 10.0

#: Reason codes the engine itself gives (a mode gives its own).
PLATFORM_NO_WAIT = "platform_no_wait"
ABANDON_BUDGET = "abandon_budget"
MODE_FAILED = "mode_failed"
CAPACITY = "capacity"
#: A node that has just begun pacing a shared campaign waits until the others count it
#: in (``fair_share.Share.waiting``).
SHARE_PENDING = "share_pending"


class CampaignMode:
    """The mode instance of one campaign on this node."""

    def __init__(
        self,
        pm: PluginManager,
        context: PluginContext,
        monotonic: Callable[[], float],
        campaign_id: int,
    ) -> None:
        self._pm = pm
        self._context = context
        self._monotonic = monotonic
        self._campaign_id = campaign_id
        self.name: str | None = None
        self.mode: PacingMode | None = None
        self.why: Hold | None = None
        self._tried = float("-inf")

    def current(self, name: str) -> tuple[PacingMode | None, Hold | None]:
        """The campaign's mode for ``name`` (built now if the name changed), or why not."""
        if name == self.name and (
            self.mode is not None or self._monotonic() - self._tried < RETRY_S
        ):
            return self.mode, self.why
        self._tried = self._monotonic()
        changed = name != self.name
        self.name, self.mode, self.why = name, None, None
        factories = self._pm.factories("pacing_modes")
        factory = factories.get(name)
        if factory is None:
            installed = ", ".join(sorted(factories)) or "none"
            self.why = hold(held.PACING_NOT_INSTALLED, mode=name, installed=installed)
            if changed:
                log.error(
                    "pacing_mode_missing campaign=%s mode=%r installed=%s "
                    "(see `opendialer plugins list`; choose another in the campaign's settings)",
                    self._campaign_id,
                    name,
                    installed,
                )
            return None, self.why
        try:
            self.mode = factory(context=self._context)
        except Exception as exc:
            self.why = hold(held.PACING_FAILED, mode=name, detail=f"{type(exc).__name__}: {exc}")
            log.exception("pacing_mode_failed campaign=%s mode=%r", self._campaign_id, name)
            return None, self.why
        log.info("pacing_mode campaign=%s mode=%s", self._campaign_id, name)
        return self.mode, None


def progressive(
    snapshot: PacingSnapshot, reason: str, detail: str, free: int | None = None
) -> PacingDecision:
    """One call per free agent (``free``, else the snapshot's): what the engine runs when
    it will not over-dial. Its calls hold their agents from the launch, so it needs no
    share of the free agents."""
    free = snapshot.free_slots if free is None else free
    headroom = snapshot.global_max - snapshot.in_flight
    launch = max(0, min(free, snapshot.free_ports, headroom))
    return PacingDecision(
        launch=launch,
        dial_level=1.0,
        predicted_free_agents=float(free),
        reason=reason,
        detail=detail,
    )


def _asked(mode: PacingMode, snapshot: PacingSnapshot) -> PacingDecision | None:
    try:
        return decide(mode, snapshot)
    except Exception:
        log.exception("pacing_mode_error campaign_mode=%s", type(mode).__name__)
        return None


def guarded_decision(
    mode: PacingMode, snapshot: PacingSnapshot, *, platform_waits: bool, all_free: int
) -> tuple[PacingDecision, bool]:
    """The mode's decision within the engine's edges (see the module's docstring), and
    whether its calls are launched over-dialing (no agent held while they ring).
    ``all_free``: the target's whole free count (the snapshot may hold a share)."""
    wants_over = over_dials(mode)
    decision = _asked(mode, snapshot)
    over = wants_over and platform_waits and not (decision is not None and decision.holds_agents)
    if decision is None:
        decision, over = (
            progressive(
                snapshot, MODE_FAILED, "the pacing mode raised; dialing progressive", all_free
            ),
            False,
        )
    elif wants_over and not platform_waits:
        decision = progressive(
            snapshot,
            PLATFORM_NO_WAIT,
            "the communication platform cannot hold a person until an agent frees "
            "(no waits_for_agents): dialing progressive",
            all_free,
        )
    elif over and snapshot.abandon.allowed_more < 0:
        budget = snapshot.abandon
        decision = progressive(
            snapshot,
            ABANDON_BUDGET,
            f"abandon rate {budget.rate_pct:.2f}% is over the target "
            f"{budget.target_pct:g}% ({budget.window}): dialing progressive until back under",
            all_free,
        )
        over = False
    headroom = max(0, min(snapshot.free_ports, snapshot.global_max - snapshot.in_flight))
    if decision.launch > headroom:
        limit = "free ports" if snapshot.free_ports <= headroom else "the node's cap"
        detail = f"{decision.detail}; {decision.launch} wanted, {headroom} allowed by {limit}"
        decision = replace(decision, launch=headroom, reason=CAPACITY, detail=detail.lstrip("; "))
    return replace(decision, launch=max(0, int(decision.launch))), over


def waits_for_agents(platform: Any) -> bool:
    """The platform honours ``CallRequest.claim_agent`` (``sdk.WaitsForAgents``)."""
    try:
        return bool(getattr(platform, "waits_for_agents", False))
    except Exception:
        return False


__all__ = [
    "ABANDON_BUDGET",
    "CAPACITY",
    "MODE_FAILED",
    "PLATFORM_NO_WAIT",
    "SHARE_PENDING",
    "CampaignMode",
    "guarded_decision",
    "progressive",
    "waits_for_agents",
]
