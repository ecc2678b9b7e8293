"""``POST /api/v1/dnc-services/{id}/numbers``: import a Do-Not-Call list (CSV).

The list comes as the raw body (``Content-Type: text/csv``) or as a multipart
file field; it is spooled to a temporary file as it arrives and imported by
``core/services/dnc_numbers.py``: one number per line, optional header,
normalised like leads (``?region=BR``), all-or-nothing unless
``?skip_invalid=true``, appended unless ``?replace=true``. Every node answers
from the new list within seconds (see ``docs/dnc.md``).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from opendialer.admin_ui.api.common import ObjectId
from opendialer.admin_ui.api.csv_upload import spool_csv
from opendialer.admin_ui.api.openapi_docs import CsvUploadOperation
from opendialer.core.services import dnc_numbers
from opendialer.core.services.common import Actor

#: Largest upload accepted (10 million numbers are ~130 MB of text).
MAX_UPLOAD_BYTES = 2 * 1024**3


class InvalidLine(msgspec.Struct):
    line: int
    text: str
    reason: str
    code: str
    params: dict[str, Any]


class NumbersImport(msgspec.Struct):
    service_id: int
    service_name: str
    mode: str
    lines: int
    numbers_in_file: int
    added: int
    on_list: int
    list_version: int
    invalid_count: int
    invalid: list[InvalidLine]


class DncNumbersController(Controller):
    path = "/dnc-services/{service_id:int}/numbers"
    tags = ["dnc-services"]

    @post(
        "/",
        operation_class=CsvUploadOperation,
        request_max_body_size=MAX_UPLOAD_BYTES,
        summary="Import Do-Not-Call numbers (text/csv body or multipart file field 'file')",
        description=(
            "One number per line (optional header; a line's first CSV column counts). "
            "All-or-nothing: any invalid line → 422 with the lines; skip_invalid=true imports "
            "the valid ones and reports the rest. replace=true swaps the whole list atomically."
        ),
    )
    async def import_numbers(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        service_id: ObjectId,
        replace: Annotated[bool, QueryParameter(description="replace the list")] = False,
        skip_invalid: Annotated[
            bool, QueryParameter(description="import the valid lines, report the rest")
        ] = False,
        region: Annotated[
            str | None,
            QueryParameter(description="region of national numbers (default: service's, else BR)"),
        ] = None,
        number_format: Annotated[
            Literal["phone", "e164"],
            QueryParameter(name="format", description="phone (like leads) or e164 (digits only)"),
        ] = "phone",
    ) -> NumbersImport:
        # 403/404/422 before the upload is read
        await dnc_numbers.service_for_import(actor, service_id=service_id)
        path = await spool_csv(request)
        try:
            report = await dnc_numbers.import_numbers(
                actor,
                path,
                service_id=service_id,
                replace=replace,
                region=region,
                number_format=number_format,
                skip_invalid=skip_invalid,
            )
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        return msgspec.convert(report.as_dict(), NumbersImport)


ROUTES: list[Any] = [DncNumbersController]
