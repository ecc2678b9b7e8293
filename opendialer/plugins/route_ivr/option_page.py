"""How the ``ivr`` routing target's options are edited: its System page's fields.

The admin renders System → IVR from these (``admin_ui/pages/routing.py`` knows no
target by name); labels, help and hints are message ids the admin translates.
(Apart from ``route_ivr.py``, which is long enough already.)
"""

from __future__ import annotations

from opendialer.sdk import OptionField, OptionSection


def N_(message: str) -> str:
    """Mark ``message`` for extraction (``babel.cfg``); the admin translates it."""
    return message


#: The page's title (System → IVR) and the title of its Diagnostics line.
LABEL = N_("IVR")

OPTION_SECTIONS: tuple[OptionSection, ...] = (
    OptionSection(
        N_("Channels"),
        (
            OptionField("channels", "int", N_("IVR channels"), None, N_("How many calls the dialer may have on the IVR at once: launched calls and transferred calls still up."), required=True),  # noqa: E501
            OptionField("hold_timeout_ms", "ms", N_("Transferred call hold (ms)"), 600000, N_("A transferred call is taken as ended after this: set it to the longest usual IVR session.")),  # noqa: E501
            OptionField("reservation_timeout_ms", "ms", N_("Launched call hold (ms)"), 120000, N_("A launched call stops holding its channel after this, even without an answer.")),  # noqa: E501
        ),
    ),
    OptionSection(
        N_("Status URL (optional)"),
        (
            OptionField("status_url", "url", N_("Status URL"), None, N_("An http(s) URL answering JSON with the IVR's free channels; it corrects the dialer's own count.")),  # noqa: E501
            OptionField("status_field", "text", N_("Field of the answer"), "freeChannels", N_("Name (or dotted path) of the free-channel count in that answer.")),  # noqa: E501
            OptionField("status_authoritative", "bool", N_("The status URL is the truth"), False, N_("When it fails or is late, dial nothing (instead of trusting the dialer's own count).")),  # noqa: E501
            OptionField("status_poll_ms", "ms", N_("Read every (ms)"), 2000, N_("How often the status URL is read.")),  # noqa: E501
            OptionField("status_timeout_ms", "ms", N_("Status timeout (ms)"), 1000, N_("How long one read may take.")),  # noqa: E501
            OptionField("status_stale_after_ms", "ms", N_("Status stale after (ms)"), 10000, N_("An answer older than this is not used.")),  # noqa: E501
            OptionField("ca_bundle", "text", N_("CA file (PEM)"), None, N_("Path on the dialer's server of the CA of an https status URL; empty: the system's CAs.")),  # noqa: E501
        ),
    ),
)  # fmt: skip
