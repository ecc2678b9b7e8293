"""The SIP communication platform (issue 6): dialer ports on OpenScape Voice or any
RFC 3261 PBX/SBC. See ``docs/sip.md``.

Signalling: aiosipua's message model, digest and SDP; our own transport framing
(``framing.py``), transaction timers (RFC 3261 A/B/D/E/F/K, ``transactions.py``)
and dialogs (``dialog.py``). What is malformed or matches no transaction or dialog
is refused, counted by reason and logged once per peer and minute (``refusals.py``);
whether the server is up is decided from unanswered requests to it and the OPTIONS
probe, with hysteresis (``health.py``). Media: one asyncio RTP socket per call, G.711 decoded
with numpy lookup tables in batches; over-dialed calls wait for an agent or play the
safe-harbour message (``agent_wait.py``). The plugin owns its options (``options.py``),
its port leases (``leases.py``) and its doctor check (``diagnosis.py``), and imports
only :mod:`opendialer.sdk`.
"""

from __future__ import annotations

from typing import Any

from opendialer.plugins.platform_sip.platform import SipPlatform
from opendialer.sdk import hookimpl


@hookimpl
def register_platforms() -> dict[str, Any]:
    return {"sip": SipPlatform}


__all__ = ["SipPlatform", "register_platforms"]
