"""How much abandon risk one more call may carry: the outer loop on the abandon rate.

The controller launches a call while the chance that its person, if one answers,
finds no agent is at most ``risk``. How the risk of the marginal call turns into
the campaign's abandon rate depends on the campaign (a long talk time leaves most
calls riskless and a few risky; a short one spreads it), so ``risk`` is steered:

* it starts at ``RISK_PER_TARGET`` × the campaign's ``abandon_target_pct``;
* it is scaled up while the recent abandon rate (``OutcomeStats.abandoned`` ÷
  ``live_answers``, the last few hundred calls) is under the aim, ``AIM`` ×
  target, and down while it is over — by e (2.7×) per ``STEER_S`` seconds of a
  100 % error, within [``MIN_SCALE``, ``MAX_SCALE``]. The scale is the campaign's
  (the mode's instance lives as long as the campaign runs), so a day starts where
  the last one ended;
* the aim is lowered while the window's rate (every node's calls, in the
  database) is over it, so an overspent window is paid back;
* the budget (``AbandonBudget.allowed_more``) shrinks the risk in proportion when
  it holds less than ``RESERVE_S`` seconds of abandons at the aim, and to 0 — one
  call per free agent — under ``FLOOR_ABANDONS``: the dialer falls back before the
  window's rate reaches the target, never after. A window that has counted fewer
  than ``MIN_WINDOW_LIVE`` live answers (a new campaign, a first day) is budgeted as
  if it had that many: a rate over a handful of people means nothing yet, and
  without it a new campaign could not over-dial before its 33rd live answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from opendialer.sdk.pacing import AbandonBudget, PacingSettings, PacingSnapshot

#: The abandon rate aimed at, as a fraction of the target.
AIM = 0.85
#: The risk a marginal call may carry at first, as a fraction of the target rate.
RISK_PER_TARGET = 0.8
#: Seconds for a 100 % error of the recent rate to scale the risk by e.
STEER_S = 1200.0
MIN_SCALE, MAX_SCALE = 0.25, 4.0
#: Live answers of prior belief that a measured rate is at the aim.
PRIOR_RECENT_LIVE = 25.0
PRIOR_WINDOW_LIVE = 300.0
#: Longest gap between two decisions the steering integrates over (seconds).
MAX_STEP_S = 5.0
#: Live answers a window is budgeted for at least.
MIN_WINDOW_LIVE = 100
#: Seconds of abandons at the aim the budget should hold before it is touched.
RESERVE_S = 600.0
#: Abandons the budget keeps for the calls already in flight.
FLOOR_ABANDONS = 1.0


@dataclass(frozen=True, slots=True)
class Allowance:
    #: P(no agent | a person answers) one more call may carry (0: progressive).
    risk: float
    #: The steering's scale and the budget's factor (1.0: not limiting).
    scale: float
    budget_factor: float

    @property
    def budget_limited(self) -> bool:
        return self.budget_factor < 1.0


def target_fraction(settings: PacingSettings, budget: AbandonBudget) -> float:
    """The stricter of the campaign's target and the budget's, as a fraction."""
    return max(0.0, min(settings.abandon_target_pct, budget.target_pct)) / 100.0


def shrunk_rate(abandoned: int, live: int, prior: float, towards: float) -> float:
    """abandoned ÷ live, pulled towards ``towards`` by ``prior`` live answers."""
    return (abandoned + towards * prior) / (live + prior)


class RiskSteering:
    """The allowed risk of one campaign, steered on its abandon rates."""

    def __init__(self) -> None:
        self.log_scale = 0.0
        self._at: float | None = None

    @property
    def scale(self) -> float:
        return math.exp(self.log_scale)

    def allowance(self, snapshot: PacingSnapshot, live_per_s: float) -> Allowance:
        """The risk allowed now, ``live_per_s`` people answering per second lately."""
        budget = snapshot.abandon
        target = target_fraction(snapshot.settings, budget)
        if target <= 0.0:
            return Allowance(0.0, self.scale, 0.0)
        aim = AIM * target
        counted = max(budget.live_answered, MIN_WINDOW_LIVE)
        spare = target * counted - budget.abandoned - FLOOR_ABANDONS
        reserve = max(1.0, aim * live_per_s * RESERVE_S)
        budget_factor = min(1.0, max(0.0, spare / reserve))
        self._steer(snapshot, aim, budget_factor)
        return Allowance(
            RISK_PER_TARGET * target * self.scale * budget_factor, self.scale, budget_factor
        )

    def _steer(self, snapshot: PacingSnapshot, aim: float, budget_factor: float) -> None:
        now = snapshot.now_s
        step = 0.0 if self._at is None else min(MAX_STEP_S, max(0.0, now - self._at))
        self._at = now
        budget, stats = snapshot.abandon, snapshot.stats
        window = shrunk_rate(budget.abandoned, budget.live_answered, PRIOR_WINDOW_LIVE, aim)
        setpoint = aim * min(1.0, aim / window)
        recent = shrunk_rate(stats.abandoned, stats.live_answers, PRIOR_RECENT_LIVE, setpoint)
        error = min(1.0, max(-3.0, (setpoint - recent) / setpoint))
        if error > 0.0:
            error *= budget_factor  # held back by the budget: no credit for being under
        self.log_scale += error * step / STEER_S
        self.log_scale = min(math.log(MAX_SCALE), max(math.log(MIN_SCALE), self.log_scale))


__all__ = ["AIM", "Allowance", "RiskSteering", "target_fraction"]
