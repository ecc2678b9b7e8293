"""Errors a person can act on. The web layer maps each class to one HTTP status;
the CLI prints ``detail``. Never raise a bare exception for bad input.

Every error is raised by its code, with the values its message shows as keyword
parameters: ``ValidationFailed("user.name_taken", field="username", name=name)``.
The code is stable and machine-readable (the API returns it as ``code``); the
English ``detail`` is rendered from :data:`~opendialer.core.services.error_messages.MESSAGES`,
and the web pages show the code's message in the viewer's language. Nothing ever
recognises an error by its English text.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, Self, TypeVar

from opendialer.core.services.error_messages import MESSAGES

P = ParamSpec("P")
T = TypeVar("T")


class ServiceError(Exception):
    """``status`` is the HTTP status; ``error`` the API's coarse kind (a class's default,
    or a more precise one a caller gives, e.g. ``campaign_started``); ``code`` the
    precise dotted code of the message, with ``params`` its values."""

    status = 400
    error = "bad_request"

    def __init__(
        self,
        code: str,
        /,
        *,
        field: str | None = None,
        line: int | None = None,
        error: str | None = None,
        extra: dict[str, object] | None = None,
        **params: Any,
    ) -> None:
        if code not in MESSAGES:
            raise KeyError(
                f"unknown error code {code!r}: add it to core/services/error_messages.py"
            )
        self.code = code
        self.params = params
        self.detail = render(code, params)
        _check_page_params(code, params)
        super().__init__(self.detail)
        self.field = field
        self.line = line
        if error:
            self.error = error
        self.extra = extra or {}
        #: Every error a :class:`FieldErrors` collected (this one first), or empty.
        self.listed: list[ServiceError] = []

    @classmethod
    def from_value(cls, problem: InvalidValue, *, field: str | None = None) -> Self:
        """The error of a field whose value a helper refused with ``problem``."""
        return cls(problem.code, field=field, **problem.params)

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.error, "code": self.code, "detail": self.detail}
        if self.field is not None:
            body["field"] = self.field
        if self.line is not None:
            body["line"] = self.line
        body.update(self.extra)
        if self.listed:
            body["errors"] = [
                {"field": exc.field, "code": exc.code, "detail": exc.detail} for exc in self.listed
            ]
        return body


class InvalidValue(ValueError):
    """A value a helper refuses (a phone number, an AMD setting, a list's region), by code.

    Helpers raise it where a service would not know the field; the service raises it as a
    field's error (:meth:`ServiceError.from_value`), names it as the ``problem`` parameter
    of its own code, or keeps it as the reason of one line of a file. ``str()`` is the
    English detail."""

    def __init__(self, code: str, /, **params: Any) -> None:
        if code not in MESSAGES:
            raise KeyError(
                f"unknown error code {code!r}: add it to core/services/error_messages.py"
            )
        self.code = code
        self.params = params
        super().__init__(render(code, params))


def problem_params(problem: ValueError) -> dict[str, Any]:
    """The parameters that carry ``problem`` inside another code's message: its English
    text as ``problem`` (for ``detail``) and, when it is an :class:`InvalidValue`, its
    code as ``problem_code`` and its values (a message whose ``text`` is None is shown as
    the problem's text; a plugin's plain ValueError is shown as its English text)."""
    if isinstance(problem, InvalidValue):
        return {**problem.params, "problem": str(problem), "problem_code": problem.code}
    return {"problem": str(problem)}


_PLACEHOLDER = re.compile(r"%\((\w+)\)[sr]")


def _check_page_params(code: str, params: dict[str, Any]) -> None:
    """The page's sentence may name values the detail does not: refuse an error that
    lacks one where it is raised, not when a page shows it."""
    entry = MESSAGES[code]
    text = entry.text
    if text is None:
        inner = params.get("problem_code")
        shown = MESSAGES.get(inner) if isinstance(inner, str) else None
        text = shown.text if shown is not None and shown.text is not None else entry.fallback
    missing = set(_PLACEHOLDER.findall(text or "")) - params.keys()
    if missing:
        raise KeyError(f"error code {code!r} needs the parameter(s) {sorted(missing)}")


def render(code: str, params: dict[str, Any]) -> str:
    """The English detail of ``code`` filled with ``params``."""
    template = MESSAGES[code].detail
    return template % params if params else template


class ValidationFailed(ServiceError):
    status = 422
    error = "validation_failed"


def field_errors(exc: ServiceError) -> list[ServiceError]:
    """Every error ``exc`` reports: the list a :class:`FieldErrors` collected, or the
    error itself."""
    return list(exc.listed) or [exc]


class FieldErrors:
    """Collects the :class:`ValidationFailed` of every field, so that a person who
    made four mistakes learns all four at once.

    ``check`` runs one field's validation and keeps its error instead of raising;
    ``raise_if_any`` then raises ONE ValidationFailed whose ``detail``/``field``/``code``
    are the first error's (the API contract of a single error is unchanged) and whose body
    also lists them all: ``errors: [{"field", "code", "detail"}, ...]``. Only validation is
    collected: a 403 or a 404 still stops at once, and a 409 (a name taken, a started
    campaign) is checked after the input is known to be valid.
    """

    def __init__(self) -> None:
        self.found: list[ServiceError] = []

    def __bool__(self) -> bool:
        return bool(self.found)

    def add(self, exc: ServiceError) -> None:
        self.found.extend(field_errors(exc))

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
        first.listed = list(self.found)
        raise first


class NotAuthenticated(ServiceError):
    status = 401
    error = "not_authenticated"


class PermissionDenied(ServiceError):
    status = 403
    error = "forbidden"


class NotFound(ServiceError):
    status = 404
    error = "not_found"


class MethodNotAllowed(ServiceError):
    status = 405
    error = "method_not_allowed"


class Conflict(ServiceError):
    status = 409
    error = "conflict"


class TooManyAttempts(ServiceError):
    status = 429
    error = "too_many_attempts"

    def __init__(self, code: str, /, *, retry_after_s: int, **params: Any) -> None:
        super().__init__(code, **params)
        self.retry_after_s = retry_after_s
