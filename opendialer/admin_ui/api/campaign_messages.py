"""``/api/v1/campaigns/{id}/safe-harbour-message``: the recording played to a person the
dialer abandons (over-dialing pacing); ``/api/v1/campaigns/{id}/voicemail-message``: the
one left on answering machines (``amd_params.on_machine: leave_message``). Both the same:

``PUT`` takes a WAV or MP3 (the raw body, ``Content-Type: audio/wav`` or ``audio/mpeg``,
or the ``file`` field of a multipart form), converts it to 8 kHz mono G.711 µ-law and
replaces the campaign's message; a refused file (``safe_harbour.*`` codes) leaves the
old one. ``GET .../audio`` plays it back as a 16-bit WAV. Campaign Administrators of the
campaign's group change it (the campaign STOPPED); Campaign Supervisors read it.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from python_multipart.multipart import parse_options_header

from opendialer.admin_ui.api.campaign_pacing import SafeHarbourMessage
from opendialer.admin_ui.api.common import ObjectId
from opendialer.admin_ui.api.csv_upload import UnsupportedUpload
from opendialer.admin_ui.api.openapi_docs import AudioUploadOperation
from opendialer.core.services import campaign_messages, campaigns, message_audio
from opendialer.core.services.campaign_messages import SAFE_HARBOUR, VOICEMAIL
from opendialer.core.services.common import Actor
from opendialer.core.services.errors import ValidationFailed

#: Content types of a raw audio body (browsers and tools disagree on WAV's name).
AUDIO_TYPES = {
    "audio/wav",
    "audio/x-wav",
    "audio/wave",
    "audio/vnd.wave",
    "audio/mpeg",
    "audio/mp3",
    "application/octet-stream",
}
#: A multipart form around the largest recording.
MAX_BODY_BYTES = message_audio.MAX_UPLOAD_BYTES + 64 * 1024


async def read_upload(request: Request[Any, Any, Any]) -> tuple[bytes, str]:
    """The uploaded recording's bytes and its file name (raw body or multipart)."""
    content_type, _ = parse_options_header(request.headers.get("content-type", ""))
    kind = content_type.decode("latin-1").lower()
    if kind == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            upload = next((v for v in form.values() if isinstance(v, UploadFile)), None)
        if upload is None:
            raise ValidationFailed("safe_harbour.no_file", field="file")
        return await upload.read(), upload.filename or ""
    if kind not in AUDIO_TYPES:
        raise UnsupportedUpload("safe_harbour.unsupported_upload", kind=kind or "no Content-Type")
    return await request.body(), ""


def message_controller(kind: str, slug: str, what: str, plays: str, use: str) -> type[Controller]:
    """The four routes of one kind of campaign message at ``/campaigns/{id}/{slug}``: both
    kinds keep the same rules and refusal codes (``safe_harbour.*`` for a refused file;
    ``safe_harbour.not_found`` / ``voicemail.not_found``)."""

    class MessageController(Controller):
        path = f"/campaigns/{{campaign_id:int}}/{slug}"
        tags = ["campaigns"]

        @get("/", summary=f"The campaign's {what} (file name, length)")
        async def get_message(
            self, actor: NamedDependency[Actor], campaign_id: ObjectId
        ) -> SafeHarbourMessage:
            found = await campaign_messages.get_message(actor, campaign_id, kind)
            return msgspec.convert(found, SafeHarbourMessage)

        @get(
            "/audio",
            summary=f"Listen to the {what} (a 16-bit 8 kHz WAV of what {plays})",
            media_type="audio/wav",
        )
        async def get_audio(
            self, actor: NamedDependency[Actor], campaign_id: ObjectId
        ) -> Response[bytes]:
            wav = await campaign_messages.listen(actor, campaign_id, kind)
            name = slug.removesuffix("-message")
            return Response(
                content=wav,
                media_type="audio/wav",
                headers={"Content-Disposition": f'inline; filename="{name}-{campaign_id}.wav"'},
            )

        @put(
            "/",
            operation_class=AudioUploadOperation,
            request_max_body_size=MAX_BODY_BYTES,
            summary=f"Upload (or replace) the {what}: WAV or MP3, 1-30 s",
            description=(
                f"{use}Converted on upload to 8 kHz mono G.711 µ-law. Refused with 422 and a "
                "safe_harbour.* code (nothing changes): an empty file, neither WAV nor MP3, "
                "damaged, shorter than 1 s or longer than 30 s, silent. The campaign must be "
                "STOPPED."
            ),
        )
        async def put_message(
            self,
            request: Request[Any, Any, Any],
            actor: NamedDependency[Actor],
            campaign_id: ObjectId,
            filename: Annotated[
                str | None,
                QueryParameter(
                    description="the file's name to show (raw bodies; a form sends its own)",
                    max_length=255,
                ),
            ] = None,
        ) -> SafeHarbourMessage:
            await campaigns.load_for_change(actor, campaign_id)  # 403/404/409 before the upload
            data, sent_name = await read_upload(request)
            stored = await campaign_messages.upload(
                actor, campaign_id, data, sent_name or filename, kind
            )
            return msgspec.convert(stored, SafeHarbourMessage)

        @delete("/", status_code=204, summary=f"Delete the {what}")
        async def delete_message(
            self, actor: NamedDependency[Actor], campaign_id: ObjectId
        ) -> None:
            await campaign_messages.delete_message(actor, campaign_id, kind)

    MessageController.__name__ = MessageController.__qualname__ = f"{kind.title()}MessageController"
    return MessageController


ROUTES: list[Any] = [
    message_controller(
        SAFE_HARBOUR, "safe-harbour-message", "safe-harbour message", "calls hear", ""
    ),
    message_controller(
        VOICEMAIL,
        "voicemail-message",
        "voicemail message",
        "machines record",
        "Left on answering machines when amd_params.on_machine is leave_message "
        "(docs/amd.md, Voicemail drop). ",
    ),
]
