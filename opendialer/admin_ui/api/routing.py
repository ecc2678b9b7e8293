"""``/api/v1/routing``: the options of the routing targets (``oscc``: the contact
center; ``ivr``: the IVR channels) that every campaign of that type shares.

Rules (Master only, each target checks its own options and names the bad one,
write-only secrets: ``has_<name>`` instead of the value, left out / blank /
``"********"`` keeps, ``null`` clears) live in ``core/services/routing_config.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from opendialer.core.services import routing_config
from opendialer.core.services.common import Actor

Target = Annotated[
    str, Parameter(description="Routing target name, e.g. `oscc` or `ivr`", max_length=32)
]


class RoutingOut(msgspec.Struct):
    """A target's options: secrets never, ``has_<secret>`` instead."""

    target: str
    configured: bool
    options: dict[str, Any]
    updated_at: datetime | None


class RoutingIn(msgspec.Struct, forbid_unknown_fields=True):
    """The target's options, replacing the stored ones whole — except secrets: leave one
    out (or blank, or ``"********"``) to keep it, give ``null`` to clear it. The other
    fields of a GET body are accepted and ignored, so it can be PUT back."""

    options: dict[str, Any]
    target: str | None = None
    configured: bool | None = None
    updated_at: datetime | None = None


class ConnectionTest(msgspec.Struct):
    """Whether the target came up with these options, in the target's own words."""

    ok: bool
    detail: str


def _out(view: dict[str, Any]) -> RoutingOut:
    return msgspec.convert(view, RoutingOut, strict=False)


class RoutingController(Controller):
    path = "/routing"
    tags = ["routing"]

    @get("/", summary="Every routing target, configured or not (Master; no secrets)")
    async def list_targets(self, actor: NamedDependency[Actor]) -> list[RoutingOut]:
        return [_out(v) for v in await routing_config.list_all(actor)]

    @get("/{target:str}", summary="A routing target's options (Master; no secrets)")
    async def get_target(self, actor: NamedDependency[Actor], target: Target) -> RoutingOut:
        return _out(await routing_config.get(actor, target))

    @put(
        "/{target:str}",
        summary="Check and store a routing target's options (Master; 422 names the option)",
    )
    async def put_target(
        self, actor: NamedDependency[Actor], target: Target, data: JSONBody[RoutingIn]
    ) -> RoutingOut:
        return _out(await routing_config.put(actor, target, data.options))

    @post(
        "/{target:str}/test",
        status_code=200,
        summary="Try options without storing them: build, start and close the target (Master)",
    )
    async def test_target(
        self, actor: NamedDependency[Actor], target: Target, data: JSONBody[RoutingIn]
    ) -> ConnectionTest:
        result = await routing_config.test_connection(actor, target, data.options)
        return msgspec.convert(result, ConnectionTest)

    @delete(
        "/{target:str}",
        status_code=204,
        summary="Forget a routing target's options (Master; its campaigns then wait)",
    )
    async def delete_target(self, actor: NamedDependency[Actor], target: Target) -> None:
        await routing_config.delete(actor, target)


ROUTES: list[Any] = [RoutingController]
