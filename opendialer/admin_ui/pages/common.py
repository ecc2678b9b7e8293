"""Helpers every page controller uses: forms, redirects after success, errors."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template

from opendialer.admin_ui.i18n import N_, Translator, translate_error, translator
from opendialer.admin_ui.pages.session import (
    FLASH_COOKIE,
    UI,
    LoginRequired,
    anonymous_language,
    login_url,
)
from opendialer.core.services.errors import ServiceError, field_errors

log = logging.getLogger(__name__)


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def int_list(form: Any, name: str) -> list[int]:
    out: list[int] = []
    for raw in form.getall(name, []):
        if isinstance(raw, str) and raw.strip().isdigit():
            out.append(int(raw))
    return out


def errors_of(
    exc: ServiceError, t: Translator, fields: Iterable[str] | None = None
) -> dict[str, str]:
    """``{field: message}`` for a form: EVERY error the service found (``FieldErrors``),
    each in the user's language, to show next to its field. Errors without a field go
    to ``_form``, and so do those on a field the form does not show when ``fields``
    names the form's fields (nothing is dropped)."""
    shown = None if fields is None else set(fields)
    errors: dict[str, str] = {}
    for error in field_errors(exc):
        field = error.field
        key = field if field and (shown is None or field in shown) else "_form"
        message = translate_error(error, t)
        if key not in errors:
            errors[key] = message
        elif key == "_form" and message not in errors[key]:
            errors[key] = f"{errors[key]} {message}"
    return errors


def done(request: Request[Any, Any, Any], location: str, flash: str = "") -> Response[Any]:
    """After a successful change: the browser goes to ``location`` and shows ``flash`` once."""
    cookies = [Cookie(key=FLASH_COOKIE, value=flash, path="/", max_age=60, httponly=True)]
    if is_htmx(request):
        return Response(
            content="", status_code=200, headers={"HX-Redirect": location}, cookies=cookies
        )
    return Redirect(location, status_code=303, cookies=cookies)


def _error_page(
    request: Request[Any, Any, Any], t: Translator, status: int, message: str
) -> Response[Any]:
    titles = {
        403: N_("Not allowed"),
        404: N_("Not found"),
        409: N_("Not possible now"),
    }
    ui = UI(request, None, t)
    title = t.gettext(titles.get(status, N_("Something went wrong")))
    template: Template = ui.render("error.html", status_code=status, title=title, message=message)
    if is_htmx(request):
        # htmx does not swap 4xx bodies: show the message in the modal area instead.
        return Template(
            "partials/error_modal.html",
            context={**template.context, "title": title, "message": message},
            status_code=200,
            headers={"HX-Retarget": "#modal-root", "HX-Reswap": "innerHTML"},
        )
    return template


def login_required_handler(request: Request[Any, Any, Any], exc: LoginRequired) -> Response[Any]:
    target = login_url(request)
    if is_htmx(request):
        return Response(content="", status_code=200, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


def request_translator(request: Request[Any, Any, Any]) -> Translator:
    """The viewer's language as the session dependency found it (exception handlers
    are synchronous: they cannot look the session up again)."""
    language = getattr(request.state, "language", None) or anonymous_language(request)
    return translator(language)


def service_error_handler(request: Request[Any, Any, Any], exc: ServiceError) -> Response[Any]:
    t = request_translator(request)
    return _error_page(request, t, exc.status, translate_error(exc, t))


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    t = request_translator(request)
    status = exc.status_code
    message = {
        404: t.gettext("This page does not exist."),
        405: t.gettext("This page does not accept this request."),
    }.get(status, t.gettext("The request could not be handled."))
    if status >= 500:
        log.error("page_error path=%s status=%s detail=%s", request.url.path, status, exc.detail)
    return _error_page(request, t, status, message)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("page_internal_error path=%s", request.url.path)
    t = request_translator(request)
    return _error_page(request, t, 500, t.gettext("Internal error: see the server log."))


PAGE_EXCEPTION_HANDLERS: dict[Any, Any] = {
    LoginRequired: login_required_handler,
    ServiceError: service_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
