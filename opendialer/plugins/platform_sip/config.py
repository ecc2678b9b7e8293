"""The SIP platform's configuration as the plugin reads it.

The JSON shape is the one of ``GET/PUT /api/v1/platform`` (validated for
people by ``options.py``, stored by core); here it is parsed
once more, strictly, because a plugin may also be built from a hand-written
options mapping. Passwords are kept out of ``repr`` so they never reach a log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opendialer.sdk import SIP_USER_NAME, is_dial_string

TRANSPORTS = ("udp", "tcp", "tls")
RTP_SEND = ("answer", "early", "off")
#: How many 3xx redirects one call may follow when ``follow_redirects`` is on.
MAX_REDIRECTS = (1, 10)


@dataclass(frozen=True, slots=True)
class SipAccount:
    """One dialer port: a SIP subscriber of the platform."""

    user: str
    auth_user: str
    password: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class SipConfig:
    server_host: str
    server_port: int
    transport: str
    domain: str
    register: bool
    ports: tuple[SipAccount, ...]
    caller_id: str
    no_answer_timeout_s: float
    rtp_port_min: int
    rtp_port_max: int
    follow_redirects: bool = False
    max_redirects: int = 3

    @property
    def redirect_hops(self) -> int:
        """How many 3xx a call follows: ``max_redirects`` when on, else none."""
        return self.max_redirects if self.follow_redirects else 0

    @property
    def signalling_key(self) -> tuple[Any, ...]:
        """What needs a new SIP endpoint when it changes."""
        return (self.server_host, self.server_port, self.transport)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SipConfig:
        """Parse the JSON fields; raise ``ValueError`` naming the bad field."""
        server = str(data.get("server") or "")
        host, sep, port_text = server.rpartition(":")
        if not sep:
            host, port_text = server, "5060"
        if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"server must be host:port, got {server!r}")
        transport = str(data.get("transport", "udp")).lower()
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}")
        ports: list[SipAccount] = []
        for index, raw in enumerate(data.get("ports") or []):
            user = str(raw.get("user") or "")
            if not user:
                raise ValueError(f"ports[{index}].user is required")
            auth_user = str(raw.get("auth_user") or user)
            for name, value in (("user", user), ("auth_user", auth_user)):
                if not SIP_USER_NAME.match(value):  # stored before the service checked it
                    raise ValueError(
                        f"ports[{index}].{name} {value!r} cannot go into a SIP header: "
                        "fix it in System → Communication platform"
                    )
            ports.append(
                SipAccount(
                    user=user,
                    auth_user=auth_user,
                    password=str(raw.get("password") or ""),
                )
            )
        rtp_min = int(data.get("rtp_port_min", 20000))
        rtp_max = int(data.get("rtp_port_max", 29999))
        if not 1024 <= rtp_min < rtp_max <= 65535:
            raise ValueError(
                f"rtp_port_min..rtp_port_max must be 1024..65535, got {rtp_min}..{rtp_max}"
            )
        caller_id = str(data.get("caller_id") or "")
        if caller_id and not is_dial_string(caller_id):
            raise ValueError(
                f"caller_id {caller_id!r} cannot go into a SIP header: digits with an "
                "optional leading + only"
            )
        timeout = float(data.get("no_answer_timeout_s", 30))
        if timeout <= 0:
            raise ValueError("no_answer_timeout_s must be more than 0")
        max_redirects = data.get("max_redirects", 3)
        low, high = MAX_REDIRECTS
        if (
            isinstance(max_redirects, bool)
            or not isinstance(max_redirects, int)
            or not (low <= max_redirects <= high)
        ):
            raise ValueError(f"max_redirects must be {low}..{high}, got {max_redirects!r}")
        return cls(
            server_host=host,
            server_port=int(port_text),
            transport=transport,
            domain=str(data.get("domain") or host),
            register=bool(data.get("register", False)),
            ports=tuple(ports),
            caller_id=caller_id,
            no_answer_timeout_s=timeout,
            rtp_port_min=rtp_min,
            rtp_port_max=rtp_max,
            follow_redirects=data.get("follow_redirects") is True,
            max_redirects=max_redirects,
        )


@dataclass(frozen=True, slots=True)
class Tunables:
    """Engineering knobs that are not part of the admin's JSON (plugin options)."""

    t1_s: float = 0.5  # RFC 3261 T1: retransmission start and 64·T1 timeouts
    t4_s: float = 5.0  # RFC 3261 T4: how long finished transactions/dialogs absorb late copies
    bind_host: str = "0.0.0.0"
    sip_port: int = 0  # 0: any free port
    advertised_host: str | None = None  # Via/Contact/SDP address; default: route to server
    amd_max_s: float = 10.0  # answered audio analysed at most this long, then finish()
    transfer_timeout_s: float = 30.0  # REFER accepted → final NOTIFY
    register_expires_s: int = 300
    register_backoff_s: float = 5.0  # first retry after a failure; doubles up to the max
    register_backoff_max_s: float = 300.0
    probe_interval_s: float = 5.0  # OPTIONS while the server is considered down
    config_poll_s: float = 5.0
    # With several engine nodes (a ``port_leases`` option): how often this node renews its
    # port leases and takes its share after a node joined or died.
    port_lease_renew_s: float = 2.0
    # This node's own RTP range, instead of the stored rtp_port_min..max: engine nodes on
    # one host give each its own slice (both None: the stored range).
    node_rtp_port_min: int | None = None
    node_rtp_port_max: int | None = None
    rtp_batch_ms: int = 200
    # Outbound silence (symmetric RTP): "answer" from the 2xx on, "early" from an early-media
    # 1xx SDP on, "off" never.
    rtp_send: str = "answer"
    licensed_ports: int | None = None
    # Over-dialing (CallRequest.claim_agent): the engine's claim settles within the
    # campaign's abandon timeout (~2 s); one still pending after this long is a fault —
    # it is cancelled and the call abandoned, so a stuck claim cannot hold a port.
    agent_wait_max_s: float = 10.0
    # After the safe-harbour message's last packet, this long before the BYE: a far end's
    # jitter buffer (typically 40–200 ms) still has the message's tail to play out.
    message_tail_s: float = 0.2
    tls_ca_file: str | None = None
    user_agent: str = "OpenDialer"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Tunables:
        known = {name: options[name] for name in cls.__dataclass_fields__ if name in options}
        tunables = cls(**known)
        if tunables.rtp_send not in RTP_SEND:
            raise ValueError(
                f"rtp_send must be one of {', '.join(RTP_SEND)}, got {tunables.rtp_send!r}"
            )
        if tunables.port_lease_renew_s <= 0:
            raise ValueError(
                f"port_lease_renew_s must be more than 0, got {tunables.port_lease_renew_s!r}"
            )
        if tunables.agent_wait_max_s <= 0 or tunables.message_tail_s < 0:
            raise ValueError(
                "agent_wait_max_s must be more than 0 and message_tail_s at least 0, got "
                f"{tunables.agent_wait_max_s!r} and {tunables.message_tail_s!r}"
            )
        node_range = (tunables.node_rtp_port_min, tunables.node_rtp_port_max)
        if node_range != (None, None) and not (
            isinstance(node_range[0], int)
            and isinstance(node_range[1], int)
            and 1024 <= node_range[0] < node_range[1] <= 65535
        ):
            raise ValueError(
                "node_rtp_port_min..node_rtp_port_max must both be set, within "
                f"1024..65535, min below max; got {node_range[0]}..{node_range[1]}"
            )
        return tunables

    def rtp_range(self, config: SipConfig) -> tuple[int, int]:
        """The RTP ports this node binds: its own range if set, else the stored one."""
        if self.node_rtp_port_min is not None and self.node_rtp_port_max is not None:
            return self.node_rtp_port_min, self.node_rtp_port_max
        return config.rtp_port_min, config.rtp_port_max
