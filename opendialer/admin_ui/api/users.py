"""``/api/v1/users``: dialer users. Who may do what is decided in ``core/services/users.py``:
Masters manage everyone and alone reset passwords; Managers manage the Campaign
Administrators and Supervisors of the groups they manage; other roles get 403."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from opendialer.admin_ui.api.common import BodyId, ObjectId, changes
from opendialer.core.domain import Role
from opendialer.core.services import users
from opendialer.core.services.common import Actor, PageRequest

Name = Annotated[str, msgspec.Meta(max_length=100)]
Username = Annotated[str, msgspec.Meta(max_length=64)]
Password = Annotated[str, msgspec.Meta(max_length=256)]


class User(msgspec.Struct):
    id: int
    username: str
    first_name: str
    last_name: str
    role: Role
    language: str
    group_ids: list[int]


class UserPage(msgspec.Struct):
    items: list[User]
    total: int
    page: int
    per_page: int


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    password: Password
    role: Role
    first_name: Name = ""
    last_name: Name = ""
    group_ids: list[BodyId] = []
    language: str = "en"


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change. ``group_ids`` replaces the memberships (a Manager's
    edit replaces only the groups it manages; the user's other groups stay)."""

    username: Username | msgspec.UnsetType = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET
    first_name: Name | msgspec.UnsetType = msgspec.UNSET
    last_name: Name | msgspec.UnsetType = msgspec.UNSET
    group_ids: list[BodyId] | msgspec.UnsetType = msgspec.UNSET
    language: str | msgspec.UnsetType = msgspec.UNSET


class PasswordReset(msgspec.Struct, forbid_unknown_fields=True):
    password: Password


def _user(body: dict[str, Any]) -> User:
    return msgspec.convert(body, User)


class UserController(Controller):
    path = "/users"
    tags = ["users"]

    @get("/", summary="List users (Master: all; Manager: its groups' users)")
    async def list_users(
        self, actor: NamedDependency[Actor], page_request: NamedDependency[PageRequest]
    ) -> UserPage:
        return msgspec.convert(await users.list_users(actor, page_request), UserPage)

    @post("/", summary="Create a user")
    async def create_user(self, actor: NamedDependency[Actor], data: JSONBody[UserCreate]) -> User:
        return _user(await users.create_user(actor, changes(data)))

    @get("/{user_id:int}", summary="Get a user")
    async def get_user(self, actor: NamedDependency[Actor], user_id: ObjectId) -> User:
        return _user(await users.get_user(actor, user_id))

    @patch("/{user_id:int}", summary="Change a user")
    async def update_user(
        self, actor: NamedDependency[Actor], user_id: ObjectId, data: JSONBody[UserUpdate]
    ) -> User:
        return _user(await users.update_user(actor, user_id, changes(data)))

    @delete("/{user_id:int}", status_code=204, summary="Delete a user")
    async def delete_user(self, actor: NamedDependency[Actor], user_id: ObjectId) -> None:
        await users.delete_user(actor, user_id)

    @post("/{user_id:int}/password", status_code=204, summary="Reset a password (Master only)")
    async def reset_password(
        self, actor: NamedDependency[Actor], user_id: ObjectId, data: JSONBody[PasswordReset]
    ) -> None:
        await users.reset_password(actor, user_id, data.password)


ROUTES: list[Any] = [UserController]
