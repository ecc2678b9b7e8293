"""System → Communication platform: which platform the engine uses (SIP server or the
simulator: ``core/services/platform_choice.py``), and the SIP server, transport and
dialer ports.

The rules (Master only, write-only passwords) are
``core/services/platform_config.py``'s, the same service behind
``GET/PUT /api/v1/platform``; the fields and their validation are the platform
plugin's (its ``option_fields``: ``plugins/platform_sip/options.py``). This page
turns the form into that JSON, field by field as the plugin lists them, and the
service's errors — all of them, not only the first — into messages next to
their fields. A running SIP platform applies a saved change without a restart
(it polls the service). Adding and removing port rows is a round trip that
re-renders the form without saving.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.response import Template

from opendialer.admin_ui.i18n import N_
from opendialer.admin_ui.pages.common import errors_of, text
from opendialer.admin_ui.pages.session import UI
from opendialer.core.plugins import get_plugin_manager
from opendialer.core.services import platform_choice, platform_config
from opendialer.core.services.errors import ValidationFailed
from opendialer.sdk.options import OptionField, field_named

BLANK_PORT: dict[str, Any] = {"user": "", "auth_user": "", "has_password": False}

#: Registration states of ``SipPlatform.registrations()``, as the page says them.
REGISTRATION_STATES: dict[str, tuple[str, str]] = {
    "registered": (N_("registered"), "ok"),
    "registering": (N_("registering"), "run"),
    "failed": (N_("failed"), "bad"),
    "unregistered": (N_("not registered"), "off"),
    "not_required": (N_("no registration (trunk)"), "off"),
}


def choice_context(ui: UI, choice: dict[str, Any]) -> dict[str, Any]:
    """The "Platform in use" card: every installed platform with the ``label`` and
    ``description`` its factory declares (message ids), or its registered name."""
    factories = get_plugin_manager().factories("platforms")
    options = []
    for name in choice["available"]:
        label = getattr(factories.get(name), "label", None)
        hint = getattr(factories.get(name), "description", None)
        options.append(
            {
                "name": name,
                "label": ui._(label) if label else name,
                "hint": ui._(hint) if hint else "",
            }
        )
    return {"choice": choice, "platform_options": options}


def _number(raw: str) -> Any:
    """Form text → int or float when it is one; otherwise the text, for the service to refuse."""
    try:
        return int(raw)
    except ValueError:
        try:
            return float(raw)
        except ValueError:
            return raw


def _records(form: Any, field: OptionField) -> list[dict[str, Any]]:
    """A ``records`` field's rows: inputs ``<singular>_<item>`` (``port_user``), one per
    row; a secret left empty is left out (the stored one is kept), ``<singular>_has_<secret>``
    says whether one is stored, for re-display."""
    prefix = field.name.removesuffix("s")
    columns = {name: form.getall(f"{prefix}_{name}", []) for name in field.item_fields}
    had = {name: form.getall(f"{prefix}_has_{name}", []) for name in field.secret_fields}
    rows = []
    for index in range(len(columns[field.item_fields[0]])):
        row: dict[str, Any] = {}
        for name, values in columns.items():
            value = values[index] if index < len(values) else ""
            if name in field.secret_fields:
                flags = had[name]
                row[f"has_{name}"] = (flags[index] if index < len(flags) else "") == "1"
                if value:
                    row[name] = value
            else:
                row[name] = value.strip()
        rows.append(row)
    return rows


def form_config(form: Any, fields: Sequence[OptionField] | None = None) -> dict[str, Any]:
    """The form as the JSON body of ``PUT /api/v1/platform``, one entry per field of the
    platform's options (records with ``has_<secret>`` for re-display; the plugin ignores
    those flags)."""
    config: dict[str, Any] = {}
    for field in platform_config.option_fields() if fields is None else fields:
        if field.kind == "records":
            config[field.name] = _records(form, field)
        elif field.kind == "bool":
            config[field.name] = form.get(field.name) == "1"
        elif field.kind in ("number", "whole"):
            config[field.name] = _number(text(form, field.name))
        else:
            config[field.name] = text(form, field.name)
    return config


def _choices(name: str) -> tuple[str, ...]:
    """The values a ``choice`` field of the platform's options offers."""
    field = field_named(platform_config.option_fields(), name)
    return field.choices if field is not None else ()


def _for_display(config: dict[str, Any], *, posted: bool = False) -> dict[str, Any]:
    """What the form shows: never a stored password, only whether one is set. A
    password typed in this request (``posted``: ``config`` is the form, re-rendered
    after adding/removing a row or a refusal) is the user's own input and stays in
    its field, so the next Save stores it."""
    shown = dict(config)
    shown["ports"] = [
        {
            "user": p.get("user", ""),
            "auth_user": p.get("auth_user", "") if p.get("auth_user") != p.get("user") else "",
            "has_password": bool(p.get("has_password")),
            "password": (p.get("password") or "") if posted else "",
        }
        for p in config.get("ports", [])
    ]
    return shown


def registration_rows(ui: UI) -> list[dict[str, str]]:
    """Per port: the live registration state (the engine runs in this process)."""
    rows: list[dict[str, str]] = []
    for row in platform_config.registrations():
        state = str(row.get("state", ""))
        label, badge = REGISTRATION_STATES.get(state, (state, "off"))
        rows.append(
            {
                "user": str(row.get("user", "")),
                "state": state,
                "label": ui._(label) if state in REGISTRATION_STATES else label,
                "badge": badge,
                "detail": str(row.get("detail") or ""),
                "in_call": ui._("in a call") if row.get("in_call") else "",
            }
        )
    return rows


def _render(
    ui: UI,
    config: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    fragment: bool = False,
    choice: dict[str, Any] | None = None,
    posted: bool = False,
) -> Template:
    # htmx swaps only 2xx answers: a refused save is 200 to htmx, 422 to a plain form post
    status = 422 if errors and not fragment else 200
    return ui.render(
        "system/platform_form.html" if fragment else "system/platform.html",
        status_code=status,
        config=_for_display(config, posted=posted),
        errors=errors or {},
        saved=saved,
        transports=_choices("transport"),
        **_registration_context(ui),
        **(choice_context(ui, choice) if choice is not None else {}),
    )


@get("/system/platform")
async def platform_page(ui: NamedDependency[UI]) -> Template:
    actor = ui.require_tab("system")
    return _render(
        ui,
        await platform_config.get_platform_config(actor),
        choice=await platform_choice.get(actor),
    )


@post("/system/platform/choice", status_code=200)
async def save_choice(request: Request[Any, Any, Any], ui: NamedDependency[UI]) -> Template:
    """The "Platform in use" card: store the choice; running engines follow it."""
    actor = ui.require_tab("system")
    form = await request.form()
    errors: dict[str, str] = {}
    saved = False
    try:
        choice = await platform_choice.put(actor, text(form, "platform"))
        saved = True
    except ValidationFailed as exc:
        errors = errors_of(exc, ui.t)
        choice = await platform_choice.get(actor)
    if request.headers.get("hx-request") == "true":
        return ui.render(
            "system/platform_choice.html",
            choice_errors=errors,
            choice_saved=saved,
            **choice_context(ui, choice),
        )
    return ui.render(
        "system/platform.html",
        status_code=422 if errors else 200,
        config=_for_display(await platform_config.get_platform_config(actor)),
        errors={},
        saved=False,
        transports=_choices("transport"),
        choice_errors=errors,
        choice_saved=saved,
        **_registration_context(ui),
        **choice_context(ui, choice),
    )


@post("/system/platform", status_code=200)
async def save_platform(request: Request[Any, Any, Any], ui: NamedDependency[UI]) -> Template:
    """Save — or, for the add/remove row buttons, re-render the form without saving."""
    actor = ui.require_tab("system")
    form = await request.form()
    config = form_config(form)
    fragment = request.headers.get("hx-request") == "true"
    action = text(form, "action") or "save"
    if action == "add_port":
        config["ports"].append(dict(BLANK_PORT))
        choice = None if fragment else await platform_choice.get(actor)
        return _render(ui, config, fragment=fragment, choice=choice, posted=True)
    if action.startswith("remove_port:") and action[12:].isdigit():
        index = int(action[12:])
        if index < len(config["ports"]):
            del config["ports"][index]
        choice = None if fragment else await platform_choice.get(actor)
        return _render(ui, config, fragment=fragment, choice=choice, posted=True)
    try:
        stored = await platform_config.update_platform_config(actor, config)
    except ValidationFailed as exc:
        choice = None if fragment else await platform_choice.get(actor)
        errors = errors_of(exc, ui.t)
        return _render(ui, config, errors=errors, fragment=fragment, choice=choice, posted=True)
    choice = None if fragment else await platform_choice.get(actor)
    return _render(ui, stored, saved=True, fragment=fragment, choice=choice)


@get("/system/platform/registrations")
async def registrations_panel(ui: NamedDependency[UI]) -> Template:
    """The port table's registration column, polled by the page while it is open."""
    actor = ui.require_tab("system")
    await platform_config.get_platform_config(actor)  # Master only, like the configuration
    return ui.render("system/platform_registrations.html", **_registration_context(ui))


def _registration_context(ui: UI) -> dict[str, Any]:
    return {"registrations": registration_rows(ui), "live": platform_config.attached()}


ROUTES: list[Any] = [platform_page, save_choice, save_platform, registrations_panel]
