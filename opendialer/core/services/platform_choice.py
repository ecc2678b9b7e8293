"""Which communication platform the dialing engine uses: the ``engine.platform`` setting.

A new installation has none: its engine starts, holds every campaign with the reason
"no communication platform chosen", and begins dialing as soon as a Master picks one
in System → Communication platform (or ``PUT /api/v1/platform/choice``) — no restart,
no environment variable. The value is ``{"name": "sip" | "sim" | <plugin>, "options":
{...}}``; ``options`` are kept as they are (the simulator's knobs; the SIP platform
takes its configuration from ``platform.sip``, see ``platform_config.py``).

``OPENDIALER_PLATFORM`` still overrides the setting on the node where it is set (a
fixed platform for tests and scripted installs); :func:`get` says so, so the page
can tell a Master why a change would not apply there.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opendialer.core.plugins import get_plugin_manager
from opendialer.core.routing_defaults import platform_routing_target
from opendialer.core.services.common import Actor
from opendialer.core.services.errors import PermissionDenied, ValidationFailed
from opendialer.core.storage.tables import Setting

KEY = "engine.platform"
ENVIRONMENT = "OPENDIALER_PLATFORM"


@dataclass(frozen=True, slots=True)
class StoredChoice:
    """What the engine follows: the chosen name ("" for none), its options, and a
    stamp that changes with every save."""

    name: str
    options: dict[str, Any]
    stamp: str


def _require_master(actor: Actor) -> None:
    if not actor.is_master:
        raise PermissionDenied("platform.master_only")


def available() -> list[str]:
    """The platforms the installed plugins register, sorted."""
    return sorted(get_plugin_manager().factories("platforms"))


def environment_override() -> str:
    """``OPENDIALER_PLATFORM`` on this node ("" when unset)."""
    return os.environ.get(ENVIRONMENT, "").strip()


def _decode(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value or "{}")
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


async def load() -> StoredChoice:
    """The stored choice, for the engine (no permission check: the engine is no user)."""
    row = await Setting.select(Setting.value, Setting.updated_at).where(
        Setting.key == KEY
    ).first().run()  # fmt: skip
    if row is None:
        return StoredChoice("", {}, "")
    value = _decode(row["value"])
    options = value.get("options")
    return StoredChoice(
        name=str(value.get("name") or ""),
        options=dict(options) if isinstance(options, dict) else {},
        stamp=str(row["updated_at"] or ""),
    )


def _view(choice: StoredChoice) -> dict[str, Any]:
    override = environment_override()
    return {
        "name": choice.name or None,
        "available": available(),
        "environment": override or None,
        # What an engine started on this node runs: the variable wins over the setting.
        "effective": override or choice.name or None,
    }


async def own_routing_target() -> str | None:
    """The stored platform's own routing target (``default_routing_target``: the
    simulator's simulated center), which campaigns naming none dial while their type's
    default is not configured; None for a platform without one, or none chosen."""
    choice = await load()
    factory = get_plugin_manager().factories("platforms").get(choice.name) if choice.name else None
    return platform_routing_target(factory)


async def get(actor: Actor) -> dict[str, Any]:
    _require_master(actor)
    return _view(await load())


async def put(actor: Actor, name: Any) -> dict[str, Any]:
    """Choose the platform by name; the options stored with the previous choice are kept
    only when the name does not change."""
    _require_master(actor)
    names = available()
    if not isinstance(name, str) or name.strip() not in names:
        shown = name if isinstance(name, str) else type(name).__name__
        raise ValidationFailed(
            "platform.unknown", field="name", names=", ".join(names) or "none", value=shown
        )
    name = name.strip()
    current = await load()
    await store(name, current.options if current.name == name else {})
    return _view(await load())


async def store(name: str, options: dict[str, Any]) -> None:
    """Write the choice (no permission check: ``put`` and ``opendialer demo`` call it)."""
    value = {"name": name, "options": options}
    await Setting.insert(
        Setting(key=KEY, value=json.dumps(value), updated_at=datetime.now(UTC))
    ).on_conflict(
        target=Setting.key, action="DO UPDATE", values=[Setting.value, Setting.updated_at]
    ).run()  # fmt: skip
