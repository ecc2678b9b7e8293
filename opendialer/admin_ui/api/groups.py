"""``/api/v1/groups``: dialer groups. Masters create and edit them; Managers enable or
disable the groups they manage; everyone sees the groups they belong to. Groups are
never deleted: ``DELETE`` answers 405 with the reason (disable the group instead)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from opendialer.admin_ui.api.common import ObjectId, changes
from opendialer.core.services import groups
from opendialer.core.services.common import Actor, PageRequest

Name = Annotated[str, msgspec.Meta(max_length=100)]
Description = Annotated[str, msgspec.Meta(max_length=2000)]


class Group(msgspec.Struct):
    id: int
    name: str
    description: str
    enabled: bool


class GroupPage(msgspec.Struct):
    items: list[Group]
    total: int
    page: int
    per_page: int


class GroupCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    description: Description = ""
    enabled: bool = True


class GroupUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class GroupController(Controller):
    path = "/groups"
    tags = ["groups"]

    @get("/", summary="List groups (Master: all; others: their own)")
    async def list_groups(
        self, actor: NamedDependency[Actor], page_request: NamedDependency[PageRequest]
    ) -> GroupPage:
        return msgspec.convert(await groups.list_groups(actor, page_request), GroupPage)

    @post("/", summary="Create a group (Master)")
    async def create_group(
        self, actor: NamedDependency[Actor], data: JSONBody[GroupCreate]
    ) -> Group:
        return msgspec.convert(await groups.create_group(actor, changes(data)), Group)

    @get("/{group_id:int}", summary="Get a group")
    async def get_group(self, actor: NamedDependency[Actor], group_id: ObjectId) -> Group:
        return msgspec.convert(await groups.get_group(actor, group_id), Group)

    @patch("/{group_id:int}", summary="Change a group (Master) or enable/disable it (Manager)")
    async def update_group(
        self, actor: NamedDependency[Actor], group_id: ObjectId, data: JSONBody[GroupUpdate]
    ) -> Group:
        return msgspec.convert(await groups.update_group(actor, group_id, changes(data)), Group)

    @delete(
        "/{group_id:int}",
        status_code=204,
        summary="Groups are never deleted: always 405 (disable the group instead)",
    )
    async def delete_group(self, actor: NamedDependency[Actor], group_id: ObjectId) -> None:
        groups.delete_group(actor, group_id)


ROUTES: list[Any] = [GroupController]
