"""``POST /donotcall`` — the embedded Do-Not-Call list as a web service.

The same JSON contract an external DNC service speaks (so one OpenDialer can
be another's ``http`` DNC service)::

    POST /donotcall  {"number": "554181021119"}
    200 {"number": "554181021119", "doNotCall": true}

A body that is not exactly one JSON object with a string ``number`` of E.164
digits gets ``400 {"error": ..., "detail": ...}`` saying what is wrong; an
unloaded list gets ``503`` (never a guess). Answers come from the in-memory
index of the built-in Embedded Service (see ``plugins/dnc_embedded``), which
reloads by itself when the list changes. Public, like the product guide's
service: it reveals one bit per number asked, and nothing else.
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Litestar, Request, Response, post

from opendialer.admin_ui.json_nesting import nesting_error, too_deep
from opendialer.core import dnc
from opendialer.core.services import dnc_numbers
from opendialer.core.services.dnc_csv import normalise_e164
from opendialer.core.services.errors import ServiceError
from opendialer.sdk.contracts import DncProvider, DncUnavailable

MAX_BODY_BYTES = 1024
STATE_KEY = "donotcall_provider"


def _bad_request(error: str, detail: str) -> Response[Any]:
    return Response(content={"error": error, "detail": detail}, status_code=400)


async def _embedded_provider(app: Litestar) -> DncProvider:
    provider = app.state.get(STATE_KEY)
    if provider is None:
        try:
            service = await dnc_numbers.find_service()
        except ServiceError as exc:
            raise DncUnavailable(exc.detail) from None
        provider = await dnc.provider_for(service)
        app.state[STATE_KEY] = provider
    return provider  # type: ignore[no-any-return]


def _number_of(raw: bytes) -> str | Response[Any]:
    if len(raw) > MAX_BODY_BYTES:
        return _bad_request("malformed_body", f"body larger than {MAX_BODY_BYTES} bytes")
    if too_deep(raw):
        return _bad_request("malformed_body", f"body is not JSON: {nesting_error()}")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return _bad_request("malformed_body", f"body is not JSON: {exc}")
    if not isinstance(body, dict):
        return _bad_request("malformed_body", 'body must be a JSON object: {"number": "..."}')
    if set(body) != {"number"}:
        extra = sorted(set(body) - {"number"})
        detail = f"unknown field(s): {', '.join(extra)}" if extra else "field 'number' is missing"
        return _bad_request("malformed_body", f'{detail}; send exactly {{"number": "..."}}')
    number = body["number"]
    if not isinstance(number, str):
        return _bad_request(
            "invalid_number", 'number must be a JSON string of digits, e.g. "554181021119"'
        )
    return number


@post(
    "/donotcall", status_code=200, opt={"public": True}, summary="Is this number on the DNC list?"
)
async def donotcall(request: Request[Any, Any, Any]) -> Response[Any]:
    """Answer whether ``number`` (E.164 digits) is on the embedded Do-Not-Call list."""
    number = _number_of(await request.body())
    if isinstance(number, Response):
        return number
    try:
        normalise_e164(number)
    except ValueError as exc:
        return _bad_request("invalid_number", f"{number!r}: {exc}")
    try:
        provider = await _embedded_provider(request.app)
        verdict = await provider.check(number)
    except DncUnavailable as exc:
        return Response(content={"error": "unavailable", "detail": str(exc)}, status_code=503)
    return Response(content={"number": number, "doNotCall": verdict.do_not_call}, status_code=200)


#: Route handlers to mount at the application root.
DONOTCALL_ROUTES = [donotcall]
