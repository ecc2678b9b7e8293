"""Security headers on every response — a ``before_send`` hook, so error answers and
404s of unknown paths get them too (``after_request`` hooks do not see those).

The Content-Security-Policy allows no inline script or style: the HTML admin
loads its JavaScript and CSS from files. So does the interactive API page under
``/schema`` (Swagger UI from the app's own files, ``api/schema_pages.py``): every
answer gets the one strict policy.
"""

from __future__ import annotations

from litestar.types import Message, Scope

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
COMMON_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
CSP = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())
HSTS = (b"strict-transport-security", b"max-age=31536000")
NO_STORE = (b"cache-control", b"no-store")


def _extra_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    path: str = scope.get("path", "")
    extra = [*COMMON_HEADERS, CSP]
    if scope.get("scheme") == "https":
        extra.append(HSTS)
    if path.startswith("/api/"):
        # Answers carry personal data and tokens: never keep them in a cache.
        extra.append(NO_STORE)
    return extra


def add_security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or [])
    present = {bytes(name).lower() for name, _ in headers}
    headers.extend(h for h in _extra_headers(scope) if h[0] not in present)
    message["headers"] = headers
