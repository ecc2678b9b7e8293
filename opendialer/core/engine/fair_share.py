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
* **calls launched for a larger share**: a participant's calls hold no agent while
  they ring, and they were launched for the share it had then. When participants join,
  the shares shrink, and calls launched for a 1/m share count, under n participants,
  ``m/n`` within the participant's share and the rest beyond it. Each node publishes
  with its decision its unresolved calls for the campaign (launched, not yet with an
  agent nor ended: ``CallsInFlight.unresolved``) and the fewest participants any of
  them was launched among (m); each participant counts the other participants' calls
  beyond their share (:func:`beyond_share`; this node's other campaigns' read from
  their calls at the decision) as calls of its own still launching
  (``campaign_pacing.py``) — they will take agents of its share when answered. With a
  mode of L lines per share, a participant's room is then ``L − own unresolved −
  others' calls beyond their share``; the others hold at most their L within their
  share, so the pool never carries more than n·L: two nodes at three lines per agent
  on four free agents, twelve unresolved calls between them, whoever joined when. A
  figure read from a row is as old as the row: the calls it counts can only have
  resolved since (an over-count, the safe side), or been joined by calls the node
  launched since — within the share *it* saw;
* **counted in**: and that share may still be the larger one, until the other node
  has read this participant's row (or, a node just started, its heartbeat). So a
  participant launches nothing (:attr:`Share.waiting`: no free agent, none logged
  on) until every other participant's last decision is at least
  :data:`COUNTED_AFTER_S` newer than this participant's first row since it began
  over-dialing the campaign (:func:`counted_in`; the nodes' clocks are taken to
  agree, as for the heartbeats). Nodes that begin together have no row of each other
  at their first decisions and share by presumption as above;
* a person already waiting for an agent is not limited by any share: the first free
  agent of the pool takes them (``agent_claims.py``).

A campaign alone on a pool, on a node alone, reads nothing more, waits for nothing
and gets every free agent, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

#: The remainder of a division moves to the next participant this often (seconds).
TURN_S = 10.0
#: A node whose last decision for a campaign is older than this no longer shares.
PARTICIPANT_TTL_S = 15.0
#: A live node with no decision for a campaign counts as pacing it for this long after
#: it started, or after this node began over-dialing the campaign (seconds): a node
#: writes its first decisions within a tick or two (``pacing_board.py``).
REPORT_GRACE_S = 10.0
#: Another node has counted this participant in once its last decision is this much
#: newer than this participant's first row: the other reads the rows at least every
#: ``pacing_board.DECISIONS_EVERY_S`` (3 s) on a housekeeping round (1 s), then decides.
COUNTED_AFTER_S = 5.0

#: (routing target, queue): campaigns with the same one share their agents.
Pool = tuple[str, str]
#: (campaign id, engine node id).
Participant = tuple[int, str]


@dataclass(frozen=True, slots=True)
class Reported:
    """What another node's last ``pacing_decision`` row tells of its calls."""

    #: Its calls of the campaign launched and not yet with an agent nor ended.
    unresolved: int
    #: The fewest participants any of those calls was launched among.
    among: int
    #: When its decision was made (epoch seconds).
    decided_s: float


@dataclass(frozen=True, slots=True)
class Share:
    """A participant's part of the free agents it sees."""

    free: int
    participants: int = 1
    position: int = 0
    #: The other participants' unresolved calls beyond their share: they will take
    #: agents of this share when answered, so they count as this participant's own.
    beyond: int = 0
    #: Another participant may not have counted this one in yet: launch nothing.
    waiting: bool = False

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


def beyond_share(unresolved: int, among: int, participants: int) -> int:
    """Of ``unresolved`` calls launched for a 1/``among`` share, those beyond a
    1/``participants`` share (rounded up: an over-count is the safe side)."""
    if unresolved <= 0 or participants <= among:
        return 0
    return unresolved - unresolved * max(1, among) // participants


def counted_in(reported: Iterable[Reported], visible_s: float | None) -> bool:
    """Every other participant's last decision (``reported``) came late enough after this
    participant's first row (at ``visible_s``; None: not written yet) to count it in."""
    decided = [r.decided_s for r in reported]
    if not decided:
        return True
    return visible_s is not None and min(decided) >= visible_s + COUNTED_AFTER_S


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
        #: Per campaign, what the other nodes' recent rows tell of their calls.
        self._reported: dict[int, dict[str, Reported]] = {}
        #: Per campaign, when this node's first row since it began over-dialing it was
        #: written (epoch seconds).
        self._visible: dict[int, float] = {}
        #: This node's calls of a campaign: (unresolved, the fewest participants they were
        #: launched among), read at the decision (``pacing_board.py`` sets it).
        self.local_calls: Callable[[int], tuple[int, int]] | None = None

    def remote_nodes(
        self,
        found: Mapping[int, Mapping[str, Reported]],
        presumed: Mapping[int, Iterable[str]] | None = None,
        visible: Mapping[int, float] | None = None,
    ) -> None:
        """The nodes with a recent decision per campaign (``pacing_data.nodes_pacing``),
        and those counted in before they reported (:func:`presumed_pacing`); ``visible``:
        per campaign, when this node's first row for it was written."""
        presumed = presumed or {}
        remote = {}
        for cid in {*found, *presumed}:
            nodes = {*found.get(cid, ()), *presumed.get(cid, ())} - {self.node_id}
            if nodes:
                remote[cid] = frozenset(nodes)
        self._remote = remote
        self._reported = {
            cid: {node: r for node, r in rows.items() if node != self.node_id}
            for cid, rows in found.items()
        }
        self._visible = dict(visible or {})

    def share(
        self, campaign_id: int, free: int, local_campaigns: Iterable[int], wall_s: float
    ) -> Share:
        """``campaign_id``'s share on this node. ``local_campaigns``: this node's
        over-dialing campaigns of the same pool (``campaign_id`` among them)."""
        participants: list[Participant] = []
        reported: list[Reported] = []
        local = {*local_campaigns, campaign_id}
        for cid in local:
            participants.append((cid, self.node_id))
            participants.extend((cid, node) for node in self._remote.get(cid, ()))
            reported.extend(self._reported.get(cid, {}).values())
        share = share_of(free, participants, (campaign_id, self.node_id), int(wall_s // TURN_S))
        others_here = local - {campaign_id}
        if not reported and not others_here:
            return share
        n = share.participants
        beyond = sum(beyond_share(r.unresolved, r.among, n) for r in reported)
        if self.local_calls is not None:
            for cid in others_here:
                beyond += beyond_share(*self.local_calls(cid), n)
        return replace(
            share,
            beyond=beyond,
            waiting=not counted_in(reported, self._visible.get(campaign_id)),
        )


__all__ = [
    "COUNTED_AFTER_S",
    "PARTICIPANT_TTL_S",
    "REPORT_GRACE_S",
    "TURN_S",
    "FairShares",
    "Participant",
    "Pool",
    "Reported",
    "Share",
    "beyond_share",
    "counted_in",
    "presumed_pacing",
    "share_of",
]
