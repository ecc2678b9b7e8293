"""A bound on how deeply a JSON request body may nest, checked before it is parsed.

msgspec (Litestar's parser) and the standard ``json`` module recurse once per level:
``'[' * 100000`` raises ``RecursionError`` (measured: msgspec 0.23 at 998 levels,
``json`` at 995, with Python's default recursion limit of 1,000; fewer when the stack
is already deep) — a 500 and a traceback per request on any route, log-in included.
No body of this API nests deeper than a handful of levels (DNC service ``options``
are the deepest), so a body nesting deeper than
``MAX_JSON_DEPTH`` is refused like any unparseable body: 400 ``bad_request``,
``request body is not valid JSON: …`` (``admin_ui/errors.py``).

The check costs nothing for ordinary bodies (fewer brackets than the limit); others
lose their strings (a regex), keep their brackets (``bytes.translate``) and have
their running depth summed by numpy, so even a 10 MB body of brackets is checked
without a Python loop per byte.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import numpy as np
from litestar import Request
from litestar.exceptions import ClientException

MAX_JSON_DEPTH = 64
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``body`` (JSON text, valid or not) opens more than ``limit`` arrays or
    objects inside one another. Brackets inside strings do not count."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if len(brackets) <= limit:
        return False
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return bool(np.cumsum(steps, dtype=np.int64).max() > limit)


def nesting_error(limit: int = MAX_JSON_DEPTH) -> str:
    return f"arrays and objects nest more than {limit} levels deep"


async def refuse_deep_json(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook of the app: a JSON body nesting too deep is a 400 before
    the route's parser sees it. Only routes that take a parsed ``data`` body are
    checked; upload routes stream their bodies and forms are not JSON."""
    handler = request.route_handler
    if "data" not in handler.parsed_fn_signature.parameters:
        return
    if request.headers.get("content-type", "").lower().startswith(_FORM_TYPES):
        return
    if too_deep(await request.body()):
        detail = nesting_error()
        raise ClientException(detail=detail) from msgspec.DecodeError(detail)
