"""How the ``oscc`` routing target's options are edited: its System page's fields.

The admin renders System → Contact center from these (``admin_ui/pages/routing.py``
knows no target by name): sections of :class:`~opendialer.sdk.OptionField`, whose
labels, help and hints are message ids the admin translates (``babel.cfg`` extracts
``N_`` from the plugins). Which options exist and what they mean: ``options.py``
and ``docs/routing.md``.
"""

from __future__ import annotations

from opendialer.plugins.route_oscc.options import DEFAULT_FIELDS, DEFAULT_PATHS
from opendialer.sdk import OptionField, OptionSection


def N_(message: str) -> str:
    """Mark ``message`` for extraction (``babel.cfg``); the admin translates it."""
    return message


#: The page's title: System → Contact center.
LABEL = N_("Contact center")

OPTION_SECTIONS: tuple[OptionSection, ...] = (
    OptionSection(
        N_("Connection"),
        (
            OptionField("base_url", "url", N_("SDK URL"), "", N_("Scheme, host, port and base path of the contact center's REST SDK, e.g. https://oscc.example:9443/rest."), required=True),  # noqa: E501
            OptionField("username", "text", N_("User name"), "", N_("The user the dialer logs on with.")),  # noqa: E501
            OptionField("password", "secret", N_("Password"), "", N_("Sent with the logon; never shown again once saved.")),  # noqa: E501
            OptionField("application", "text", N_("Application name"), "OpenDialer", N_("The name the dialer registers its session under.")),  # noqa: E501
            OptionField("ca_bundle", "text", N_("CA file (PEM)"), "", N_("Path on the dialer's server of the CA that signed the SDK's certificate; empty: the system's CAs.")),  # noqa: E501
            OptionField("queues", "list", N_("Queues to watch from the start"), [], N_("Comma-separated queue names; a campaign's own queue is added when it dials.")),  # noqa: E501
        ),
    ),
    OptionSection(
        N_("Timing"),
        (
            OptionField("poll_interval_ms", "ms", N_("Poll interval (ms)"), 1000, N_("Time between two reads of the queues' free agents.")),  # noqa: E501
            OptionField("stale_after_ms", "ms", N_("Stale after (ms)"), 15000, N_("A count older than this is not trusted: no calls until a fresh one arrives. Must exceed the poll interval.")),  # noqa: E501
            OptionField("keepalive_interval_ms", "ms", N_("Keep-alive interval (ms)"), 10000, N_("Time between two keep-alive requests of the session.")),  # noqa: E501
            OptionField("connect_timeout_ms", "ms", N_("Connect timeout (ms)"), 2000, N_("How long to wait for the TCP/TLS connection.")),  # noqa: E501
            OptionField("request_timeout_ms", "ms", N_("Request timeout (ms)"), 3000, N_("How long one request may take in all.")),  # noqa: E501
            OptionField("reservation_timeout_ms", "ms", N_("Agent hold (ms)"), 120000, N_("A launched call stops holding its agent after this, even without an answer.")),  # noqa: E501
            OptionField("backoff_initial_ms", "ms", N_("First retry after (ms)"), 500, N_("Wait before rebuilding a failed session; doubles at each failure.")),  # noqa: E501
            OptionField("backoff_max_ms", "ms", N_("Longest retry wait (ms)"), 30000, N_("The doubling wait never exceeds this.")),  # noqa: E501
        ),
    ),
    OptionSection(
        N_("Protocol (advanced)"),
        (
            OptionField("session_header", "text", N_("Session header"), "", N_("Also send the session id in this HTTP header; empty: none.")),  # noqa: E501
            OptionField("codec", "text", N_("Codec"), "json", N_("json, or package.module:Class of a codec plugin.")),  # noqa: E501
            OptionField("events", "bool", N_("Use change events"), False, N_("Long-poll the events request; a reported change triggers a new count at once.")),  # noqa: E501
            OptionField("events_wait_ms", "ms", N_("Events wait (ms)"), 10000, N_("How long the contact center may hold an events request.")),  # noqa: E501
            *(
                OptionField(f"paths.{op}", "text", op, default, N_("METHOD /path, relative to the SDK URL."))  # noqa: E501
                for op, default in DEFAULT_PATHS.items()
            ),
            *(
                OptionField(f"fields.{name}", "text", name, default, N_("Field name in the SDK's messages; answers may use a dotted path."))  # noqa: E501
                for name, default in DEFAULT_FIELDS.items()
            ),
        ),
        advanced=True,
        hint=N_("The SDK's request paths and field names are the simulator's until set here: replace them with your contact center's (docs/routing.md)."),  # noqa: E501
    ),
)  # fmt: skip
