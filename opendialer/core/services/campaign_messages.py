"""A campaign's recorded messages (``campaign_message``), one per ``kind``: its
safe-harbour message, played to a person the dialer abandons (over-dialing pacing,
docs/pacing.md), and its voicemail message, left on answering machines
(``on_machine: leave_message``, docs/amd.md "Voicemail drop").

Same rules as the campaign's settings: a Campaign Administrator of its group uploads,
replaces and deletes it while the campaign is STOPPED (the engine reads it when the
campaign starts); a Campaign Supervisor reads it and listens to it; another group's
campaign is a 404. An upload is converted and checked completely
(:mod:`.message_audio`) before anything is written, and replaced in one transaction:
a refused file leaves the old message as it was.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from opendialer.core.services import campaigns, message_audio
from opendialer.core.services.common import Actor
from opendialer.core.services.errors import Conflict, NotFound, ValidationFailed
from opendialer.core.storage.tables import CampaignMessage

SAFE_HARBOUR = "safe_harbour"
VOICEMAIL = "voicemail"
KINDS = (SAFE_HARBOUR, VOICEMAIL)
#: The code of a missing message, by kind.
NOT_FOUND = {"safe_harbour": "safe_harbour.not_found", "voicemail": "voicemail.not_found"}
#: Longest file name kept (the column's length).
MAX_FILENAME = 255
#: Columns of a message without its audio (lists never drag the bytes along).
_META = (
    CampaignMessage.campaign,
    CampaignMessage.kind,
    CampaignMessage.duration_ms,
    CampaignMessage.filename,
    CampaignMessage.uploaded_at,
)


def message_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": row["kind"],
        "filename": row["filename"],
        "duration_ms": row["duration_ms"],
        "uploaded_at": row["uploaded_at"],
        "encoding": "G.711 µ-law",
        "sample_rate": message_audio.SAMPLE_RATE,
    }


def clean_filename(raw: str | None) -> str:
    """The uploaded name without a path (a browser may send ``C:\\fakepath\\x.wav``),
    control characters, or more than the column holds."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return name[:MAX_FILENAME]


async def messages_of(campaign_ids: Iterable[int], kind: str = SAFE_HARBOUR) -> dict[int, Any]:
    """Campaign id → its message of ``kind`` (no audio), for the campaigns that have one.
    No permission check: callers pass campaigns the actor may see."""
    ids = sorted(set(campaign_ids))
    if not ids:
        return {}
    rows = (
        await CampaignMessage.select(*_META)
        .where(CampaignMessage.campaign.is_in(ids) & (CampaignMessage.kind == kind))
        .run()
    )
    return {row["campaign"]: message_json(row) for row in rows}


async def get_message(actor: Actor, campaign_id: int, kind: str = SAFE_HARBOUR) -> dict[str, Any]:
    await campaigns.load(actor, campaign_id)
    found = (await messages_of([campaign_id], kind)).get(campaign_id)
    if found is None:
        raise NotFound(NOT_FOUND[kind], id=campaign_id)
    return found


async def get_audio(actor: Actor, campaign_id: int, kind: str = SAFE_HARBOUR) -> bytes:
    """The stored µ-law bytes (404 when there is no message)."""
    await campaigns.load(actor, campaign_id)
    audio = await audio_of(campaign_id, kind)
    if audio is None:
        raise NotFound(NOT_FOUND[kind], id=campaign_id)
    return audio


async def audio_of(campaign_id: int, kind: str = SAFE_HARBOUR) -> bytes | None:
    """The message's µ-law bytes for the engine (no permission check), None without one."""
    row = (
        await CampaignMessage.select(CampaignMessage.audio)
        .where((CampaignMessage.campaign == campaign_id) & (CampaignMessage.kind == kind))
        .first()
        .run()
    )
    return bytes(row["audio"]) if row is not None else None


async def listen(actor: Actor, campaign_id: int, kind: str = SAFE_HARBOUR) -> bytes:
    """The message as a 16-bit PCM WAV (8 kHz mono) made from the stored µ-law."""
    ulaw = await get_audio(actor, campaign_id, kind)
    return await asyncio.to_thread(message_audio.wav_from_ulaw, ulaw)


async def convert_upload(data: bytes) -> message_audio.ConvertedAudio:
    """Decode, resample and check an upload off the event loop (ValidationFailed)."""
    return await asyncio.to_thread(message_audio.convert, data)


async def store(
    actor: Actor,
    campaign_id: int,
    audio: message_audio.ConvertedAudio,
    filename: str | None,
    kind: str = SAFE_HARBOUR,
) -> dict[str, Any]:
    """Store ``audio`` (already converted) as the campaign's message, replacing the old
    one in one transaction."""
    await campaigns.load_for_change(actor, campaign_id)
    async with campaigns.write_transaction():
        await (
            CampaignMessage.delete()
            .where((CampaignMessage.campaign == campaign_id) & (CampaignMessage.kind == kind))
            .run()
        )
        await insert(campaign_id, audio, filename, kind)
    return await get_message(actor, campaign_id, kind)


async def insert(
    campaign_id: int, audio: message_audio.ConvertedAudio, filename: str | None, kind: str
) -> None:
    """Write a message of a campaign that has none of ``kind``, inside the caller's
    transaction (``store`` replaces; a new campaign's first message comes with it)."""
    await CampaignMessage.insert(
        CampaignMessage(
            campaign=campaign_id,
            kind=kind,
            audio=audio.ulaw,
            duration_ms=audio.duration_ms,
            filename=clean_filename(filename),
            uploaded_at=datetime.now(UTC),
        )
    ).run()


async def upload(
    actor: Actor,
    campaign_id: int,
    data: bytes,
    filename: str | None,
    kind: str = SAFE_HARBOUR,
) -> dict[str, Any]:
    """Check who may change the campaign, convert the file, then store it."""
    await campaigns.load_for_change(actor, campaign_id)  # 403/404/409 before the work
    audio = await convert_upload(data)
    return await store(actor, campaign_id, audio, filename, kind)


async def delete_message(actor: Actor, campaign_id: int, kind: str = SAFE_HARBOUR) -> None:
    await campaigns.load_for_change(actor, campaign_id)
    deleted = (
        await CampaignMessage.delete()
        .where((CampaignMessage.campaign == campaign_id) & (CampaignMessage.kind == kind))
        .returning(CampaignMessage.campaign)
        .run()
    )
    if not deleted:
        raise NotFound(NOT_FOUND[kind], id=campaign_id)


async def check_leave_message(
    campaign_id: int | None, amd_params: Any, *, arriving: bool = False
) -> None:
    """Saving ``on_machine: leave_message`` needs the campaign's voicemail message:
    stored already, or ``arriving`` with the save (a new campaign's, from the form)."""
    from opendialer.core import amd_settings

    if not isinstance(amd_params, dict) or not amd_settings.leaves_message(amd_params):
        return
    if arriving:
        return
    if campaign_id is None or not await has_message(campaign_id, VOICEMAIL):
        raise ValidationFailed("amd.voicemail_missing", field="amd_params", key="on_machine")


async def require_voicemail(row: dict[str, Any]) -> None:
    """Start refuses a campaign that leaves messages and has none to leave."""
    from opendialer.core import amd_settings

    params = row.get("amd_params") or {}
    if isinstance(params, str):  # JSON text on some backends
        params = json.loads(params)
    if amd_settings.leaves_message(params) and not await has_message(row["id"], VOICEMAIL):
        raise Conflict(
            "campaign.voicemail_missing",
            error="voicemail_missing",
            field="voicemail_message",
            name=repr(row["name"]),
            id=row["id"],
        )


async def has_message(campaign_id: int, kind: str) -> bool:
    return bool(
        await CampaignMessage.exists()
        .where((CampaignMessage.campaign == campaign_id) & (CampaignMessage.kind == kind))
        .run()
    )


__all__ = [
    "KINDS",
    "SAFE_HARBOUR",
    "VOICEMAIL",
    "audio_of",
    "check_leave_message",
    "clean_filename",
    "convert_upload",
    "delete_message",
    "get_audio",
    "get_message",
    "has_message",
    "listen",
    "messages_of",
    "require_voicemail",
    "store",
    "upload",
]
