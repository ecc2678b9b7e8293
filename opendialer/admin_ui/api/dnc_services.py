"""``/api/v1/dnc-services``: the Do-Not-Call services campaigns check numbers against.
Rules (who may, the built-in Embedded Service, services in use) live in
``core/services/dnc_services.py``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from opendialer.admin_ui.api.common import ObjectId, changes
from opendialer.core.services import dnc_services
from opendialer.core.services.common import Actor, PageRequest

Name = Annotated[str, msgspec.Meta(max_length=100)]
Url = Annotated[str, msgspec.Meta(max_length=500)]
TimeoutMs = Annotated[int, msgspec.Meta(ge=50, le=60_000)]
CaBundle = Annotated[str, msgspec.Meta(max_length=dnc_services.MAX_CA_BUNDLE)]


class DncServiceOut(msgspec.Struct):
    """Credentials are write-only: a password in ``url`` reads as ``***``
    (``has_url_password``), sensitive ``options.headers`` values read blank (their names
    in ``secret_headers``). Send them back unchanged to keep them."""

    id: int
    name: str
    kind: str
    url: str | None
    has_url_password: bool
    ca_bundle: str | None
    timeout_ms: int
    insecure: bool
    options: dict[str, Any]
    secret_headers: list[str]
    builtin: bool
    list_version: int
    created_at: datetime
    updated_at: datetime


class DncServicePage(msgspec.Struct):
    items: list[DncServiceOut]
    total: int
    page: int
    per_page: int


class DncServiceCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``kind``: ``embedded`` (a list imported into the dialer), ``http`` (an external
    JSON service at ``url``), or a kind a plugin registers."""

    name: Name
    kind: str
    url: Url | None = None
    ca_bundle: CaBundle | None = None
    timeout_ms: TimeoutMs = 2000
    insecure: bool = False
    options: dict[str, Any] = {}


class DncServiceUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    kind: str | msgspec.UnsetType = msgspec.UNSET
    url: Url | msgspec.UnsetType | None = msgspec.UNSET
    ca_bundle: CaBundle | msgspec.UnsetType | None = msgspec.UNSET
    timeout_ms: TimeoutMs | msgspec.UnsetType = msgspec.UNSET
    insecure: bool | msgspec.UnsetType = msgspec.UNSET
    options: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET


def _out(body: dict[str, Any]) -> DncServiceOut:
    return msgspec.convert(body, DncServiceOut)


class DncServiceController(Controller):
    path = "/dnc-services"
    tags = ["dnc-services"]

    @get("/", summary="List DNC services (Master, Campaign Administrator, Supervisor)")
    async def list_services(
        self, actor: NamedDependency[Actor], page_request: NamedDependency[PageRequest]
    ) -> DncServicePage:
        return msgspec.convert(
            await dnc_services.list_services(actor, page_request), DncServicePage
        )

    @post("/", summary="Create a DNC service (Master, Campaign Administrator)")
    async def create_service(
        self, actor: NamedDependency[Actor], data: JSONBody[DncServiceCreate]
    ) -> DncServiceOut:
        return _out(await dnc_services.create_service(actor, changes(data)))

    @get("/{service_id:int}", summary="Get a DNC service")
    async def get_service(
        self, actor: NamedDependency[Actor], service_id: ObjectId
    ) -> DncServiceOut:
        return _out(await dnc_services.get_service(actor, service_id))

    @patch("/{service_id:int}", summary="Change a DNC service (not the Embedded Service: 409)")
    async def update_service(
        self, actor: NamedDependency[Actor], service_id: ObjectId, data: JSONBody[DncServiceUpdate]
    ) -> DncServiceOut:
        return _out(await dnc_services.update_service(actor, service_id, changes(data)))

    @delete(
        "/{service_id:int}",
        status_code=204,
        summary="Delete a DNC service (409 for the Embedded Service or one in use)",
    )
    async def delete_service(self, actor: NamedDependency[Actor], service_id: ObjectId) -> None:
        await dnc_services.delete_service(actor, service_id)


ROUTES: list[Any] = [DncServiceController]
