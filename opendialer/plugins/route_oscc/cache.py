"""What the dialer reads: time-stamped free-agent counts per queue, and the
agents its own launched calls are holding.

Both are plain in-memory structures touched only from the event loop, so the
pacer's ``free_slots`` is a dictionary lookup, never a network wait.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class QueueCount:
    free_agents: int
    #: Monotonic time the request that produced this count was *sent*: the count
    #: is at least this old, never younger (conservative for staleness).
    fetched_mono: float
    fetched_at: datetime


class QueueCache:
    """Counts of the current contact-center session only.

    A new session bumps :attr:`generation` and empties the cache, so nothing is
    trusted again until a full snapshot of the new session has arrived.
    """

    def __init__(self) -> None:
        self.generation = 0
        self._counts: dict[str, QueueCount] = {}
        #: Queues asked for that the contact center's last answer did not list.
        self.unreported: set[str] = set()

    def new_generation(self) -> int:
        self.generation += 1
        self._counts.clear()
        self.unreported.clear()
        return self.generation

    def store(
        self,
        generation: int,
        counts: Mapping[str, int],
        asked: set[str],
        sent_mono: float,
        sent_at: datetime,
    ) -> set[str] | None:
        """Keep ``counts`` if they belong to the current session (None if late);
        return the queues with more free agents than before (or a first count)."""
        if generation != self.generation:
            return None
        more: set[str] = set()
        for queue, free in counts.items():
            old = self._counts.get(queue)
            if free > 0 and (old is None or free > old.free_agents):
                more.add(queue)
            self._counts[queue] = QueueCount(free, sent_mono, sent_at)
        self.unreported = asked - set(counts)
        return more

    def get(self, queue: str) -> QueueCount | None:
        return self._counts.get(queue)

    def items(self) -> list[tuple[str, QueueCount]]:
        return sorted(self._counts.items())


@dataclass(slots=True)
class Reservation:
    queue: str
    campaign_id: int
    expires_mono: float
    #: Set when the call reached the queue: the agent it took shows as busy only
    #: in counts fetched after this moment, so hold it until such a count arrives.
    transferred_mono: float | None = None


class Reservations:
    """One free agent held per launched call, so no agent is counted twice."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._held: dict[str, Reservation] = {}
        self.expired_total = 0

    def add(self, call_id: str, queue: str, campaign_id: int, now: float) -> None:
        self._held[call_id] = Reservation(queue, campaign_id, now + self._timeout_s)

    def release(self, call_id: str, transferred: bool, now: float) -> None:
        held = self._held.get(call_id)
        if held is None:
            return
        if transferred:
            held.transferred_mono = now
        else:  # the call never reached an agent: the agent is free again at once
            del self._held[call_id]

    def held(self, queue: str, count: QueueCount | None, now: float) -> int:
        """Agents of ``queue`` held by our calls that ``count`` cannot know about yet."""
        if not self._held:
            return 0
        self.expire(now)
        fetched = count.fetched_mono if count else float("-inf")
        settled = [
            cid
            for cid, r in self._held.items()
            if r.queue == queue and r.transferred_mono is not None and r.transferred_mono < fetched
        ]
        for cid in settled:
            del self._held[cid]
        return sum(1 for r in self._held.values() if r.queue == queue)

    def expire(self, now: float) -> list[str]:
        gone = [cid for cid, r in self._held.items() if r.expires_mono <= now]
        for cid in gone:
            del self._held[cid]
        self.expired_total += len(gone)
        return gone

    def clear(self) -> None:
        self._held.clear()

    def __len__(self) -> int:
        return len(self._held)
