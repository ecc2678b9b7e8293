"""The options of the platform a Master edits: one ``setting`` row, key ``platform.<name>``.

``GET/PUT /api/v1/platform`` and System → Communication platform read and write
them through this service. What the options are — fields, defaults, checks and
every message — is the platform plugin's (:class:`~opendialer.sdk.options.EditsOptions`;
the SIP platform's: ``plugins/platform_sip/options.py``); this module only stores
them, versions them and enforces who may:

- only a Master reads or writes;
- a write stores the whole configuration (PUT semantics) as the plugin's
  ``validate_options`` returns it, given the stored one as ``previous`` (a
  write-only secret left out is kept); the plugin's coded refusals become one
  ``ValidationFailed`` naming the first field, its ``errors`` listing all;
- reads return the plugin's ``shown_options`` (secrets replaced) with
  ``revision`` (bumped by every write), ``updated_at`` and ``configured``;
- a running platform polls :func:`load_platform_config` (see :func:`config_source`)
  and applies changes without a restart.

"The platform" is the installed platform plugin that edits its options (with the
built-ins: ``sip``); each function also takes a platform name.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from opendialer.core.plugins import get_plugin_manager
from opendialer.core.services.common import Actor, jsonable
from opendialer.core.services.errors import PermissionDenied, ValidationFailed
from opendialer.core.services.option_refusals import refused
from opendialer.core.storage.tables import Setting
from opendialer.sdk.options import EditsOptions, OptionField, defaults_of

PREFIX = "platform."
READ_ONLY = {"revision", "updated_at", "configured"}


class LivePlatform(Protocol):
    def health(self) -> Any: ...

    def registrations(self) -> list[dict[str, object]]: ...


_live: LivePlatform | None = None


def key_of(platform: str) -> str:
    """The ``setting`` key of a platform's options."""
    return PREFIX + platform


def editable_platform(platform: str | None = None) -> tuple[str, EditsOptions]:
    """(name, factory) of ``platform``, or of the installed platform whose options a
    Master edits when None."""
    factories = get_plugin_manager().factories("platforms")
    editable = {n: f for n, f in sorted(factories.items()) if isinstance(f, EditsOptions)}
    if platform is None:
        if not editable:
            raise ValidationFailed("platform.none_editable")
        platform = next(iter(editable))
    factory = editable.get(platform)
    if factory is None:
        raise ValidationFailed("platform.not_editable", name=platform)
    return platform, factory


def option_fields(platform: str | None = None) -> Sequence[OptionField]:
    """The fields of the platform's options, for a form."""
    return editable_platform(platform)[1].option_fields


def _require_master(actor: Actor) -> None:
    if not actor.is_master:
        raise PermissionDenied("platform.master_only")


def validate(
    data: Any, previous: Mapping[str, Any] | None = None, platform: str | None = None
) -> dict[str, Any]:
    """The configuration as it will be stored (secrets merged from ``previous``), or the
    first ValidationFailed; when there are more, its body's ``errors`` lists them all."""
    _, factory = editable_platform(platform)
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k not in READ_ONLY}
    try:
        return dict(factory.validate_options(data, previous=previous))
    except ValueError as exc:  # the plugin's OptionError(s); ``option`` names the field
        raise refused(exc, field=lambda option: option, service="platform") from None


async def _stored(platform: str) -> tuple[dict[str, Any], Any] | None:
    row = await Setting.select(Setting.value, Setting.updated_at).where(
        Setting.key == key_of(platform)
    ).first().run()  # fmt: skip
    if row is None:
        return None
    value = row["value"]
    loaded = json.loads(value) if isinstance(value, str) else value
    return (loaded if isinstance(loaded, dict) else {}), row["updated_at"]


async def load_platform_config(platform: str | None = None) -> dict[str, Any] | None:
    """The stored configuration with secrets — for the engine/platform, never for display."""
    stored = await _stored(editable_platform(platform)[0])
    return None if stored is None else stored[0]


async def platform_config_revision(platform: str | None = None) -> int:
    """Bumped by every write (0: never configured): cheap to poll."""
    stored = await _stored(editable_platform(platform)[0])
    return 0 if stored is None else int(stored[0].get("revision", 0))


def config_source(platform: str | None = None) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    """An async callable for a platform's ``config_source`` option."""
    name = editable_platform(platform)[0]

    async def load() -> dict[str, Any] | None:
        return await load_platform_config(name)

    return load


def _view(
    factory: EditsOptions, config: Mapping[str, Any], updated_at: Any, configured: bool
) -> dict[str, Any]:
    body = dict(factory.shown_options(config))
    body["revision"] = int(config.get("revision", 0))
    body["updated_at"] = jsonable(updated_at)
    body["configured"] = configured
    return body


async def get_platform_config(actor: Actor, platform: str | None = None) -> dict[str, Any]:
    """What the admin sees: every field, secrets replaced by ``has_…`` flags."""
    _require_master(actor)
    name, factory = editable_platform(platform)
    stored = await _stored(name)
    if stored is None:
        return _view(factory, defaults_of(factory.option_fields), None, False)
    return _view(factory, stored[0], stored[1], True)


async def update_platform_config(
    actor: Actor, data: Any, platform: str | None = None
) -> dict[str, Any]:
    """Check and store the whole configuration (PUT semantics); Master only."""
    _require_master(actor)
    name, factory = editable_platform(platform)
    stored = await _stored(name)
    previous = stored[0] if stored else {}
    checked = validate(data, previous, name)
    checked["revision"] = int(previous.get("revision", 0)) + 1
    now = datetime.now(UTC)
    await Setting.insert(
        Setting(key=key_of(name), value=json.dumps(checked), updated_at=now)
    ).on_conflict(
        target=Setting.key, action="DO UPDATE", values=[Setting.value, Setting.updated_at]
    ).run()  # fmt: skip
    return _view(factory, checked, now, True)


# ---------------------------------------------------------------- live state


def attach(platform: LivePlatform | None) -> None:
    """The engine hands its running platform here so Diagnostics can show it."""
    global _live
    _live = platform


def attached() -> bool:
    """True when the engine's platform runs in this process (its state is known here)."""
    return _live is not None


def live_platform() -> LivePlatform | None:
    """The engine's platform running in this process, if attached."""
    return _live


def registrations() -> list[dict[str, object]]:
    """Per port registration state of the platform running in this process."""
    return [] if _live is None else list(_live.registrations())


async def health() -> dict[str, Any]:
    """For System → Diagnostics: the live platform's health, or what is configured."""
    if _live is not None:
        state = _live.health()
        rows = _live.registrations()
        registered = sum(1 for r in rows if r.get("state") == "registered")
        failed = [f"{r['user']}: {r.get('detail')}" for r in rows if r.get("state") == "failed"]
        detail = state.detail
        if rows:  # a platform with ports (SIP); the simulator has none
            detail += f"; {registered} of {len(rows)} registered"
        if failed:
            detail += "; failing: " + ", ".join(failed[:5])
        return {"ok": bool(state.ok), "detail": detail}
    name, factory = editable_platform()
    config = await load_platform_config(name)
    if config is None:
        return {"ok": False, "detail": "not configured (System → Communication platform)"}
    summary = factory.describe_options(config)
    return {"ok": True, "detail": f"{summary}; the engine runs in another process"}
