"""Piccolo tables for the whole domain of the product guide.

Only ``opendialer.core`` touches these; the web, the CLI and plugins go through
``opendialer.core.services``. Composite unique constraints and the indexes of
the hot queries are created by the migrations (raw SQL that both SQLite and
PostgreSQL accept), since Piccolo columns only declare single-column indexes.

Phone numbers are stored as E.164 digits without ``+`` (``"554181021119"``).
All timestamps are timezone-aware UTC.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    Bytea,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    Real,
    Serial,
    SmallInt,
    Text,
    Time,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class DialerGroup(Table, tablename="dialer_group"):
    id: Serial  # added by Piccolo; declared for type checkers
    name = Varchar(length=100, unique=True)
    description = Text(default="")
    enabled = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class DialerUser(Table, tablename="dialer_user"):
    id: Serial  # added by Piccolo; declared for type checkers
    username = Varchar(length=64, unique=True)
    password_hash = Varchar(length=255)
    first_name = Varchar(length=100, default="")
    last_name = Varchar(length=100, default="")
    role = Varchar(length=32)
    language = Varchar(length=8, default="en")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class UserGroup(Table, tablename="user_group"):
    """Membership: a user of the group (campaign roles) or a manager of it (managers)."""

    id: Serial  # added by Piccolo; declared for type checkers
    user = ForeignKey(references=DialerUser, on_delete=OnDelete.cascade, null=False)
    group = ForeignKey(references=DialerGroup, on_delete=OnDelete.restrict, null=False)


class ApiToken(Table, tablename="api_token"):
    """Bearer tokens for scripts; only a hash of the token is kept."""

    id: Serial  # added by Piccolo; declared for type checkers
    user = ForeignKey(references=DialerUser, on_delete=OnDelete.cascade, null=False)
    token_hash = Varchar(length=128, unique=True)
    kind = Varchar(length=16, default="bearer")  # "bearer" or "session"
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)


class DncService(Table, tablename="dnc_service"):
    id: Serial  # added by Piccolo; declared for type checkers
    name = Varchar(length=100, unique=True)
    kind = Varchar(length=32)  # a key of register_dnc_providers(): "embedded", "http", ...
    url = Varchar(length=500, null=True, default=None)
    ca_bundle = Text(null=True, default=None)
    timeout_ms = Integer(default=2000)
    insecure = Boolean(default=False)
    builtin = Boolean(default=False)  # the Embedded Service: not editable, not deletable
    options = JSON(default="{}")
    #: Bumped on every change of the list; nodes reload when it moves.
    list_version = BigInt(default=0)
    #: The list version of the last replace: a node older than it reloads everything
    #: (after an append it reads only the numbers ``added_in`` since its version).
    replaced_in = BigInt(default=0)
    #: When the list was last imported (m0015): the embedded list's date (DNC data age).
    list_updated_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class DncNumber(Table, tablename="dnc_number"):
    id: Serial  # added by Piccolo; declared for type checkers
    service = ForeignKey(references=DncService, on_delete=OnDelete.cascade, null=False)
    number = BigInt()  # E.164 digits as an integer: compact, and sorts like the digits
    added_in = BigInt(default=0)  # the list version whose import added it (delta reloads)


# ``dnc_snapshot`` (service, part, version, numbers, data): the whole list as sorted
# int64 bytes, written by imports (``core/services/dnc_bulk/``); plain SQL only.


class Campaign(Table, tablename="campaign"):
    id: Serial  # added by Piccolo; declared for type checkers
    name = Varchar(length=100, unique=True)
    description = Text(default="")
    group = ForeignKey(references=DialerGroup, on_delete=OnDelete.restrict, null=False)
    start_date = Date()
    end_date = Date()
    start_time = Time()
    end_time = Time()
    timezone = Varchar(length=64, default="UTC")
    weekdays = Varchar(length=40, default="mon,tue,wed,thu,fri")
    pilot_number = Varchar(length=64)
    max_attempts = SmallInt(default=5)
    retry_after_minutes = Integer(default=60)
    type = Varchar(length=8, default="OSCC")
    queue = Varchar(length=100, default="")
    amd_enabled = Boolean(default=True)
    amd_params = JSON(default="{}")
    dnc_service = ForeignKey(references=DncService, on_delete=OnDelete.restrict, null=True)
    default_region = Varchar(length=2, default="US")
    caller_id = Varchar(length=64, null=True, default=None)
    no_answer_timeout_s = Integer(default=30)
    #: A key of register_routing_targets(); NULL: by type (OSCC → "oscc", IVR → "ivr").
    routing_target = Varchar(length=32, null=True, default=None)
    #: A key of register_pacing_modes() and its settings (docs/pacing.md, m0011).
    pacing_mode = Varchar(length=32, default="progressive")
    lines_per_agent = Real(default=1.5)
    abandon_target_pct = Real(default=3.0)
    abandon_window = Varchar(length=16, default="30d")
    abandon_timeout_ms = Integer(default=2000)
    max_lines_per_agent = Real(default=3.0)
    #: The compliance policy (core/services/compliance_policy.py, m0013); {}: none.
    compliance = JSON(default="{}")
    state = Varchar(length=8, default="STOPPED")
    state_reason = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    #: When Start last moved it to STARTED (m0016; only Start sets it); NULL: never since.
    started_at = Timestamptz(null=True, default=None)


class CampaignMessage(Table, tablename="campaign_message"):
    """Audio a campaign plays on a call, by kind (``safe_harbour``): 8 kHz G.711 µ-law,
    converted on upload. Primary key (campaign, kind) in the migration (m0011)."""

    #: (campaign, kind) in the migration, with the campaign's cascade.
    campaign = Integer(primary_key=True)
    kind = Varchar(length=32)
    audio = Bytea()
    duration_ms = Integer()
    filename = Varchar(length=255, default="")
    uploaded_at = Timestamptz(default=TimestamptzNow())


class PacingDecisionRow(Table, tablename="pacing_decision"):
    """Each engine node's last pacing decision per campaign (m0011; key (campaign, node))."""

    campaign = Integer(primary_key=True)  # (campaign, node) in the migration
    node = Varchar(length=64)
    mode = Varchar(length=32)
    dial_level = Real()
    predicted_free_agents = Real()
    launched = Integer()
    reason = Varchar(length=32)
    detail = Text(default="")
    abandon_rate_pct = Real(default=0.0)
    live_answered = Integer(default=0)
    abandoned = Integer(default=0)
    occupancy = Real(null=True, default=None)
    #: Its calls of the campaign not yet with an agent nor ended, and the fewest
    #: participants of the fair share they were launched among (m0012).
    unresolved = Integer(default=0)
    unresolved_among = Integer(default=1)
    decided_at = Timestamptz(default=TimestamptzNow())


class Schedule(Table, tablename="schedule"):
    """One execution day of a campaign (unique per campaign and date)."""

    id: Serial  # added by Piccolo; declared for type checkers
    campaign = ForeignKey(references=Campaign, on_delete=OnDelete.cascade, null=False)
    date = Date()
    start_time = Time()
    end_time = Time()
    state = Varchar(length=24, default="NOT_RUNNING")
    reason = Text(default="")  # why dialing is held, e.g. "DNC service: timeout"


class Lead(Table, tablename="lead"):
    id: Serial  # added by Piccolo; declared for type checkers
    campaign = ForeignKey(references=Campaign, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=200)
    description = Text(default="")
    phone = Varchar(length=20)
    attempts = SmallInt(default=0)
    status = Varchar(length=40, default="NOT_CALLED")
    #: When the lead is due; NULL while a call is in flight or when it is done.
    next_attempt_at = Timestamptz(null=True, default=None)
    #: Which engine node holds the lead, and until when (multi-node claiming).
    lease_owner = Varchar(length=64, null=True, default=None)
    lease_until = Timestamptz(null=True, default=None)
    #: Its zone key (one IANA zone, or several space-separated); NULL: the campaign's
    #: (core/services/lead_zones.py, m0013), and where it came from.
    timezone = Varchar(length=200, null=True, default=None)
    timezone_source = Varchar(length=16, default="campaign")
    #: Why a compliance rule put the lead off, as JSON (code, until, values); "" if none.
    deferred_reason = Text(default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class CallRecord(Table, tablename="call_record"):
    """One row per attempt (or per DNC block)."""

    id: Serial  # added by Piccolo; declared for type checkers
    campaign = ForeignKey(references=Campaign, on_delete=OnDelete.cascade, null=False)
    lead = ForeignKey(references=Lead, on_delete=OnDelete.cascade, null=False)
    attempt = SmallInt()
    call_id = Varchar(length=64, unique=True)
    node = Varchar(length=64, default="")
    port = Varchar(length=64, default="")
    phone = Varchar(length=20)
    created_at = Timestamptz(default=TimestamptzNow())
    answered_at = Timestamptz(null=True, default=None)
    ended_at = Timestamptz(null=True, default=None)
    sip_code = SmallInt(null=True, default=None)
    disposition = Varchar(length=32, default="")
    amd_verdict = Varchar(length=16, null=True, default=None)
    amd_decision_ms = Real(null=True, default=None)
    amd_reasons = Text(default="")
    transfer_result = Varchar(length=64, null=True, default=None)
    dnc_service = Varchar(length=100, null=True, default=None)
    dnc_checked_at = Timestamptz(null=True, default=None)
    dnc_result = Varchar(length=16, null=True, default=None)  # "callable" | "blocked"
    #: NULL while the call is in flight; a LeadStatus value once it ended.
    status = Varchar(length=40, null=True, default=None)
    detail = Text(default="")
    #: The detail's code (core/services/error_messages.py, or a platform's registered
    #: one) and its values as a JSON object; NULL for an uncoded detail (older records).
    detail_code = Varchar(length=100, null=True, default=None)
    detail_params = JSON(null=True, default=None)


class Setting(Table, tablename="setting"):
    """Process-wide configuration that changes at run time (e.g. the SIP platform)."""

    id: Serial  # added by Piccolo; declared for type checkers
    key = Varchar(length=100, unique=True)
    value = JSON(default="{}")
    updated_at = Timestamptz(default=TimestamptzNow())


class EngineNode(Table, tablename="engine_node"):
    """One row per dialer engine process: heartbeats tell the others it is alive."""

    node_id = Varchar(length=64, primary_key=True)
    host = Varchar(length=255, default="")
    pid = Integer(default=0)
    started_at = Timestamptz(default=TimestamptzNow())
    heartbeat_at = Timestamptz(default=TimestamptzNow())
    #: True while this node holds the scheduler's advisory lock.
    is_leader = Boolean(default=False)


class LoginFailure(Table, tablename="login_failure"):
    """A failed (or still being verified) log-in attempt, per throttle key
    (``user:<name>`` or ``address:<ip>``), shared by every web node."""

    id: Serial  # added by Piccolo; declared for type checkers
    key = Varchar(length=320)
    #: Seconds since the epoch (the throttle's clock; injectable in tests).
    at = DoublePrecision()


class RoutingReservation(Table, tablename="routing_reservation"):
    """A routing slot (free agent, IVR channel) held by a call an engine node launched,
    shared so that every node subtracts every node's holds (migration m0007)."""

    call_id = Varchar(length=64, primary_key=True)
    #: What the slots belong to: ``oscc:<queue>``, ``ivr``.
    pool = Varchar(length=300)
    node = Varchar(length=64)
    campaign = Integer()
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(default=TimestamptzNow())
    transferred_at = Timestamptz(null=True, default=None)


class RoutingWaiter(Table, tablename="routing_waiter"):
    """A node refused routing slots it wanted, until ``until`` (migration m0007):
    while it waits, the other nodes keep to a fair share of the pool."""

    pool = Varchar(length=300, primary_key=True)  # (pool, node) in the migration
    node = Varchar(length=64)
    until = Timestamptz(default=TimestamptzNow())


class AuditEvent(Table, tablename="audit_event"):
    """One decision that matters for compliance (m0014; ``docs/audit.md``): append-only
    (triggers refuse UPDATE and DELETE), no foreign key so that it outlives the
    campaign and lead it speaks of (hence the campaign's name beside its id)."""

    id: Serial  # added by Piccolo; declared for type checkers
    at = Timestamptz(default=TimestamptzNow())
    campaign = Integer()
    campaign_name = Varchar(length=100, default="")
    lead = Integer(null=True, default=None)
    attempt = Integer(null=True, default=None)
    call_id = Varchar(length=64, null=True, default=None)
    #: The number as the lead stores it (E.164 digits, no ``+``).
    number = Varchar(length=20, default="")
    #: ``dnc_check``, ``attempt_started``, ``attempt_answered``, ``attempt_ended``, … (audit.py)
    kind = Varchar(length=32)
    node = Varchar(length=64, default="")
    #: The facts as a JSON object (text): DNC service and answer, AMD verdict, rule, …
    detail = Text(default="{}")


ALL_TABLES: list[type[Table]] = [
    DialerGroup,
    DialerUser,
    UserGroup,
    ApiToken,
    DncService,
    DncNumber,
    Campaign,
    Schedule,
    Lead,
    CallRecord,
    Setting,
    EngineNode,
    LoginFailure,
    RoutingReservation,
    CampaignMessage,
    PacingDecisionRow,
    RoutingWaiter,
    AuditEvent,
]
