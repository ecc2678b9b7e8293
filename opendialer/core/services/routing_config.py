"""Routing-target options: one ``setting`` row per target, key ``routing.<name>``.

A campaign picks its target by type — the target registered as the type's default
(:mod:`opendialer.core.routing_defaults`; built in: OSCC → ``oscc``, IVR → ``ivr``) — and brings
its own queue and pilot number; how the dialer reaches the contact center or
the IVR (URL, TLS trust, credentials, timeouts, channel count) is set once here,
by a Master, and shared by every campaign of that type::

    routing.oscc  {"base_url": "https://oscc:9443/rest", "ca_bundle": "...", "username": ...}
    routing.ivr   {"channels": 30, "status_url": null}

Options are checked by the target's own ``validate_options`` (or by building
the target without starting it) before they are stored, so a typo is refused
with the option's name.

Secrets (``password``, ``*secret*``, ``*token*``) are write-only, as on the
communication platform: a view never carries them, only ``has_<name>`` (true
when one is stored). A ``put`` that leaves a secret out, gives it blank, or
gives the old mask ``"********"`` keeps the stored value; ``null`` clears it
(stored empty).
A ``has_<name>`` key in a ``put`` is ignored, so a view can be written back.

The engine reads these rows when it first starts a target (the first campaign
of that type it runs); a target it already runs keeps its options until the
engine restarts. ``OPENDIALER_ROUTING_OPTIONS`` or the ``engine.routing_options``
setting override a target's row wholesale (:func:`overridden_by`).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from opendialer.core.domain import CampaignType
from opendialer.core.plugin_context import DialerContext
from opendialer.core.plugins import get_plugin_manager
from opendialer.core.routing_defaults import default_targets
from opendialer.core.services.common import Actor, jsonable
from opendialer.core.services.errors import (
    FieldErrors,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from opendialer.core.services.option_refusals import refused_fields
from opendialer.core.storage.tables import Setting
from opendialer.sdk.options import option_errors

PREFIX = "routing."
MASK = "********"


def is_secret(option: str) -> bool:
    """Whether an option is write-only (``password``, ``*secret*``, ``*token*``)."""
    name = option.lower()
    return "password" in name or "secret" in name or "token" in name


def _shown(options: dict[str, Any]) -> dict[str, Any]:
    """The options as anyone may see them: no secret, ``has_<name>`` in its place."""
    shown = {k: v for k, v in options.items() if not is_secret(k)}
    shown.update({f"has_{k}": bool(v) for k, v in options.items() if is_secret(k)})
    return shown


def _merge_secrets(options: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """``options`` with the stored secrets kept where the caller left them out, blank
    or masked; ``None`` clears one. ``has_<secret>`` flags (of a view) are dropped."""
    merged = {
        k: v
        for k, v in options.items()
        if not (k.startswith("has_") and is_secret(k[4:]) and isinstance(v, bool | None))
    }
    for key, value in list(merged.items()):
        if not is_secret(key):
            continue
        if value is None:
            merged[key] = ""  # stored empty, so the view says has_<key>: false
        elif value == MASK and key not in previous:
            raise ValidationFailed("routing.secret_needs_value", field=f"options.{key}", key=key)
        elif value in ("", MASK):
            if key in previous:
                merged[key] = previous[key]
            else:
                del merged[key]
    for key, value in previous.items():
        if is_secret(key) and key not in options:
            merged[key] = value
    return merged


def _require_master(actor: Actor) -> None:
    if not actor.is_master:
        raise PermissionDenied("routing.master_only")


def _factory(target: str) -> Any:
    factories = get_plugin_manager().factories("routing_targets")
    if target not in factories:
        raise NotFound(
            "routing.target_unknown",
            field="target",
            name=target,
            installed=", ".join(sorted(factories)) or "none",
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


#: At most this many refused options are reported at once.
MAX_ERRORS = 20


def _check(factory: Any, options: dict[str, Any]) -> dict[str, Any]:
    check = getattr(factory, "validate_options", None)
    if callable(check):
        return dict(check(options))
    factory(options=options, context=DialerContext())  # built, never started: no I/O
    return dict(options)


def _drop(options: dict[str, Any], option: str) -> bool:
    """Remove ``option`` (``paths.logon``: one entry of a mapping) so the next check
    sees its default; False when it is not there (a required option is missing)."""
    if option in options:
        del options[option]
        return True
    head, dot, tail = option.partition(".")
    nested = options.get(head)
    if dot and isinstance(nested, dict) and tail in nested:
        options[head] = {k: v for k, v in nested.items() if k != tail}
        return True
    return False


def validate(target: str, options: Any) -> dict[str, Any]:
    """The options as they will be stored, or ValidationFailed naming the bad option.

    A target's check stops at its first refusal, so the refused option is taken out
    (its default then applies) and the rest checked again: a person who made three
    mistakes learns all three (the body's ``errors``, as :class:`FieldErrors` does),
    until one that cannot be taken out (a required option missing)."""
    factory = _factory(target)
    if not isinstance(options, dict):
        raise ValidationFailed("options.not_object", field="options")
    errors = FieldErrors()
    trial = copy.deepcopy(options)
    seen: set[str] = set()
    stood_in: set[str] = set()
    checked: dict[str, Any] = {}
    while len(seen) < MAX_ERRORS:
        try:
            checked = _check(factory, trial)
            break
        except ValueError as exc:  # the target's OptionError(s)
            dropped = False
            for error, refused_option in zip(
                refused_fields(exc, field=_field_of, service="routing"),
                [getattr(e, "option", None) for e in option_errors(exc)],
                strict=True,
            ):
                if error.field not in seen:
                    seen.add(str(error.field))
                    errors.add(error)
                    dropped = bool(refused_option and _drop(trial, str(refused_option))) or dropped
            if dropped:
                continue
            option = getattr(exc, "option", None)
            # A required option (refused again once dropped): a stand-in value lets
            # the check go on to the other options; it is never stored.
            if not option or option in stood_in or not _stand_in(factory, trial, option):
                break
            stood_in.add(option)
    errors.raise_if_any()
    return checked


def _field_of(option: str | None) -> str:
    """The field of a target's option in the API's body (``options.<name>``)."""
    return f"options.{option}" if option else "options"


#: Values tried in place of a missing required option, only to check the others.
STAND_INS: tuple[Any, ...] = (1, "https://example.invalid")


def _stand_in(factory: Any, trial: dict[str, Any], option: str) -> bool:
    for value in STAND_INS:
        trial[option] = value
        try:
            _check(factory, trial)
            return True
        except ValueError as exc:
            if getattr(exc, "option", None) != option:
                return True
    trial.pop(option, None)
    return False


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
    """The target's options as an admin sees them (no secrets); ``configured`` false
    and no options when none are stored yet."""
    _require_master(actor)
    _factory(target)
    stored = await _stored(target)
    if stored is None:
        return _blank(target)
    return _view(target, stored["options"], stored["updated_at"])


async def list_all(actor: Actor) -> list[dict[str, Any]]:
    """Every installed target, configured or not, and every stored one (a row of a
    target whose plugin is gone stays visible, so it can be deleted); by name."""
    _require_master(actor)
    rows = await Setting.select(Setting.key, Setting.value, Setting.updated_at).where(
        Setting.key.like(PREFIX + "%")
    ).run()  # fmt: skip
    views = {
        r["key"][len(PREFIX) :]: _view(
            r["key"][len(PREFIX) :], _decode(r["value"]), r["updated_at"]
        )
        for r in rows
    }
    for target in installed():
        views.setdefault(target, _blank(target))
    return [views[name] for name in sorted(views)]


async def put(actor: Actor, target: str, options: Any) -> dict[str, Any]:
    """Check and store ``target``'s options (replacing them whole, secrets kept unless
    given or cleared with ``None``); Master only."""
    _require_master(actor)
    _factory(target)
    if isinstance(options, dict):
        options = _merge_secrets(options, (await load_options(target)) or {})
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
        raise NotFound("routing.not_configured", field="target", name=target)
    await Setting.delete().where(Setting.key == PREFIX + target).run()


def _view(target: str, options: dict[str, Any], updated_at: Any) -> dict[str, Any]:
    return {
        "target": target,
        "configured": True,
        "options": _shown(options),
        "updated_at": jsonable(updated_at),
    }


def _blank(target: str) -> dict[str, Any]:
    return {"target": target, "configured": False, "options": {}, "updated_at": None}


def installed() -> list[str]:
    """The routing targets the installed plugins offer, by name."""
    return sorted(get_plugin_manager().factories("routing_targets"))


async def configured_targets() -> set[str]:
    """The targets with stored options — only their names, so any signed-in page may
    say "not configured yet" without seeing the options."""
    rows = await Setting.select(Setting.key).where(Setting.key.like(PREFIX + "%")).run()
    return {r["key"][len(PREFIX) :] for r in rows}


async def overridden_by(target: str) -> str | None:
    """What makes the engine ignore ``routing.<target>`` (``None``: nothing): the
    ``OPENDIALER_ROUTING_OPTIONS`` variable of this process, or the
    ``engine.routing_options`` setting, when either names the target."""
    from opendialer.core.engine.settings import json_env, setting_object

    try:
        override = json_env("OPENDIALER_ROUTING_OPTIONS")
    except ValueError:
        return "OPENDIALER_ROUTING_OPTIONS"
    if override is not None:
        return "OPENDIALER_ROUTING_OPTIONS" if isinstance(override.get(target), dict) else None
    stored = await setting_object("engine.routing_options")
    return "engine.routing_options" if isinstance(stored.get(target), dict) else None


async def test_connection(
    actor: Actor, target: str, options: Any, timeout_s: float = 5.0
) -> dict[str, Any]:
    """Build ``target`` from ``options`` (stored secrets merged in, as :func:`put`
    would), start it, wait up to ``timeout_s`` for its health to turn OK (an OSCC
    session registers, logs on and takes its first snapshot), close it; nothing is
    stored. ``{"ok": bool, "detail": str}`` — the target's own words."""
    import asyncio
    import contextlib
    import time

    from opendialer.core.dnc import SystemContext

    _require_master(actor)
    factory = _factory(target)
    if isinstance(options, dict):
        options = _merge_secrets(options, (await load_options(target)) or {})
    checked = validate(target, options)
    try:
        built = factory(options=checked, context=SystemContext())
    except Exception as exc:  # a plugin may refuse more when it builds than it validates
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
    try:
        await asyncio.wait_for(built.start(), timeout_s)
        deadline = time.monotonic() + timeout_s
        health = built.health()
        while not health.ok and time.monotonic() < deadline and not _down(built):
            await asyncio.sleep(0.05)
            health = built.health()
    except TimeoutError:
        return {"ok": False, "detail": f"no answer within {timeout_s:g} s"}
    except Exception as exc:  # the target's own failure is the answer, not a crash
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(built.close(), timeout_s)
    return {"ok": bool(health.ok), "detail": str(health.detail or ("up" if health.ok else ""))}


def _down(target: Any) -> bool:
    """A target that says its session is down has its reason: stop waiting."""
    status = getattr(target, "status", None)
    session = status().get("session") if callable(status) else None
    return isinstance(session, dict) and session.get("state") == "down"


def target_of(campaign_type: str, routing_target: str | None = None) -> str:
    """The routing target a campaign of ``campaign_type`` uses: its own
    ``routing_target``, else the target registered as the default of that type
    (:mod:`opendialer.core.routing_defaults`)."""
    return routing_target or default_targets().get(campaign_type, "")


async def unconfigured_types(routing_target: str | None = None) -> dict[str, str]:
    """``{campaign type: target}`` of the types whose target has nothing configured
    (no stored options and no engine override): campaigns of those types wait."""
    configured = await configured_targets()
    missing: dict[str, str] = {}
    for kind in (t.value for t in CampaignType):
        target = target_of(kind, routing_target)
        if target not in configured and await overridden_by(target) is None:
            missing[kind] = target
    return missing


async def watched_queues() -> list[str]:
    """The contact center's queues named in the options of the OSCC type's default
    target (``routing.oscc``, option ``queues``): the campaign form offers them.
    Names only; no other option leaves."""
    options = await load_options(target_of(CampaignType.OSCC.value)) or {}
    queues = options.get("queues")
    return [q for q in queues if isinstance(q, str)] if isinstance(queues, list) else []
