"""How much abandon risk one more call may carry: the outer loops on the abandon rate.

The controller launches a call while the chance that its person, if one answers,
finds no agent is at most ``risk``. How the marginal call's risk turns into the
campaign's abandon rate depends on the campaign — with long talk times most calls
carry no risk and a few much; with short ones it is spread — so the risk is set by
three loops:

* **calibration** (:class:`Calibration`, the mode's own state): the mean predicted
  risk of the calls it launched is kept at the aim ÷ ``MODEL_BIAS`` (the realised
  rate runs about that much above the prediction: the model does not see the calls
  launched later that are answered first) by scaling the allowed risk, starting
  from ``RISK_PER_TARGET`` × target. The prediction is there at every launch, with
  no sampling noise, so this finds a campaign's level within minutes;
* **the window** (every node's calls, counted in the database): its rate, shrunk
  towards the aim by ``PRIOR_WINDOW_LIVE`` live answers so a handful of calls cannot
  swing it, scales both the allowed risk (at once) and the aim the calibration
  steers to — ``scale = exp(GAIN × (aim − rate) ÷ aim)`` within [``MIN_SCALE``,
  ``MAX_SCALE``]: what the model's bias leaves over is corrected, and an overspent
  window is paid back. It is a function of the window, not a state of the mode, so a
  restart loses nothing of it;
* **the budget** (``AbandonBudget.allowed_more``): when it holds less than
  ``RESERVE_S`` seconds of abandons at the aim the risk shrinks in proportion, and to
  0 — one call per free agent — under ``FLOOR_ABANDONS``: the dialer falls back
  before the window's rate reaches the target, never after. A window that has
  counted fewer than ``MIN_WINDOW_LIVE`` live answers (a new campaign, a first day)
  is budgeted as if it had that many: a rate over a handful of people means nothing
  yet, and without it a new campaign could not over-dial before its 33rd live answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from opendialer.sdk.pacing import AbandonBudget, PacingSettings

#: The abandon rate aimed at, as a fraction of the target.
AIM = 0.85
#: The risk a marginal call may carry before any correction, as a fraction of the
#: target rate.
RISK_PER_TARGET = 0.7
#: How strongly the window's rate corrects the risk, and within what.
GAIN = 3.0
MIN_SCALE, MAX_SCALE = 1.0 / 3.0, 3.0
#: Live answers of prior belief that the window's rate is at the aim.
PRIOR_WINDOW_LIVE = 1000.0
#: Realised abandon rate ÷ the mean predicted risk of the calls launched (the model
#: does not see the calls launched after one that are answered before it).
MODEL_BIAS = 1.9
#: Launched calls the mean predicted risk is taken over (an exponential average).
MEAN_OVER_CALLS = 500.0
#: Launched calls for a 100 % error to scale the allowed risk by e, and the bounds.
STEER_CALLS = 1000.0
MAX_CALIBRATION = 4.0
#: Live answers a window is budgeted for at least.
MIN_WINDOW_LIVE = 200
#: Seconds of abandons at the aim the budget should hold before it is touched.
RESERVE_S = 300.0
#: Abandons the budget keeps for the calls already in flight.
FLOOR_ABANDONS = 1.0


@dataclass(frozen=True, slots=True)
class Allowance:
    #: P(no agent | a person answers) one more call may carry (0: progressive).
    risk: float
    #: The window's correction and the budget's factor (1.0: not limiting).
    scale: float
    budget_factor: float

    @property
    def budget_limited(self) -> bool:
        return self.budget_factor < 1.0


def target_fraction(settings: PacingSettings, budget: AbandonBudget) -> float:
    """The stricter of the campaign's target and the budget's, as a fraction."""
    return max(0.0, min(settings.abandon_target_pct, budget.target_pct)) / 100.0


def allowance(settings: PacingSettings, budget: AbandonBudget, live_per_s: float) -> Allowance:
    """The risk allowed now, ``live_per_s`` people answering per second lately."""
    target = target_fraction(settings, budget)
    if target <= 0.0:
        return Allowance(0.0, 1.0, 0.0)
    aim = AIM * target
    measured = (budget.abandoned + aim * PRIOR_WINDOW_LIVE) / (
        budget.live_answered + PRIOR_WINDOW_LIVE
    )
    scale = min(MAX_SCALE, max(MIN_SCALE, math.exp(GAIN * (aim - measured) / aim)))
    counted = max(budget.live_answered, MIN_WINDOW_LIVE)
    spare = target * counted - budget.abandoned - FLOOR_ABANDONS
    reserve = max(1.0, aim * live_per_s * RESERVE_S)
    budget_factor = min(1.0, max(0.0, spare / reserve))
    return Allowance(RISK_PER_TARGET * target * scale * budget_factor, scale, budget_factor)


class Calibration:
    """Keeps the mean predicted risk of the calls launched at the level that yields
    the aim: the allowed risk is scaled until that mean is ``aim ÷ MODEL_BIAS``."""

    def __init__(self) -> None:
        self.log_scale = 0.0
        self.mean_risk: float | None = None

    @property
    def scale(self) -> float:
        return math.exp(self.log_scale)

    def observe(self, risk_sum: float, calls: int, aim: float) -> None:
        """``calls`` were launched, their predicted risks summing to ``risk_sum``."""
        if calls <= 0 or aim <= 0.0:
            return
        mean = risk_sum / calls
        if self.mean_risk is None:
            self.mean_risk = mean
        else:
            self.mean_risk += min(1.0, calls / MEAN_OVER_CALLS) * (mean - self.mean_risk)
        wanted = aim / MODEL_BIAS
        error = min(1.0, max(-2.0, (wanted - self.mean_risk) / wanted))
        self.log_scale += error * calls / STEER_CALLS
        bound = math.log(MAX_CALIBRATION)
        self.log_scale = min(bound, max(-bound, self.log_scale))


__all__ = ["AIM", "Allowance", "Calibration", "allowance", "target_fraction"]
