"""Free agents shared between over-dialing campaigns and engine nodes.

A progressive call holds its agent from its launch, so progressive campaigns never
count one agent twice: the routing target's free count is already net of the
agents held. An over-dialing call holds nothing while it rings, so two
over-dialing campaigns on one queue — or one campaign paced by two engine nodes —
would each launch several lines per the *same* free agents and abandon twice as
often. The rule (also in docs/architecture.md):

* **the pool**: campaigns naming the same routing target and queue share agents —
  an OSCC queue; the IVR's channels (IVR campaigns have no queue). A target whose
  slots are per campaign (``static``) is split all the same: a smaller share, never
  more abandons;
* **the participants**: each pair (over-dialing campaign dialing now, engine node
  pacing it) of the pool. This node knows its own; the other nodes' come from the
  ``pacing_decision`` rows decided in the last :data:`PARTICIPANT_TTL_S`, read every
  few seconds;
* **a node not heard from yet**: a node writes its first decision for a campaign a
  moment after it made it, so two nodes that begin pacing a campaign together — both
  just started, or the campaign just started under both — would each launch on all the
  free agents first. So a live engine node (``engine_node`` heartbeat) with no decision
  for the campaign counts as a participant while it may still be about to report: for
  :data:`REPORT_GRACE_S` after it started, and, for every live node, for
  :data:`REPORT_GRACE_S` after this node began over-dialing the campaign. A node that
  still has not reported by then does not pace the campaign (held, say) and counts no
  more;
* **the share**: each participant is given ``free // n`` of the free agents it sees,
  and the remainder (``free % n``) goes to participants in turn — ordered by
  (campaign, node), the turn moving every :data:`TURN_S` of wall-clock time, the
  same on every node — so no participant is starved when agents are few;
* a person already waiting for an agent is not limited by any share: the first free
  agent of the pool takes them (``agent_claims.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

#: The remainder of a division moves to the next participant this often (seconds).
TURN_S = 10.0
#: A node whose last decision for a campaign is older than this no longer shares.
PARTICIPANT_TTL_S = 15.0
#: A live node with no decision for a campaign counts as pacing it for this long after
#: it started, or after this node began over-dialing the campaign (seconds): a node
#: writes its first decisions within a tick or two (``pacing_board.py``).
REPORT_GRACE_S = 10.0

#: (routing target, queue): campaigns with the same one share their agents.
Pool = tuple[str, str]
#: (campaign id, engine node id).
Participant = tuple[int, str]


@dataclass(frozen=True, slots=True)
class Share:
    """A participant's part of the free agents it sees."""

    free: int
    participants: int = 1
    position: int = 0

    @property
    def fraction(self) -> float:
        return 1.0 / self.participants


def share_of(free: int, participants: Iterable[Participant], me: Participant, turn: int) -> Share:
    """``me``'s share of ``free`` agents among ``participants`` (``me`` counted once)."""
    ordered = sorted(set(participants) | {me})
    n = len(ordered)
    position = ordered.index(me)
    base, remainder = divmod(max(0, free), n)
    extra = 1 if (position - turn) % n < remainder else 0
    return Share(free=base + extra, participants=n, position=position)


def presumed_pacing(
    live: Mapping[str, datetime],
    reported: Iterable[str],
    me: str,
    campaign_since: datetime,
    now: datetime,
) -> frozenset[str]:
    """The live nodes (``live``: node → started at) taken to pace a campaign that no
    decision of theirs (``reported``) shows yet: every one while the campaign is new on this
    node (over-dialed here since ``campaign_since``), else those just started."""
    campaign_new = (now - campaign_since).total_seconds() < REPORT_GRACE_S
    return frozenset(
        node
        for node, started in live.items()
        if node != me and (campaign_new or (now - started).total_seconds() < REPORT_GRACE_S)
    ) - frozenset(reported)


class FairShares:
    """This node's view of who over-dials on which pool."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        #: Per campaign, the *other* nodes that paced it recently.
        self._remote: dict[int, frozenset[str]] = {}

    def remote_nodes(
        self,
        found: Mapping[int, Iterable[str]],
        presumed: Mapping[int, Iterable[str]] | None = None,
    ) -> None:
        """The nodes with a recent decision per campaign (``pacing_data.nodes_pacing``),
        and those counted in before they reported (:func:`presumed_pacing`)."""
        presumed = presumed or {}
        remote = {}
        for cid in {*found, *presumed}:
            nodes = {*found.get(cid, ()), *presumed.get(cid, ())} - {self.node_id}
            if nodes:
                remote[cid] = frozenset(nodes)
        self._remote = remote

    def share(
        self, campaign_id: int, free: int, local_campaigns: Iterable[int], wall_s: float
    ) -> Share:
        """``campaign_id``'s share on this node. ``local_campaigns``: this node's
        over-dialing campaigns of the same pool (``campaign_id`` among them)."""
        participants: list[Participant] = []
        for cid in {*local_campaigns, campaign_id}:
            participants.append((cid, self.node_id))
            participants.extend((cid, node) for node in self._remote.get(cid, ()))
        return share_of(free, participants, (campaign_id, self.node_id), int(wall_s // TURN_S))


__all__ = [
    "PARTICIPANT_TTL_S",
    "REPORT_GRACE_S",
    "TURN_S",
    "FairShares",
    "Participant",
    "Pool",
    "Share",
    "presumed_pacing",
    "share_of",
]
