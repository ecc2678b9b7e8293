"""What the generated OpenAPI cannot infer: the error body every route can answer,
the CSV request bodies of the two upload routes and the audio body of the
safe-harbour message (their handlers read the raw request, so Litestar sees no body
parameter).

``document_error_responses(app)`` runs once when the app is built: it adds the
error statuses each API operation can really answer, all with the one error
body of the contract, to every handler under ``/api/v1``. It only sets handler
attributes; the schema itself is still generated lazily on the first
``/schema`` request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema


class ErrorBody(msgspec.Struct, omit_defaults=True):
    """Every error of the API: its kind (``error``), the precise dotted ``code`` of its
    message (docs/errors.md lists them; absent when the request itself could not be
    read), a sentence a person can act on, and where the problem is (a body/query
    field, or a line of an uploaded file).
    A 422 from a service's field validation also lists EVERY field in error under
    ``errors`` as ``{"field", "code", "detail"}`` items (the first is
    ``detail``/``field``/``code``); a lead upload's 422 lists its rejected lines there
    instead (``line``, ``field``, ``reason``, ``code``)."""

    error: str
    detail: str
    code: str | None = None
    field: str | None = None
    line: int | None = None
    errors: list[dict[str, Any]] | None = None


_DESCRIPTIONS = {
    400: "Malformed request (unparseable body or parameters)",
    401: "Not authenticated: log in, or send `Authorization: Bearer <token>`",
    403: "Authenticated, but this role or group may not do this",
    404: "Unknown object, or one outside the caller's groups",
    409: "Conflicts with the current state (e.g. a STARTED campaign, a name taken)",
    413: "Upload larger than the server accepts",
    415: "Unsupported Content-Type for this upload",
    422: "Invalid input; `field` or `line` says where",
    429: "Too many failed log-ins; retry after the `Retry-After` seconds",
}

_UPLOAD_PATH_MARKERS = ("/leads", "/numbers", "/safe-harbour-message", "/voicemail-message")
_UPLOADING = {"POST", "PUT"}
_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def _spec(status: int) -> ResponseSpec:
    return ResponseSpec(
        data_container=ErrorBody, description=_DESCRIPTIONS[status], generate_examples=False
    )


def error_statuses(path: str, methods: set[str], *, public: bool) -> list[int]:
    """The error statuses an API operation can answer (documented, not guessed: the
    auth layer, the path ids, the service rules and the validation layer)."""
    statuses = [400, 422]
    if not public:
        statuses += [401, 403]
    if "{" in path:
        statuses.append(404)
    if methods & _CHANGING and not public:
        statuses.append(409)
    if public and "POST" in methods:
        statuses.append(429)  # log-in and token issue are throttled
    if is_csv_upload(path, methods):
        statuses += [413, 415]
    return sorted(statuses)


def is_csv_upload(path: str, methods: set[str]) -> bool:
    """An upload route (CSV, or the audio of a message): it can answer 413 and 415."""
    return bool(methods & _UPLOADING) and path.rstrip("/").endswith(_UPLOAD_PATH_MARKERS)


def document_error_responses(app: Litestar, prefix: str) -> None:
    for route in app.routes:
        if not route.path.startswith(prefix):
            continue
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler) or handler.http_methods == {"OPTIONS"}:
                continue
            statuses = error_statuses(
                route.path, set(handler.http_methods), public=bool(handler.opt.get("public"))
            )
            documented: dict[int, ResponseSpec] = {status: _spec(status) for status in statuses}
            documented.update(handler.responses or {})
            handler.responses = documented


_CSV_EXAMPLE = "name,phone\nMaria Silva,+55 41 98102-1119\n"


def _csv_request_body() -> RequestBody:
    return RequestBody(
        required=True,
        description=(
            "The CSV file: the raw body (`Content-Type: text/csv`), or the `file` "
            "field of a `multipart/form-data` form. UTF-8 (with or without BOM)."
        ),
        content={
            "text/csv": OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, examples=[_CSV_EXAMPLE])
            ),
            "multipart/form-data": OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.OBJECT,
                    required=["file"],
                    properties={
                        "file": Schema(type=OpenAPIType.STRING, content_media_type="text/csv")
                    },
                )
            ),
        },
    )


@dataclass
class CsvUploadOperation(Operation):
    """The operation of a CSV upload route: the body is CSV text, sent raw or as the
    ``file`` field of a multipart form, streamed to disk as it arrives. (Litestar
    builds operations with ``request_body=None`` for handlers that read the raw
    request, so it is filled in after construction.)"""

    def __post_init__(self) -> None:
        if self.request_body is None:
            self.request_body = _csv_request_body()


def _audio_request_body() -> RequestBody:
    audio = Schema(type=OpenAPIType.STRING, content_media_type="application/octet-stream")
    return RequestBody(
        required=True,
        description=(
            "The recording, WAV or MP3 (1-30 s, at most 25 MB): the raw body "
            "(`Content-Type: audio/wav` or `audio/mpeg`), or the `file` field of a "
            "`multipart/form-data` form. It is stored as 8 kHz mono G.711 µ-law."
        ),
        content={
            "audio/wav": OpenAPIMediaType(schema=audio),
            "audio/mpeg": OpenAPIMediaType(schema=audio),
            "multipart/form-data": OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.OBJECT,
                    required=["file"],
                    properties={"file": audio},
                )
            ),
        },
    )


@dataclass
class AudioUploadOperation(Operation):
    """The operation of an audio upload route (a campaign's safe-harbour message)."""

    def __post_init__(self) -> None:
        if self.request_body is None:
            self.request_body = _audio_request_body()
