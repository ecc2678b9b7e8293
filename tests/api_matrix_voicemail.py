"""Permission-matrix rows of a campaign's voicemail message (voicemail drop): as for the
safe-harbour message, Campaign Administrators change the message of their groups'
campaigns, Campaign Supervisors read and play it, Masters and Managers have no access to
campaigns (403), another group's campaign is a 404."""

from __future__ import annotations

from typing import Any

from api_matrix import Raw, Row, World
from api_matrix_campaigns import READ, _write, campaign_target
from safe_harbour_audio import tone_wav

from opendialer.core.services import campaign_messages, message_audio
from opendialer.core.services.common import SYSTEM

PATH = "/api/v1/campaigns/{campaign_id}/voicemail-message"
WAV = tone_wav(2.0)


async def voicemail_target(world: World, role: str, scope: str) -> dict[str, Any]:
    """A fresh STOPPED campaign in the scope's group, with a voicemail message."""
    params = await campaign_target(world, role, scope)
    audio = message_audio.convert(WAV)
    await campaign_messages.store(
        SYSTEM, params["campaign_id"], audio, "voicemail.wav", kind=campaign_messages.VOICEMAIL
    )
    return params


ROWS: list[Row] = [
    Row("GET", PATH, READ, target=voicemail_target),
    Row("GET", PATH + "/audio", READ, target=voicemail_target),
    Row(
        "PUT",
        PATH,
        _write(200),
        target=campaign_target,
        body=lambda w, role, scope, params: Raw(WAV, "audio/wav"),
    ),
    Row("DELETE", PATH, _write(204), target=voicemail_target),
]
