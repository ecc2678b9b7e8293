"""Pieces every API module uses: id path parameters, pagination, body → service dict.

* ``ObjectId`` — annotate an id path parameter with it (``user_id: ObjectId``): the
  OpenAPI schema says "integer 1..2³¹−1" and larger numbers are a 422, never a
  database overflow.
* ``page_request: NamedDependency[PageRequest]`` — declare it in a list handler; the
  API router provides it from ``?page=&per_page=`` (documented in the schema).
* ``changes(body)`` — the fields a client actually sent in a msgspec body whose
  optional fields default to ``msgspec.UNSET`` (PATCH semantics), as the plain dict
  the services validate.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar.params import PathParameter, QueryParameter

from opendialer.core.services.common import DEFAULT_PER_PAGE, MAX_PER_PAGE, PageRequest

#: Ids are SERIAL (32-bit) columns on PostgreSQL.
MAX_ID = 2**31 - 1
MAX_PAGE = 2**31 - 1

ObjectId = Annotated[int, PathParameter(ge=1, le=MAX_ID, description="object id")]
#: An id inside a JSON body (e.g. ``group_ids``).
BodyId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]


def provide_page_request(
    page: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="page number, from 1")] = 1,
    per_page: Annotated[
        int, QueryParameter(ge=1, le=MAX_PER_PAGE, description="items per page")
    ] = DEFAULT_PER_PAGE,
) -> PageRequest:
    return PageRequest(page=page, per_page=per_page)


def changes(body: msgspec.Struct) -> dict[str, Any]:
    """The fields present in ``body`` (UNSET ones dropped), enums as their values."""
    out: dict[str, Any] = {}
    for name, value in msgspec.structs.asdict(body).items():
        if value is msgspec.UNSET:
            continue
        out[name] = msgspec.to_builtins(value)
    return out
