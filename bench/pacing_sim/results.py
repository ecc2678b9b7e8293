"""What one simulated day counted, and the figures made from it.

Definitions (the docs' "figures" table repeats them):

* **occupancy**: seconds agents talked with people ÷ seconds agents were logged on
  (log-on to log-off, breaks excluded). Time with machines AMD passed to them,
  hand-over and wrap-up are not talk.
* **US abandon rate**: abandoned ÷ live-answered *as the dialer counts them*
  (``core/services/abandon_rate.py``): calls with a HUMAN verdict that reached
  the hand-over; an abandoned machine AMD took for a person counts, as it does in
  the call records.
* **UK abandon rate** (Ofcom): (people abandoned + people AMD judged machines and
  hung up on) ÷ people who answered.
* **2-second-rule violation**: a person connected to an agent (the agent's leg
  up) more than 2.0 s after the end of their greeting, with no message played.
  The product's timer starts at the AMD verdict, which comes ~0.6 s after the
  greeting ends, and the hand-over takes 0.3-0.8 s, so a person who waited more
  than about 0.6 s for an agent is a violation even when not abandoned.
* **attempts per lead per day**: attempts ÷ distinct leads attempted that day.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class DayResult:
    day: int = 0
    launched: int = 0
    ended: int = 0  # attempts over on the platform (conservation: == launched)
    leads: int = 0
    people: int = 0  # answered by a person
    people_judged_machine: int = 0  # AMD false positives: hung up on
    people_connected: int = 0
    people_abandoned: int = 0
    machines_passed: int = 0  # AMD false negatives handed to an agent
    machines_abandoned: int = 0
    live_counted: int = 0  # HUMAN verdicts: the dialer's live-answered
    abandoned_counted: int = 0
    violations_2s: int = 0
    talk_s: float = 0.0
    machine_agent_s: float = 0.0
    logged_on_s: float = 0.0
    decisions: int = 0
    policy_ns: int = 0
    max_unresolved_per_agent: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def occupancy(self) -> float:
        return self.talk_s / self.logged_on_s if self.logged_on_s else 0.0

    @property
    def talk_min_per_agent_hour(self) -> float:
        return 60.0 * self.talk_s / self.logged_on_s if self.logged_on_s else 0.0

    @property
    def abandon_us(self) -> float:
        return rate(self.abandoned_counted, self.live_counted)

    @property
    def abandon_uk(self) -> float:
        return rate(self.people_abandoned + self.people_judged_machine, self.people)

    @property
    def attempts_per_lead(self) -> float:
        return self.launched / self.leads if self.leads else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rate(part: float, whole: float) -> float:
    """A percentage; 0 when nothing was counted."""
    return 100.0 * part / whole if whole else 0.0


@dataclass(slots=True)
class SeedResult:
    """The consecutive days of one seed (one campaign, its budget carried day to day)."""

    scenario: str
    policy: str
    seed: int
    days: list[DayResult]
    #: CPU seconds the whole campaign took (simulation and policy).
    cpu_s: float = 0.0

    def total(self, name: str) -> float:
        return float(sum(getattr(d, name) for d in self.days))

    @property
    def occupancy(self) -> float:
        on = self.total("logged_on_s")
        return self.total("talk_s") / on if on else 0.0

    @property
    def talk_min_per_agent_hour(self) -> float:
        on = self.total("logged_on_s")
        return 60.0 * self.total("talk_s") / on if on else 0.0

    @property
    def window_us(self) -> float:
        """The abandon rate over all the seed's days (its window)."""
        return rate(self.total("abandoned_counted"), self.total("live_counted"))

    @property
    def window_uk(self) -> float:
        return rate(
            self.total("people_abandoned") + self.total("people_judged_machine"),
            self.total("people"),
        )

    @property
    def worst_day_us(self) -> float:
        return max(d.abandon_us for d in self.days)

    @property
    def violations_pct(self) -> float:
        """2-second-rule violations per 100 people connected."""
        return rate(self.total("violations_2s"), self.total("people_connected"))

    @property
    def attempts_per_lead(self) -> float:
        return sum(d.attempts_per_lead for d in self.days) / len(self.days)

    @property
    def us_per_decision(self) -> float:
        n = self.total("decisions")
        return self.total("policy_ns") / n / 1000.0 if n else 0.0


__all__ = ["DayResult", "SeedResult", "rate"]
