"""Routing-target options: one ``setting`` row per target, key ``routing.<name>``.

A campaign picks its target by type (OSCC → ``oscc``, IVR → ``ivr``) and brings
its own queue and pilot number; how the dialer reaches the contact center or
the IVR (URL, TLS trust, credentials, timeouts, channel count) is set once here,
by a Master, and shared by every campaign of that type::

    routing.oscc  {"base_url": "https://oscc:9443/rest", "ca_bundle": "...", "username": ...}
    routing.ivr   {"channels": 30, "status_url": null}

Options are checked by the target's own ``validate_options`` (or by building
the target without starting it) before they are stored, so a typo is refused
with the option's name. Secrets (``password``, ``*secret*``, ``*token*``) leave
this module masked; writing the mask back keeps the stored value.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from opendialer.core.plugins import get_plugin_manager
from opendialer.core.services.common import Actor, jsonable
from opendialer.core.services.errors import NotFound, PermissionDenied, ValidationFailed
from opendialer.core.storage.tables import Setting

PREFIX = "routing."
MASK = "********"


def _is_secret(option: str) -> bool:
    name = option.lower()
    return "password" in name or "secret" in name or "token" in name


def _masked(options: dict[str, Any]) -> dict[str, Any]:
    return {k: (MASK if _is_secret(k) and v else v) for k, v in options.items()}


def _require_master(actor: Actor) -> None:
    if not actor.is_master:
        raise PermissionDenied("only a Master may see or change routing settings")


def _factory(target: str) -> Any:
    factories = get_plugin_manager().factories("routing_targets")
    if target not in factories:
        raise NotFound(
            f"no routing target {target!r}; installed: {', '.join(sorted(factories)) or 'none'}",
            field="target",
        )
    return factories[target]


def _decode(value: Any) -> dict[str, Any]:
    loaded = json.loads(value) if isinstance(value, str) else value
    return loaded if isinstance(loaded, dict) else {}


async def _stored(target: str) -> dict[str, Any] | None:
    row = await Setting.select(Setting.value, Setting.updated_at).where(
        Setting.key == PREFIX + target
    ).first().run()  # fmt: skip
    return (
        None if row is None else {"options": _decode(row["value"]), "updated_at": row["updated_at"]}
    )


def validate(target: str, options: Any) -> dict[str, Any]:
    """The options as they will be stored, or ValidationFailed naming the bad option."""
    factory = _factory(target)
    if not isinstance(options, dict):
        raise ValidationFailed("options must be a JSON object", field="options")
    try:
        check = getattr(factory, "validate_options", None)
        if callable(check):
            return dict(check(options))
        factory(options=options, context=None)  # built, never started: nothing connects
        return dict(options)
    except ValueError as exc:
        option = getattr(exc, "option", None)
        raise ValidationFailed(
            str(exc), field=f"options.{option}" if option else "options"
        ) from None


async def load_options(target: str) -> dict[str, Any] | None:
    """The stored options, secrets included — for the engine, never for display."""
    stored = await _stored(target)
    return None if stored is None else stored["options"]


async def load_all_options() -> dict[str, dict[str, Any]]:
    """``{target: options}`` of every configured target, secrets included — what the
    engine's ``routing_options`` takes."""
    rows = await Setting.select(Setting.key, Setting.value).where(
        Setting.key.like(PREFIX + "%")
    ).run()  # fmt: skip
    return {r["key"][len(PREFIX) :]: _decode(r["value"]) for r in rows}


async def get(actor: Actor, target: str) -> dict[str, Any]:
    _require_master(actor)
    _factory(target)
    stored = await _stored(target)
    if stored is None:
        raise NotFound(f"routing target {target!r} is not configured", field="target")
    return _view(target, stored["options"], stored["updated_at"])


async def list_all(actor: Actor) -> list[dict[str, Any]]:
    _require_master(actor)
    rows = await Setting.select(Setting.key, Setting.value, Setting.updated_at).where(
        Setting.key.like(PREFIX + "%")
    ).order_by(Setting.key).run()  # fmt: skip
    return [_view(r["key"][len(PREFIX) :], _decode(r["value"]), r["updated_at"]) for r in rows]


async def put(actor: Actor, target: str, options: Any) -> dict[str, Any]:
    """Check and store ``target``'s options (replacing them whole); Master only."""
    _require_master(actor)
    if isinstance(options, dict):
        previous = (await load_options(target)) or {}
        options = dict(options)
        for key, value in options.items():
            if _is_secret(key) and value == MASK:
                if key not in previous:
                    raise ValidationFailed(
                        f"{key}: give the value itself; nothing is stored to keep",
                        field=f"options.{key}",
                    )
                options[key] = previous[key]
    checked = validate(target, options)
    now = datetime.now(UTC)
    await Setting.insert(
        Setting(key=PREFIX + target, value=json.dumps(checked), updated_at=now)
    ).on_conflict(
        target=Setting.key, action="DO UPDATE", values=[Setting.value, Setting.updated_at]
    ).run()  # fmt: skip
    return _view(target, checked, now)


async def delete(actor: Actor, target: str) -> None:
    _require_master(actor)
    if await _stored(target) is None:
        raise NotFound(f"routing target {target!r} is not configured", field="target")
    await Setting.delete().where(Setting.key == PREFIX + target).run()


def _view(target: str, options: dict[str, Any], updated_at: Any) -> dict[str, Any]:
    return {"target": target, "options": _masked(options), "updated_at": jsonable(updated_at)}
