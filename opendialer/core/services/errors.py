"""Errors a person can act on. The web layer maps each class to one HTTP status;
the CLI prints ``detail``. Never raise a bare exception for bad input."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        line: int | None = None,
        code: str | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.line = line
        if code:
            self.code = code
        self.extra = extra or {}

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.code, "detail": self.detail}
        if self.field is not None:
            body["field"] = self.field
        if self.line is not None:
            body["line"] = self.line
        body.update(self.extra)
        return body


class ValidationFailed(ServiceError):
    status = 422
    code = "validation_failed"


class NotAuthenticated(ServiceError):
    status = 401
    code = "not_authenticated"


class PermissionDenied(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class MethodNotAllowed(ServiceError):
    status = 405
    code = "method_not_allowed"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class TooManyAttempts(ServiceError):
    status = 429
    code = "too_many_attempts"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s
