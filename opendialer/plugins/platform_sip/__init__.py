"""The SIP communication platform (issue 6): dialer ports on OpenScape Voice or any
RFC 3261 PBX/SBC. See ``docs/sip.md``.

Signalling: aiosipua's message model, digest and SDP; our own transport,
transaction timers (RFC 3261 A/B/D/E/F/K) and dialogs. Media: one asyncio RTP
socket per call, G.711 decoded with numpy lookup tables in batches.
"""

from __future__ import annotations

from typing import Any

from opendialer.core.hookspecs import hookimpl
from opendialer.plugins.platform_sip.platform import SipPlatform


@hookimpl
def register_platforms() -> dict[str, Any]:
    return {"sip": SipPlatform}


__all__ = ["SipPlatform", "register_platforms"]
