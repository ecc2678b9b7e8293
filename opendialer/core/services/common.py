"""Pieces every service uses: the acting user, pagination, JSON-safe values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from opendialer.core.domain import Role
from opendialer.core.services.errors import ValidationFailed

MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 10


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is asking. Every service call that a person makes carries one.

    ``group_ids`` are the groups the user belongs to (campaign roles) or
    manages (managers); ``enabled_group_ids`` the subset that is enabled.
    """

    user_id: int
    username: str
    role: Role
    group_ids: frozenset[int] = field(default_factory=frozenset)
    enabled_group_ids: frozenset[int] = field(default_factory=frozenset)
    language: str = "en"

    @property
    def is_master(self) -> bool:
        return self.role is Role.MASTER


#: The identity the CLI and the engine act as: unrestricted, like a Master.
SYSTEM = Actor(user_id=0, username="system", role=Role.MASTER)


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    def __post_init__(self) -> None:
        if not isinstance(self.page, int) or self.page < 1:
            raise ValidationFailed("page.invalid", field="page")
        if not isinstance(self.per_page, int) or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise ValidationFailed("page.per_page_invalid", field="per_page", n=MAX_PER_PAGE)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def page_body(items: list[dict[str, Any]], total: int, page: PageRequest) -> dict[str, Any]:
    return {"items": items, "total": total, "page": page.page, "per_page": page.per_page}


def jsonable(value: Any) -> Any:
    """Dates and times as ISO 8601 strings; everything else unchanged."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def require_str(
    data: dict[str, Any], name: str, *, max_length: int, required: bool = True, default: str = ""
) -> str:
    """A trimmed string field, or a ValidationFailed naming the field."""
    raw = data.get(name)
    if raw is None:
        if required:
            raise ValidationFailed("field.required", field=name, name=name)
        return default
    if not isinstance(raw, str):
        raise ValidationFailed("field.not_text", field=name, name=name)
    value = raw.strip()
    if "\x00" in value:
        # PostgreSQL cannot store NUL in text; no one types it on purpose.
        raise ValidationFailed("field.nul", field=name, name=name)
    if required and not value:
        raise ValidationFailed("field.empty", field=name, name=name)
    if len(value) > max_length:
        raise ValidationFailed("field.too_long", field=name, name=name, n=max_length)
    return value


def require_bool(data: dict[str, Any], name: str, default: bool) -> bool:
    raw = data.get(name, default)
    if not isinstance(raw, bool):
        raise ValidationFailed("field.not_bool", field=name, name=name)
    return raw


def reject_unknown(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed(
            "field.unknown",
            field=unknown[0],
            fields=", ".join(unknown),
            allowed=", ".join(sorted(allowed)),
        )
