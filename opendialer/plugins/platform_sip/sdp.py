"""SDP of a call (RFC 4566/3264): our offer, the far end's media, NOTIFY sipfrag codes.

Our offer lists PCMU, PCMA and telephone-event, 20 ms; from the far end's SDP
only the RTP address, the first G.711 payload type and the direction matter
(hold = ``sendonly``/``inactive`` or the old ``c=0.0.0.0``).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiosipua import parse_sdp


def offer_sdp(
    host: str, rtp_port: int, session: int, version: int, direction: str = "sendrecv"
) -> str:
    return (
        "v=0\r\n"
        f"o=opendialer {session} {version} IN IP4 {host}\r\n"
        "s=OpenDialer\r\n"
        f"c=IN IP4 {host}\r\n"
        "t=0 0\r\n"
        f"m=audio {rtp_port} RTP/AVP 0 8 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-15\r\n"
        "a=ptime:20\r\n"
        f"a={direction}\r\n"
    )


DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
#: The direction we answer to the far end's offered one (RFC 3264 §6.1).
ANSWER_DIRECTION = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}


@dataclass(frozen=True, slots=True)
class RemoteMedia:
    """The far end's audio from its SDP: where to send, which codec, whether it listens."""

    address: tuple[str, int]
    payload_type: int
    direction: str = "sendrecv"

    @property
    def receives(self) -> bool:
        """False on hold (``sendonly``/``inactive``, or the old ``c=0.0.0.0`` form)."""
        return self.direction in ("sendrecv", "recvonly") and self.address[0] != "0.0.0.0"


def answer_media(body: str) -> RemoteMedia | None:
    """The far end's RTP address, G.711 payload type and direction from its SDP, or None."""
    try:
        sdp = parse_sdp(body)
    except Exception:
        return None
    address = sdp.rtp_address
    audio = sdp.audio
    if address is None or audio is None or address[1] == 0:
        return None
    direction = next((d for d in DIRECTIONS if d in audio.attributes), None) or next(
        (d for d in DIRECTIONS if d in sdp.attributes), "sendrecv"
    )
    for fmt in audio.formats:
        if fmt in ("0", "8"):
            return RemoteMedia(address, int(fmt), direction)
    return None


def sipfrag_code(body: str) -> int | None:
    """``SIP/2.0 200 OK`` → 200."""
    first = body.strip().split("\r\n", 1)[0].split("\n", 1)[0].split()
    if len(first) >= 2 and first[0].upper().startswith("SIP/") and first[1].isdigit():
        return int(first[1])
    return None
