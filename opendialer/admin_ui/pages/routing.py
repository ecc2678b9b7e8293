"""System → Contact center and System → IVR: the options of the routing target each
campaign type (OSCC, IVR) defaults to, one field per option.

The page knows no target by name: the target declares its title and fields
(``sdk.HasOptionPage``: ``label``, ``option_sections``, ``offers_connection_test``;
the built-ins' in ``plugins/route_oscc/option_page.py`` and
``plugins/route_ivr/option_page.py``), and the campaign type it is the default of
(``default_for_campaign_types``) says which page (``routing_defaults.SETTINGS_PAGES``).

The rules (Master only, each target checks its own options and names the bad
one, write-only secrets) are ``core/services/routing_config.py``'s, the same
service behind ``/api/v1/routing`` and ``opendialer routing``. This page turns
the form into the options object (a blank field: the option's default; a blank
secret: the stored one kept) and the refused option into a message at its field.
Which options exist, their defaults and meaning: ``docs/routing.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.response import Template

from opendialer.admin_ui.i18n import N_
from opendialer.admin_ui.pages.common import errors_of, text
from opendialer.admin_ui.pages.session import UI
from opendialer.core.plugins import get_plugin_manager
from opendialer.core.routing_defaults import SETTINGS_PAGES, default_targets
from opendialer.core.services import routing_config
from opendialer.core.services.errors import ValidationFailed
from opendialer.sdk.options import OptionField


@dataclass(frozen=True)
class Field:
    """One option as a form field. ``kind``: text, url, secret, ms (whole
    milliseconds), int, bool, list (comma-separated names)."""

    name: str
    label: str
    kind: str
    default: Any
    help: str
    required: bool = False

    @property
    def html_id(self) -> str:
        return "f-" + self.name.replace(".", "-")

    @property
    def error_id(self) -> str:
        return "err-" + self.name.replace(".", "-")


@dataclass(frozen=True)
class Section:
    title: str
    fields: tuple[Field, ...]
    advanced: bool = False
    hint: str = ""


@dataclass(frozen=True)
class TargetPage:
    target: str
    path: str
    title: str
    campaign_type: str
    sections: tuple[Section, ...]
    can_test: bool = False

    def fields(self) -> list[Field]:
        return [f for s in self.sections for f in s.fields]


def _field(option: OptionField) -> Field:
    return Field(
        option.name, option.label, option.kind, option.default, option.help, option.required
    )


def _page(target: str, campaign_type: str, factory: Any) -> TargetPage | None:
    sections = getattr(factory, "option_sections", None)
    if not sections:
        return None
    return TargetPage(
        target,
        SETTINGS_PAGES[campaign_type].path,
        getattr(factory, "label", target),
        campaign_type,
        tuple(
            Section(s.title, tuple(_field(f) for f in s.fields), s.advanced, s.hint)
            for s in sections
        ),
        can_test=bool(getattr(factory, "offers_connection_test", False)),
    )


def pages() -> dict[str, TargetPage]:
    """Target name → its System page: the default target of each campaign type that has
    a page, when the target describes its options."""
    pm = get_plugin_manager()
    factories = pm.factories("routing_targets")
    found: dict[str, TargetPage] = {}
    for campaign_type, target in sorted(default_targets(pm).items()):
        if campaign_type in SETTINGS_PAGES and target in factories:
            page = _page(target, campaign_type, factories[target])
            if page is not None:
                found[target] = page
    return found


def page_of_type(campaign_type: str) -> TargetPage:
    """The page at ``SETTINGS_PAGES[campaign_type]``: the type's default target's."""
    for page in pages().values():
        if page.campaign_type == campaign_type:
            return page
    raise NotFoundException()


UNCONFIRMED = N_("Nothing was removed: the removal was not confirmed.")


def _whole(raw: str) -> Any:
    """Form text → int when it is one; otherwise the text, for the target to refuse."""
    try:
        return int(raw)
    except ValueError:
        return raw


def form_options(page: TargetPage, form: Any) -> dict[str, Any]:
    """The form as the options object of ``PUT /api/v1/routing/{target}``: a blank
    field is left out (the option's default; a secret: the stored one)."""
    options: dict[str, Any] = {}
    for spec in page.fields():
        if spec.kind == "bool":
            if form.get(spec.name) == "1":
                options[spec.name] = True
            continue
        if spec.kind == "secret" and form.get(f"clear_{spec.name}") == "1":
            options[spec.name] = None
            continue
        raw = text(form, spec.name)
        if not raw:
            continue
        value: Any = raw
        if spec.kind in ("ms", "int"):
            value = _whole(raw)
        elif spec.kind == "list":
            value = [name.strip() for name in raw.replace("\n", ",").split(",") if name.strip()]
        head, dot, tail = spec.name.partition(".")
        if dot:
            options.setdefault(head, {})[tail] = value
        else:
            options[spec.name] = value
    return options


def _shown(page: TargetPage, options: dict[str, Any], *, posted: bool = False) -> dict[str, Any]:
    """Each field's text as the form shows it. A stored secret never comes back
    (``has_<name>`` only); a secret typed in this request (``posted``: ``options`` is
    the form, after a test or a refusal) is the user's own input and stays in its
    field, so the next Save stores it."""
    values: dict[str, Any] = {}
    for spec in page.fields():
        head, dot, tail = spec.name.partition(".")
        value = options.get(head, {}).get(tail) if dot else options.get(spec.name)
        if spec.kind == "secret":
            values[spec.name] = value if posted and isinstance(value, str) else ""
            values[f"has_{spec.name}"] = bool(options.get(f"has_{spec.name}"))
        elif spec.kind == "list" and isinstance(value, list):
            values[spec.name] = ", ".join(str(v) for v in value)
        elif spec.kind == "bool":
            values[spec.name] = value is True
        else:
            values[spec.name] = "" if value is None else value
    return values


def _errors(page: TargetPage, exc: ValidationFailed, ui: UI) -> dict[str, str]:
    """The service's ``options.<name>`` fields as the form's field names."""
    found = errors_of(exc, ui.t, [f"options.{f.name}" for f in page.fields()])
    return {k.removeprefix("options."): v for k, v in found.items()}


def _seconds(ms: Any) -> str:
    return f"{ms / 1000:g}" if isinstance(ms, int | float) else str(ms)


def effect(page: TargetPage, options: dict[str, Any], ui: UI) -> list[str]:
    """What the engine does with the stored options, in the viewer's language."""
    t = ui.t
    if page.campaign_type == "IVR":  # the IVR target's options (route_ivr/option_page.py)
        channels = options.get("channels", 0)
        lines = [
            t.ngettext(
                "The dialer keeps at most %(num)s call on the IVR at a time "
                "(launched calls and transferred calls still up).",
                "The dialer keeps at most %(num)s calls on the IVR at a time "
                "(launched calls and transferred calls still up).",
                int(channels) if isinstance(channels, int) else 0,
            )
            if channels
            else t.gettext("With 0 channels, IVR campaigns do not dial."),
            t.gettext(
                "A transferred call holds its channel until it ends, or for %(s)s s at most.",
                s=_seconds(options.get("hold_timeout_ms", 600000)),
            ),
        ]
        if options.get("status_url"):
            rule = (
                t.gettext("when it fails, no call is launched")
                if options.get("status_authoritative")
                else t.gettext("when it fails, the dialer's own count is used")
            )
            lines.append(
                t.gettext(
                    "The free channels reported at %(url)s correct that count every "
                    "%(s)s s; %(rule)s.",
                    url=options["status_url"],
                    s=_seconds(options.get("status_poll_ms", 2000)),
                    rule=rule,
                )
            )
        return lines
    return [
        t.gettext(
            "The dialer opens a session at %(url)s as %(user)s, reads the free agents of "
            "each OSCC campaign's queue every %(s)s s and launches one call per free agent.",
            url=options.get("base_url", ""),
            user=options.get("username") or "—",
            s=_seconds(options.get("poll_interval_ms", 1000)),
        ),
        t.gettext(
            "A count older than %(s)s s stops dialing for that queue until a fresh one arrives.",
            s=_seconds(options.get("stale_after_ms", 15000)),
        ),
    ]


async def _render(
    ui: UI,
    page: TargetPage,
    *,
    view: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    removed: bool = False,
    test: dict[str, Any] | None = None,
    fragment: bool = False,
) -> Template:
    """``view``: the service's stored view; ``options``: what the form posted (shown
    again after a refusal, with the stored secret's flag)."""
    actor = ui.require_tab("system")
    if view is None:
        view = await routing_config.get(actor, page.target)
    shown = dict(view["options"])
    if options is not None:
        has = {k: v for k, v in shown.items() if k.startswith("has_")}
        shown = {**{k: v for k, v in options.items() if v is not None}, **has}
    status = 422 if errors and not fragment else 200
    return ui.render(
        "system/routing_form.html" if fragment else "system/routing.html",
        status_code=status,
        page=page,
        values=_shown(page, shown, posted=options is not None),
        configured=view["configured"],
        updated_at=view["updated_at"],
        effect=effect(page, view["options"], ui) if view["configured"] else [],
        overridden_by=await routing_config.overridden_by(page.target),
        errors=errors or {},
        saved=saved,
        removed=removed,
        test=test,
    )


async def _show(ui: UI, campaign_type: str) -> Template:
    return await _render(ui, page_of_type(campaign_type))


async def _save(request: Request[Any, Any, Any], ui: UI, campaign_type: str) -> Template:
    page = page_of_type(campaign_type)
    target = page.target
    actor = ui.require_tab("system")
    form = await request.form()
    options = form_options(page, form)
    fragment = request.headers.get("hx-request") == "true"
    action = text(form, "action") or "save"
    try:
        if action == "test":
            result = await routing_config.test_connection(actor, target, options)
            return await _render(ui, page, options=options, test=result, fragment=fragment)
        if action == "delete":
            if text(form, "confirm") != "1":
                # Only the Remove button's confirmation step sends confirm=1: no other
                # submission (Enter in a field, a stray button) removes the settings.
                refused = {"_form": ui._(UNCONFIRMED)}
                return await _render(ui, page, options=options, errors=refused, fragment=fragment)
            await routing_config.delete(actor, target)
            return await _render(ui, page, removed=True, fragment=fragment)
        stored = await routing_config.put(actor, target, options)
    except ValidationFailed as exc:
        errors = _errors(page, exc, ui)
        return await _render(ui, page, options=options, errors=errors, fragment=fragment)
    return await _render(ui, page, view=stored, saved=True, fragment=fragment)


@get("/system/contact-center")
async def contact_center_page(ui: NamedDependency[UI]) -> Template:
    return await _show(ui, "OSCC")


@post("/system/contact-center", status_code=200)
async def save_contact_center(request: Request[Any, Any, Any], ui: NamedDependency[UI]) -> Template:
    return await _save(request, ui, "OSCC")


@get("/system/ivr")
async def ivr_page(ui: NamedDependency[UI]) -> Template:
    return await _show(ui, "IVR")


@post("/system/ivr", status_code=200)
async def save_ivr(request: Request[Any, Any, Any], ui: NamedDependency[UI]) -> Template:
    return await _save(request, ui, "IVR")


ROUTES: list[Any] = [contact_center_page, save_contact_center, ivr_page, save_ivr]
