"""Every error leaves as JSON ``{"error", "detail", ["field" | "line"]}`` with its status,
except a browser's request for a page that no page handler took (an unknown address, a
wrong method): that one gets the HTML error page in the viewer's language."""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException

from opendialer.admin_ui.pages.common import UnroutedPageError, wants_page
from opendialer.core.services.errors import ServiceError, TooManyAttempts

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_attempts",
}


def service_error(request: Request[Any, Any, Any], exc: ServiceError) -> Response[Any]:
    headers = {}
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after_s)
    return Response(content=exc.as_dict(), status_code=exc.status, headers=headers)


#: msgspec's messages about the body as a whole, which name the field in backquotes.
_BODY_FIELD = re.compile(r"(missing required|contains unknown) field `([^`]+)`")


def _field_error(key: str | None, message: str) -> tuple[str | None, str]:
    """(field, detail) from one of Litestar's validation messages."""
    match = _BODY_FIELD.search(message)
    if match and key in (None, "", "data"):
        name = match.group(2)
        if match.group(1) == "missing required":
            return name, f"{name} is required"
        return name, f"unknown field {name!r}: remove it (see the API schema at /schema)"
    if key == "data":
        return None, f"request body: {message}"
    return key or None, f"{key or 'body'}: {message}"


def validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    body: dict[str, Any] = {"error": "validation_failed", "detail": str(exc.detail)}
    extra = exc.extra
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        first = extra[0]
        field, detail = _field_error(first.get("key"), str(first.get("message") or exc.detail))
        body["detail"] = detail
        if field:
            body["field"] = field
    # Litestar says 400 for a body it cannot parse; our contract says 422 for bad input.
    return Response(content=body, status_code=422)


def _unparseable_body(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, SerializationException | msgspec.DecodeError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if wants_page(request):
        return UnroutedPageError(exc)
    status = exc.status_code
    detail = str(exc.detail)
    if status == 400 and _unparseable_body(exc):
        # msgspec alone says e.g. "Input data was truncated": say it is about the body
        detail = f"request body is not valid JSON: {detail}"
    return Response(
        content={"error": HTTP_CODES.get(status, "error"), "detail": detail},
        status_code=status,
        headers=exc.headers or None,
    )


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled_error path=%s", request.url.path)
    return Response(
        content={"error": "internal_error", "detail": "internal error; see the server log"},
        status_code=500,
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ServiceError: service_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: internal_error,
}
