"""Spool an uploaded CSV to a temporary file as it arrives — never whole in memory.

Two ways to send it: the raw body (``Content-Type: text/csv``), or a
``multipart/form-data`` form whose first file field (or field ``file``) holds it.
The multipart body is parsed incrementally (python-multipart's streaming parser);
disk writes go through a worker thread in 1 MiB slices.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

from litestar import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from opendialer.core.services.errors import ServiceError, ValidationFailed

FLUSH_BYTES = 1 << 20
RAW_TYPES = {"text/csv", "application/csv", "text/plain", "application/octet-stream"}


class UnsupportedUpload(ServiceError):
    status = 415
    error = "unsupported_media_type"


class _Spool:
    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.buffer = bytearray()
        self.size = 0

    async def add(self, data: bytes) -> None:
        self.buffer += data
        self.size += len(data)
        if len(self.buffer) >= FLUSH_BYTES:
            await self.flush()

    async def flush(self) -> None:
        if self.buffer:
            chunk, self.buffer = bytes(self.buffer), bytearray()
            await asyncio.to_thread(self.stream.write, chunk)


async def _multipart_into(body: AsyncIterator[bytes], boundary: bytes, spool: _Spool) -> bool:
    """Copy the file part of a multipart body into ``spool``; False if there is none."""
    state: dict[str, Any] = {"field": b"", "value": b"", "headers": {}, "take": False}
    found = {"file": False, "done": False}
    pending: list[bytes] = []

    def on_part_begin() -> None:
        state["headers"] = {}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["field"].lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        _, params = parse_options_header(state["headers"].get(b"content-disposition", b""))
        is_file = b"filename" in params or params.get(b"name") == b"file"
        state["take"] = is_file and not found["file"]
        if state["take"]:
            found["file"] = True

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["take"]:
            pending.append(data[start:end])

    def on_part_end() -> None:
        state["take"] = False

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in body:
            parser.write(chunk)
            for piece in pending:
                await spool.add(piece)
            pending.clear()
        parser.finalize()
    except ValueError as exc:  # python-multipart's parse errors
        raise ValidationFailed(
            "upload.multipart_malformed", field="file", reason=str(exc)
        ) from None
    for piece in pending:
        await spool.add(piece)
    return found["file"]


async def spool_csv(request: Request[Any, Any, Any]) -> Path:
    """The uploaded CSV in a temporary file (the caller deletes it)."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    kind = content_type.decode("latin-1").lower()
    multipart = kind == "multipart/form-data"
    if not multipart and kind not in RAW_TYPES:
        raise UnsupportedUpload("lead_file.unsupported_upload", kind=kind or "no Content-Type")
    fd, name = await asyncio.to_thread(tempfile.mkstemp, prefix="opendialer-leads-", suffix=".csv")
    path = Path(name)
    stream = os.fdopen(fd, "wb")
    try:
        spool = _Spool(stream)
        if multipart:
            boundary = params.get(b"boundary")
            if not boundary:
                raise ValidationFailed("upload.no_boundary", field="file")
            if not await _multipart_into(request.stream(), boundary, spool):
                raise ValidationFailed("upload.no_file", field="file")
        else:
            async for chunk in request.stream():
                await spool.add(chunk)
        await spool.flush()
    except BaseException:
        await asyncio.to_thread(stream.close)
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
    await asyncio.to_thread(stream.close)
    return path
