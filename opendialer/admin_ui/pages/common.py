"""Helpers every page controller uses: forms, redirects after success, errors."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from litestar.response.base import ASGIResponse
from litestar.types import Receive, Scope, Send

from opendialer.admin_ui.i18n import N_, Translator, translate_error, translator
from opendialer.admin_ui.pages.session import (
    FLASH_COOKIE,
    UI,
    LoginRequired,
    anonymous_language,
    login_url,
    session_actor,
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


#: Paths machines read (JSON, files, the DNC web service): an unknown one there stays
#: a JSON error whatever the client accepts.
MACHINE_PATHS = ("/api/", "/schema", "/static/", "/metrics", "/healthz", "/donotcall")


def wants_page(request: Request[Any, Any, Any]) -> bool:
    """A browser asking for a page (a link, a typed address, an htmx swap), not an
    API client."""
    if request.url.path.startswith(MACHINE_PATHS):
        return False
    return is_htmx(request) or "text/html" in request.headers.get("accept", "")


class _ErrorPageForViewer(ASGIResponse):
    """Looks the session up, then sends :func:`http_error_handler`'s page."""

    def __init__(self, request: Request[Any, Any, Any], exc: HTTPException) -> None:
        super().__init__(body=b"", status_code=exc.status_code)
        self._request = request
        self._exc = exc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        actor = await session_actor(self._request)
        if actor is not None:
            self._request.state.language = actor.language
        page = http_error_handler(self._request, self._exc)
        await page.to_asgi_response(None, self._request)(scope, receive, send)


class UnroutedPageError(Response[None]):
    """The error page of a browser's request that no page handler took (an address
    that does not exist, a method the page does not accept), in the viewer's language.

    The router refuses such a request before any dependency has resolved the session,
    and the app's exception handlers are synchronous: the session is looked up when
    the response is sent."""

    def __init__(self, exc: HTTPException) -> None:
        super().__init__(content=None, status_code=exc.status_code)
        self._exc = exc

    def to_asgi_response(  # type: ignore[override]
        self, app: Any, request: Request[Any, Any, Any], **kwargs: Any
    ) -> ASGIResponse:
        return _ErrorPageForViewer(request, self._exc)


PAGE_EXCEPTION_HANDLERS: dict[Any, Any] = {
    LoginRequired: login_required_handler,
    ServiceError: service_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
