"""The interfaces a plugin provides, and what the dialer hands to it.

A registration hook (see :mod:`opendialer.sdk.hookspecs`) returns a mapping of
short names to *factories* (usually classes) of these interfaces — typed below
as ``DncProviderFactory``, ``RoutingTargetFactory``, ... The core constructs
them with a :class:`PluginContext`, drives them, and never looks inside.

Every long-lived object has ``start()``/``close()`` so the core can open and
release sockets, pools and tasks deterministically; every one that talks to
the outside world reports a :class:`Health` the admin's Diagnostics shows.

Longer than our ~400 lines on purpose: this file *is* the contract reference
(``tools/docs_reference.py`` renders it, banner by banner, into the published
hook reference), and a plugin author reads one kind's contract top to bottom.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypedDict, runtime_checkable
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt

from opendialer.core.domain import LeadStatus
from opendialer.sdk.pacing import AbandonBudget, PacingDecision, PacingMode, PacingSnapshot

# --------------------------------------------------------------------------
# Shared
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Health:
    """What an external dependency looks like right now.

    ``ok`` False means the core must not rely on it (fail closed); ``detail``
    says why in words an admin can act on, e.g. ``"connect timeout after 2.0 s"``.
    """

    ok: bool
    detail: str = ""
    since: datetime | None = None


class PluginSettings(TypedDict, total=False):
    """The documented keys of :attr:`PluginContext.settings`.

    Each is present only where it means something: in an engine node, all of
    them; in the web app or a CLI command (checking options, Diagnostics), none.
    """

    #: This engine node's id (``serve --node-id``; ``dialer_node.id``). The owner of
    #: a :class:`~opendialer.sdk.SharedReservations` hold.
    node_id: str
    #: Seconds without a heartbeat after which the other nodes count a node as dead
    #: and free what it held (default 15).
    dead_after_s: float
    #: How often a routing target's shared holds are re-read from the database, in
    #: seconds (default :data:`~opendialer.sdk.DEFAULT_REFRESH_S`).
    routing_refresh_s: float


@runtime_checkable
class PluginContext(Protocol):
    """What the core hands to every factory as its ``context`` keyword argument.

    One object per process (the engine's in an engine node, a plain one in the web
    app and CLI): a clock the tests can fake, a way to nudge the pacer, this
    node's id and the process settings. :class:`opendialer.testing.FakeClock`
    implements it for tests.
    """

    def now(self) -> datetime:
        """The current time, timezone-aware UTC (tests inject a fake clock)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for timeouts and ages)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on the dialer's clock (a fake clock in tests)."""
        ...

    def wake_pacer(self) -> None:
        """Capacity grew (an agent or channel became free): let the pacer launch the
        next calls now rather than at its next tick. Does nothing outside an engine."""
        ...

    @property
    def node_id(self) -> str:
        """This engine node's id; ``""`` outside an engine node."""
        ...

    @property
    def settings(self) -> Mapping[str, Any]:
        """Process-wide settings; the documented keys are :class:`PluginSettings`."""
        ...


# --------------------------------------------------------------------------
# Do-Not-Call
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DncServiceConfig:
    """One row of the DNC services table, as a provider sees it."""

    id: int
    name: str
    kind: str
    url: str | None = None
    ca_bundle: str | None = None
    timeout_ms: int = 2000
    insecure: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    #: When the row was last edited; a provider built from an older row is replaced.
    updated_at: datetime | None = None

    @property
    def shown_url(self) -> str | None:
        """``url`` as messages, health details and logs may show it: a password in it
        reads ``***`` (``https://user:***@host/``). Connect with ``url``."""
        return masked_url(self.url)


def masked_url(url: str | None) -> str | None:
    """``url`` with the password of its ``user:password@`` part (if any) shown as ``***``."""
    if not url:
        return url
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not (at and colon and password):
        return url
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


@dataclass(frozen=True, slots=True)
class DncVerdict:
    """A provider's answer for one number: the audit trail regulators ask for."""

    number: str
    do_not_call: bool
    service: str
    checked_at: datetime
    #: Which version of the list answered and when it was loaded, when the provider
    #: knows (the audit trail stores them: an answer from a stale list shows its age).
    list_version: int | str | None = None
    list_loaded_at: datetime | None = None
    #: When the list that answered was last updated, if the provider knows (an HTTP
    #: service's ``X-DNC-List-Date`` header, the embedded list's last import). A
    #: campaign whose compliance policy sets ``dnc_max_age_days`` is not dialed with
    #: an older list, nor with one of unknown age. Added with issue 18: optional, a
    #: provider that leaves it out works as before for every other campaign.
    list_date: datetime | None = None


class DncUnavailable(Exception):
    """The DNC service could not give a trustworthy answer.

    Raised for timeouts, 5xx, malformed answers, answers for another number,
    stale data. The engine treats it as *do not dial* (fail closed) and marks
    the campaign's schedule DNC_OUT_OF_SERVICE until the service answers again.
    """


@runtime_checkable
class DncProvider(Protocol):
    """Answers "may this number be called?" for one configured DNC service.

    Constructed as ``factory(config: DncServiceConfig, context: PluginContext)``.
    """

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def check(self, number: str) -> DncVerdict:
        """Look up ``number`` (E.164 digits, no ``+``). Raise :class:`DncUnavailable`
        rather than guess."""
        ...

    def health(self) -> Health: ...


# --------------------------------------------------------------------------
# Answering-machine detection
# --------------------------------------------------------------------------


class AmdLabel(StrEnum):
    HUMAN = "HUMAN"
    MACHINE = "MACHINE"
    SILENCE = "SILENCE"
    FAX = "FAX"
    NOTSURE = "NOTSURE"


@dataclass(frozen=True, slots=True)
class AmdDecision:
    """A verdict, when it was reached (ms of audio since answer) and why."""

    label: AmdLabel
    decision_ms: float
    reasons: str


class AmdSession(Protocol):
    """Streaming detector for one answered call.

    ``feed`` takes 16-bit signed PCM at the session's sample rate, in chunks of
    any length (the SIP platform delivers 20-200 ms); it returns ``None`` until
    a decision is reached, then the decision (and the same one on later calls).
    ``finish`` is called when the audio ends before a decision.
    """

    def feed(self, pcm: npt.NDArray[np.int16]) -> AmdDecision | None: ...

    def finish(self) -> AmdDecision: ...


class MessagePointKind(StrEnum):
    """What a :class:`MessagePoint` was found on (the call log says it in the viewer's
    language; ``reasons`` stays the tracker's English trace)."""

    #: The end of the mailbox's beep (or double beep).
    BEEP = "beep"
    #: The line stayed silent after the greeting (no beep heard).
    SILENCE = "silence"
    #: The engine's fallback, for a detector without a tracker of its own: the line
    #: stayed quiet (it does not listen for a beep).
    QUIET_LINE = "quiet_line"


@dataclass(frozen=True, slots=True)
class MessagePoint:
    """Where a message left on an answering machine starts (voicemail drop).

    ``at_ms``: ms of audio since answer at which the point was reached — the message
    starts now. ``found`` False: the tracker gave up (no end of greeting heard within
    its cap); the engine then hangs up instead. ``reasons`` says why, like a verdict's:
    free English, for logs and as the call log's technical detail.

    The optional fields say the same as values, so that the call log can write it in
    the viewer's language (a tracker that leaves them out gets ``reasons`` alone):
    ``kind`` (a :class:`MessagePointKind` value), ``event_s`` (when the beep, or the
    greeting, ended: seconds since answer), ``beep_hz`` (the beep's pitch) and
    ``silence_s`` (the quiet waited for, with ``silence`` and ``quiet_line``). They
    come after ``found`` with defaults: trackers written before them still work.
    """

    at_ms: float
    reasons: str
    found: bool = True
    kind: str | None = None
    event_s: float | None = None
    beep_hz: float | None = None
    silence_s: float | None = None

    def detail_params(self) -> dict[str, str]:
        """The point as a call outcome's ``detail_params`` (text values): ``why`` (the
        English ``reasons``), and ``point``, ``point_at_s``, ``beep_hz``, ``silence_s``
        for the fields given. A platform puts them on its MESSAGE_LEFT outcome."""
        params = {"why": self.reasons}
        if self.kind:
            params["point"] = str(self.kind)
        if self.event_s is not None:
            params["point_at_s"] = f"{self.event_s:.2f}"
        if self.beep_hz is not None:
            params["beep_hz"] = f"{self.beep_hz:.0f}"
        if self.silence_s is not None:
            params["silence_s"] = f"{self.silence_s:.1f}"
        return params


class MessagePointTracker(Protocol):
    """Listens to a machine's greeting after the MACHINE verdict, for the moment to
    start a message: the end of the beep, else the silence after the greeting.

    ``feed`` takes 16-bit PCM at the session's rate, the audio that follows what the
    session was fed, in chunks of any length; it returns None until the point is
    reached, then the point (and the same one on later calls).
    """

    def feed(self, pcm: npt.NDArray[np.int16]) -> MessagePoint | None: ...


@runtime_checkable
class FindsMessagePoint(Protocol):
    """An :class:`AmdSession` that can follow its MACHINE verdict with a
    :class:`MessagePointTracker` (the built-in ``numpy`` strategy's sessions do).

    A session that does not gets the engine's fallback tracker: it waits for the line
    to stay quiet for 2 s (no beep detection), and gives up like any tracker after the
    engine's cap (docs/amd.md, "Voicemail drop").
    """

    def message_point_tracker(self) -> MessagePointTracker:
        """A tracker that continues from the audio this session has heard."""
        ...


@dataclass(frozen=True, slots=True)
class AmdParameter:
    """One tunable, documented for administrators."""

    name: str
    default: float | int | str
    unit: str
    help: str


class AmdStrategy(Protocol):
    """Constructed as ``factory(context: PluginContext)``."""

    def parameters(self) -> list[AmdParameter]:
        """The tunables with their defaults (shown in the admin and docs)."""
        ...

    def presets(self) -> Mapping[str, Mapping[str, Any]]:
        """Named parameter sets, e.g. ``{"fast": {...}, "accurate": {...}}``."""
        ...

    def new_session(self, params: Mapping[str, Any], sample_rate: int = 8000) -> AmdSession:
        """A fresh detector for one call; unknown parameter names raise ``ValueError``."""
        ...


# --------------------------------------------------------------------------
# Routing targets (where a human-answered call goes)
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoutingRequest:
    """The campaign fields a routing target needs."""

    campaign_id: int
    campaign_type: str  # "OSCC" | "IVR"
    queue: str
    pilot_number: str


@runtime_checkable
class RoutingTarget(Protocol):
    """Counts free agents/channels and tracks what the dialer launched at them.

    Constructed as ``factory(options: Mapping[str, Any], context: PluginContext)``.
    ``free_slots`` must answer from a cache, never wait on the network: the
    pacer calls it every tick for every running campaign.
    """

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def free_slots(self, request: RoutingRequest) -> int:
        """Free agents/channels for this campaign minus reservations; 0 when unsure."""
        ...

    def reserve(self, request: RoutingRequest, call_id: str) -> None:
        """A call was launched for this campaign: hold one slot for it."""
        ...

    def release(self, call_id: str, transferred: bool) -> None:
        """The call ended (``transferred`` False) or reached its target (True)."""
        ...

    def health(self, request: RoutingRequest | None = None) -> Health:
        """Why dialing is throttled, if it is (shown on the schedule/summary)."""
        ...


# Optional extras a routing target may offer. The engine checks with
# ``isinstance(target, TracksTransferredCalls)`` etc. and calls them when present,
# so targets that need none (``static``) stay as they are.


@runtime_checkable
class TracksTransferredCalls(Protocol):
    """A target whose slots stay busy after the transfer (an IVR channel stays
    taken while the caller is in the IVR). The engine calls this when it learns
    that a call it transferred has ended; a target must also free the slot by
    itself after a timeout, since that signal may never come."""

    def transferred_call_ended(self, call_id: str) -> None: ...


@runtime_checkable
class ClaimsSlots(Protocol):
    """A target whose slots several engine nodes share. Before launching, the engine
    asks it for ``call_ids`` (one per call it wants) and launches only the ids
    granted: the target has claimed their slots atomically across every node
    (see ``docs/routing.md``), so N nodes never launch more calls than there are
    slots. The engine calls ``release(call_id, False)`` for a granted id it did
    not use, and ``reserve`` as usual for the ones it launched."""

    async def claim_slots(self, request: RoutingRequest, call_ids: list[str]) -> list[str]: ...


@runtime_checkable
class ReportsStatus(Protocol):
    """A target with details for System → Diagnostics: a JSON-able mapping
    (session state, data ages, circuit breaker, why dialing is throttled)."""

    def status(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class AgentsState:
    """What a target knows of the agents (or IVR channels) behind a campaign's queue."""

    #: Agents logged on (IVR: channels in service).
    logged_on: int
    #: Seconds each busy agent has been busy with its current call.
    busy_s: tuple[float, ...] = ()
    #: Seconds the agents' recent calls kept them busy, completed calls only, oldest
    #: first (a few hundred at most): what makes ``busy_s`` a forecast of who frees soon.
    recent_busy_s: tuple[float, ...] = ()


@runtime_checkable
class ReportsAgents(Protocol):
    """A target that knows its agents, not only how many are free (the simulator; an IVR
    knows its channels). The engine passes them to pacing modes as
    ``PacingSnapshot.agents_logged_on`` and ``agent_busy_s``; a target without it (an
    OSCC queue tells only free counts) leaves those None. Answers from memory, like
    ``free_slots``; None when it does not know right now."""

    def agents_state(self, request: RoutingRequest) -> AgentsState | None: ...


@runtime_checkable
class ValidatesOptions(Protocol):
    """A factory (class) that checks options without connecting anywhere.

    One contract for DNC providers, routing targets and platforms
    (:mod:`opendialer.sdk.options`): ``validate_options(options)`` returns the
    options to store, or refuses them with

    * ``sdk.OptionError(code, option=NAME, **values)`` — one refused option, by a code
      the plugin registered (``sdk.register_error_messages``: the English detail and
      the sentence the pages translate) — or
    * ``sdk.OptionsInvalid`` holding several (``sdk.OptionProblems`` collects checks
      and raises the one error or this), so a person learns every mistake at once.

    A plain ``ValueError`` (with an ``option`` attribute or not) is still accepted
    and shown as its English text. The settings services call it before saving and
    report each refusal as the error of its field, by its code:

    * routing targets get the target's options; ``option`` names one of them;
    * DNC providers get the service's ``url``, ``ca_bundle``, ``insecure``,
      ``timeout_ms`` and ``options`` and return the ``url`` and ``ca_bundle`` to
      store (and ``options``, to store them normalised); ``option`` names the field
      (``url``, ``options.region``). A kind without the check gets the generic one:
      an optional url and a PEM ``ca_bundle``;
    * a platform whose options a Master edits (``sdk.EditsOptions``) gets them with
      ``previous`` (the stored options); ``option`` names the field
      (``ports[2].user``)."""

    def validate_options(self, options: Mapping[str, Any]) -> dict[str, Any]: ...


# --------------------------------------------------------------------------
# Communication platform
# --------------------------------------------------------------------------


class CallAction(StrEnum):
    TRANSFER = "transfer"
    HANGUP = "hangup"
    #: Voicemail drop (a MACHINE verdict only): wait for the message point
    #: (``CallRequest.message_point``), play ``CallRequest.voicemail_ulaw``, hang up.
    LEAVE_MESSAGE = "leave_message"


class CallDisposition(StrEnum):
    """How a call ended, as the platform saw it. The engine maps it to a lead status
    (see ``docs/outcomes.md``)."""

    TRANSFERRED = "transferred"  # answered, handed to the pilot, 2xx NOTIFY
    TRANSFER_FAILED = "transfer_failed"  # answered, transfer refused or timed out
    AMD_HANGUP = "amd_hangup"  # answered, AMD verdict said hang up
    FINAL_RESPONSE = "final_response"  # a 3xx-6xx final response: see sip_code
    NO_ANSWER = "no_answer"  # no-answer timeout, the platform cancelled
    FAR_END_HANGUP = "far_end_hangup"  # answered, then hung up before transfer
    #: A person answered and no agent freed within the campaign's abandon timeout
    #: (over-dialing pacing): the safe-harbour message was played, then BYE.
    ABANDONED = "abandoned"
    #: A machine answered; the campaign's voicemail message was played at the message
    #: point (``CallAction.LEAVE_MESSAGE``), then BYE.
    MESSAGE_LEFT = "message_left"
    PLATFORM_ERROR = "platform_error"  # transport failure, server not answering
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CallRequest:
    """Everything the platform needs to run one call to its end."""

    call_id: str
    number: str
    caller_id: str | None
    transfer_to: str  # the campaign's pilot number
    no_answer_timeout_s: float
    #: None when AMD is off for the campaign: the call is transferred on answer.
    amd_session: AmdSession | None
    #: What to do with an AMD verdict (the campaign's setting).
    on_verdict: Callable[[AmdDecision], CallAction]
    #: Called once when the far end answers, so the engine can record it.
    on_answered: Callable[[datetime], None] | None = None
    #: The campaign has AMD on. With ``amd_session`` None that means no AMD strategy is
    #: installed: a platform that knows the truth (the simulator) may use it, others transfer.
    amd_enabled: bool = False
    #: A platform that learns when a call it transferred has ended (the caller left the
    #: agent or the IVR) calls this once, even long after ``originate`` returned; the
    #: engine then frees the routing slot (``TracksTransferredCalls``). Platforms that
    #: cannot know (after a blind SIP transfer) never call it: targets time out instead.
    on_transferred_ended: Callable[[], None] | None = None
    #: Over-dialing pacing (``power``, ``predictive``): the call holds no agent while it
    #: rings. When a person answers (the verdict's action is TRANSFER, or AMD is off),
    #: the platform awaits this before transferring: True, an agent is now held for the
    #: call, transfer it; False, none freed within the campaign's abandon timeout: play
    #: ``safe_harbour_ulaw`` (if any) on the call, hang up, and return disposition
    #: ABANDONED. None (progressive): an agent was held from the launch, transfer at once.
    claim_agent: Callable[[], Awaitable[bool]] | None = None
    #: The campaign's safe-harbour message: 8 kHz G.711 µ-law, played to a person the
    #: dialer abandons (a platform that negotiated PCMA transcodes it). None: no message.
    safe_harbour_ulaw: bytes | None = None
    #: Voicemail drop: the campaign's voicemail message (8 kHz G.711 µ-law), played when
    #: ``on_verdict`` answers ``LEAVE_MESSAGE``. None: the campaign leaves no message.
    voicemail_ulaw: bytes | None = None
    #: Voicemail drop: a fresh tracker of the message point, continuing from the audio
    #: the AMD session heard. The platform keeps feeding it the call's audio after the
    #: verdict, plays ``voicemail_ulaw`` when it returns a point that was ``found`` and
    #: returns MESSAGE_LEFT; a point not found: BYE, AMD_HANGUP. The engine caps it.
    message_point: Callable[[], MessagePointTracker] | None = None


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """How one call ended, as ``Platform.originate`` returns it.

    ``detail`` is an English sentence for logs, the API and the call log. A platform
    that codes its details gives ``detail_code`` (registered with
    ``sdk.register_error_messages`` under its own prefix, like its errors) and
    ``detail_params`` (the values its sentences name, as text): the call log then shows
    the code's page sentence in the viewer's language, and an empty ``detail`` is
    rendered from the code's English sentence. Uncoded details are shown as they are.
    """

    disposition: CallDisposition
    port: str
    created_at: datetime
    ended_at: datetime
    answered_at: datetime | None = None
    sip_code: int | None = None
    sip_reason: str = ""
    amd: AmdDecision | None = None
    transfer_code: int | None = None
    detail: str = ""
    detail_code: str | None = None
    detail_params: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.detail_code is not None and not self.detail:
            # The table of coded messages; imported here, not at the top, so that the
            # contracts stay importable without the services (an unknown code fails here).
            from opendialer.core.services.error_messages import MESSAGES

            english = MESSAGES[self.detail_code].detail % dict(self.detail_params)
            object.__setattr__(self, "detail", english)


@runtime_checkable
class Platform(Protocol):
    """Places calls. Constructed as ``factory(options: Mapping[str, Any], context)``.

    ``originate`` runs one call from INVITE to its last BYE/CANCEL and returns
    its outcome; it must never raise for a call-level failure (that is an
    outcome). It raises :class:`PlatformUnavailable` only when no port is free
    or the platform is down, before anything was sent.
    """

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def free_ports(self) -> int: ...

    async def originate(self, request: CallRequest) -> CallOutcome: ...

    def health(self) -> Health: ...


@runtime_checkable
class WaitsForAgents(Protocol):
    """A platform that honours ``CallRequest.claim_agent`` and plays
    ``safe_harbour_ulaw`` (both built-in platforms do). With a platform that does not,
    over-dialing pacing modes are held to progressive: a person answered with no agent
    would otherwise be transferred to a full queue."""

    @property
    def waits_for_agents(self) -> bool: ...


class PlatformUnavailable(Exception):
    """No call was placed: no free port, or the platform is down."""


@dataclass(frozen=True, slots=True)
class PortProbe:
    """One answer of a platform's server probe (``opendialer doctor``).

    ``state``: ``registered`` (the server lists a binding for the port),
    ``not_registered`` (credentials accepted, no binding: no engine registered it),
    ``failed`` (refused or no answer), ``answering`` / ``not_answering`` (a trunk
    without registration: the server's answer to OPTIONS)."""

    user: str
    state: str
    detail: str


@runtime_checkable
class ProbesServer(Protocol):
    """A platform factory (class) that checks its server without placing calls or
    disturbing a running engine: ``await probe_server(options, timeout_s)``."""

    async def probe_server(
        self, options: Mapping[str, Any], timeout_s: float
    ) -> list[PortProbe]: ...


# --------------------------------------------------------------------------
# Pacing (its contract is opendialer.sdk.pacing) and retries
# --------------------------------------------------------------------------


class RetryPolicy(Protocol):
    """Decides when an unsuccessful lead is due again. Constructed as ``factory(context)``."""

    def next_attempt_at(
        self,
        *,
        status: LeadStatus,
        attempts: int,
        max_attempts: int,
        ended_at: datetime,
        retry_after_minutes: int,
    ) -> datetime | None:
        """The time the lead is due again, or None when it is done for good."""
        ...


# --------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------


@runtime_checkable
class MetricsExporter(Protocol):
    """Exposes one process's metrics. Constructed as ``factory(context=PluginContext)``.

    The web app (or, for ``serve --role engine``, a metrics-only server) starts it,
    hands it the process's engine when there is one, and serves ``render()`` at
    ``GET /metrics``. Counting comes from the event hooks; live state (calls in
    flight, health) is read from the engine when the metrics are rendered.
    """

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def attach_engine(self, engine: EngineView) -> None:
        """The engine of this process, read-only (see :class:`EngineView`)."""
        ...

    async def render(self, accept: str) -> tuple[bytes, str]:
        """The metrics for a scrape whose ``Accept`` header is ``accept``: body, content type."""
        ...


@dataclass(frozen=True, slots=True)
class CampaignPacingState:
    """A campaign's latest pacing decision on this engine node, as exporters read it
    (:meth:`EngineView.pacing_states`)."""

    campaign_id: int
    #: The pacing mode the campaign names (what it ran as is ``decision.reason``).
    mode: str
    #: The decision, its launch capped to what the engine could place.
    decision: PacingDecision
    #: The campaign's abandon budget as the decision saw it (every node's calls).
    abandon: AbandonBudget
    #: When it was decided (the engine's clock).
    decided_at: datetime


@runtime_checkable
class EngineView(Protocol):
    """A read-only look at the engine of this process, for exporters.

    Every method answers from memory (no I/O), so it is safe in a scrape. The
    objects returned are the live plugins: call their ``health()``/``free_ports()``
    only; starting, closing or driving them is the engine's business.
    """

    @property
    def node_id(self) -> str:
        """The engine node's id."""
        ...

    def now(self) -> datetime:
        """The engine's clock (a fake one in tests)."""
        ...

    def calls_in_flight(self) -> Mapping[int, int]:
        """Calls launched by this node and not yet finished, per campaign id (from the
        DNC check to the last BYE); campaigns this node does not run are absent."""
        ...

    def platform(self) -> Platform:
        """The communication platform placing this node's calls."""
        ...

    def routing_targets(self) -> Mapping[str, RoutingTarget]:
        """The routing targets this node started, by name."""
        ...

    def dnc_providers(self) -> Mapping[str, DncProvider]:
        """The DNC providers this node's engine uses, by service name."""
        ...

    def pacing_states(self) -> Mapping[int, CampaignPacingState]:
        """The latest pacing decision of each campaign this node paces (a campaign not
        decided yet is absent). Added with per-campaign pacing: an exporter that must
        also run on an older dialer reads it with ``getattr(view, "pacing_states", None)``
        and shows no pacing metrics when it is missing."""
        ...


# --------------------------------------------------------------------------
# Factories: what a registration hook maps names to (usually the class itself)
# --------------------------------------------------------------------------


class DncProviderFactory(Protocol):
    """``register_dnc_providers`` values: ``factory(config=..., context=...)``."""

    def __call__(self, config: DncServiceConfig, context: PluginContext) -> DncProvider: ...


class RoutingTargetFactory(Protocol):
    """``register_routing_targets`` values: ``factory(options=..., context=...)``.

    A factory may also offer ``validate_options`` (:class:`ValidatesOptions`)."""

    def __call__(self, options: Mapping[str, Any], context: PluginContext) -> RoutingTarget: ...


class PlatformFactory(Protocol):
    """``register_platforms`` values: ``factory(options=..., context=...)``.

    A factory may also offer ``probe_server`` (:class:`ProbesServer`)."""

    def __call__(self, options: Mapping[str, Any], context: PluginContext) -> Platform: ...


class AmdStrategyFactory(Protocol):
    """``register_amd_strategies`` values: ``factory(context=...)``."""

    def __call__(self, context: PluginContext) -> AmdStrategy: ...


class PacingModeFactory(Protocol):
    """``register_pacing_modes`` values: ``factory(context=...)``."""

    def __call__(self, context: PluginContext) -> PacingMode: ...


class RetryPolicyFactory(Protocol):
    """``register_retry_policies`` values: ``factory(context=...)``."""

    def __call__(self, context: PluginContext) -> RetryPolicy: ...


class MetricsExporterFactory(Protocol):
    """``register_metrics_exporters`` values: ``factory(context=...)``; the dialer may
    pass an exporter's own keyword options too (tests: ``db_refresh_s``)."""

    def __call__(self, context: PluginContext) -> MetricsExporter: ...


#: Event hooks may return an awaitable; the engine awaits it (with a timeout).
MaybeAwaitable = Awaitable[None] | None


__all__ = [
    "AgentsState",
    "AmdDecision",
    "AmdLabel",
    "AmdParameter",
    "AmdSession",
    "AmdStrategy",
    "AmdStrategyFactory",
    "CallAction",
    "CallDisposition",
    "CallOutcome",
    "CallRequest",
    "CampaignPacingState",
    "ClaimsSlots",
    "DncProvider",
    "DncProviderFactory",
    "DncServiceConfig",
    "DncUnavailable",
    "DncVerdict",
    "EngineView",
    "Health",
    "MaybeAwaitable",
    "MetricsExporter",
    "MetricsExporterFactory",
    "PacingMode",
    "PacingModeFactory",
    "PacingSnapshot",
    "Platform",
    "PlatformFactory",
    "PlatformUnavailable",
    "PluginContext",
    "PluginSettings",
    "PortProbe",
    "ProbesServer",
    "ReportsAgents",
    "ReportsStatus",
    "RetryPolicy",
    "RetryPolicyFactory",
    "RoutingRequest",
    "RoutingTarget",
    "RoutingTargetFactory",
    "TracksTransferredCalls",
    "ValidatesOptions",
    "WaitsForAgents",
    "masked_url",
]
