"""Errors a person can act on. The web layer maps each class to one HTTP status;
the CLI prints ``detail``. Never raise a bare exception for bad input."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


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


def field_errors(exc: ServiceError) -> list[tuple[str | None, str]]:
    """Every ``(field, detail)`` that ``exc`` reports: the list a :class:`FieldErrors`
    collected (``extra["errors"]``), or the error itself. Lists of another shape
    under ``errors`` (the per-line report of a lead upload) are not field errors."""
    listed = exc.extra.get("errors")
    if (
        isinstance(listed, list)
        and listed
        and all(isinstance(item, dict) and isinstance(item.get("detail"), str) for item in listed)
    ):
        return [(item.get("field"), item["detail"]) for item in listed]
    return [(exc.field, exc.detail)]


class FieldErrors:
    """Collects the :class:`ValidationFailed` of every field, so that a person who
    made four mistakes learns all four at once.

    ``check`` runs one field's validation and keeps its error instead of raising;
    ``raise_if_any`` then raises ONE ValidationFailed whose ``detail``/``field`` are the
    first error's (the API contract of a single error is unchanged) and whose body also
    lists them all: ``errors: [{"field", "detail"}, ...]``. Only validation is
    collected: a 403 or a 404 still stops at once, and a 409 (a name taken, a started
    campaign) is checked after the input is known to be valid.
    """

    def __init__(self) -> None:
        self.found: list[ValidationFailed] = []

    def __bool__(self) -> bool:
        return bool(self.found)

    def add(self, exc: ValidationFailed) -> None:
        pairs = field_errors(exc)
        if len(pairs) == 1:
            self.found.append(exc)
            return
        self.found.extend(ValidationFailed(detail, field=field) for field, detail in pairs)

    def check(self, validate: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T | None:
        """``validate(*args, **kwargs)``, or None after keeping its ValidationFailed."""
        try:
            return validate(*args, **kwargs)
        except ValidationFailed as exc:
            self.add(exc)
            return None

    async def check_async(
        self, validate: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T | None:
        try:
            return await validate(*args, **kwargs)
        except ValidationFailed as exc:
            self.add(exc)
            return None

    def raise_if_any(self) -> None:
        if not self.found:
            return
        first = self.found[0]
        listed = [{"field": exc.field, "detail": exc.detail} for exc in self.found]
        first.extra = {**first.extra, "errors": listed}
        raise first


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
