"""System → Contact center (``oscc``) and System → IVR (``ivr``): the routing
targets' options, one field per option.

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
from litestar.response import Template

from opendialer.admin_ui.i18n import N_
from opendialer.admin_ui.pages.common import errors_of, text
from opendialer.admin_ui.pages.session import UI
from opendialer.core.services import routing_config
from opendialer.core.services.errors import ValidationFailed
from opendialer.plugins.route_oscc.options import DEFAULT_FIELDS, DEFAULT_PATHS


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

    def fields(self) -> list[Field]:
        return [f for s in self.sections for f in s.fields]


OSCC = TargetPage(
    "oscc",
    "/system/contact-center",
    N_("Contact center"),
    "OSCC",
    (
        Section(
            N_("Connection"),
            (
                Field("base_url", N_("SDK URL"), "url", "", N_("Scheme, host, port and base path of the contact center's REST SDK, e.g. https://oscc.example:9443/rest."), required=True),  # noqa: E501
                Field("username", N_("User name"), "text", "", N_("The user the dialer logs on with.")),  # noqa: E501
                Field("password", N_("Password"), "secret", "", N_("Sent with the logon; never shown again once saved.")),  # noqa: E501
                Field("application", N_("Application name"), "text", "OpenDialer", N_("The name the dialer registers its session under.")),  # noqa: E501
                Field("ca_bundle", N_("CA file (PEM)"), "text", "", N_("Path on the dialer's server of the CA that signed the SDK's certificate; empty: the system's CAs.")),  # noqa: E501
                Field("queues", N_("Queues to watch from the start"), "list", [], N_("Comma-separated queue names; a campaign's own queue is added when it dials.")),  # noqa: E501
            ),
        ),
        Section(
            N_("Timing"),
            (
                Field("poll_interval_ms", N_("Poll interval (ms)"), "ms", 1000, N_("Time between two reads of the queues' free agents.")),  # noqa: E501
                Field("stale_after_ms", N_("Stale after (ms)"), "ms", 15000, N_("A count older than this is not trusted: no calls until a fresh one arrives. Must exceed the poll interval.")),  # noqa: E501
                Field("keepalive_interval_ms", N_("Keep-alive interval (ms)"), "ms", 10000, N_("Time between two keep-alive requests of the session.")),  # noqa: E501
                Field("connect_timeout_ms", N_("Connect timeout (ms)"), "ms", 2000, N_("How long to wait for the TCP/TLS connection.")),  # noqa: E501
                Field("request_timeout_ms", N_("Request timeout (ms)"), "ms", 3000, N_("How long one request may take in all.")),  # noqa: E501
                Field("reservation_timeout_ms", N_("Agent hold (ms)"), "ms", 120000, N_("A launched call stops holding its agent after this, even without an answer.")),  # noqa: E501
                Field("backoff_initial_ms", N_("First retry after (ms)"), "ms", 500, N_("Wait before rebuilding a failed session; doubles at each failure.")),  # noqa: E501
                Field("backoff_max_ms", N_("Longest retry wait (ms)"), "ms", 30000, N_("The doubling wait never exceeds this.")),  # noqa: E501
            ),
        ),
        Section(
            N_("Protocol (advanced)"),
            (
                Field("session_header", N_("Session header"), "text", "", N_("Also send the session id in this HTTP header; empty: none.")),  # noqa: E501
                Field("codec", N_("Codec"), "text", "json", N_("json, or package.module:Class of a codec plugin.")),  # noqa: E501
                Field("events", N_("Use change events"), "bool", False, N_("Long-poll the events request; a reported change triggers a new count at once.")),  # noqa: E501
                Field("events_wait_ms", N_("Events wait (ms)"), "ms", 10000, N_("How long the contact center may hold an events request.")),  # noqa: E501
                *(
                    Field(f"paths.{op}", op, "text", default, N_("METHOD /path, relative to the SDK URL."))  # noqa: E501
                    for op, default in DEFAULT_PATHS.items()
                ),
                *(
                    Field(f"fields.{name}", name, "text", default, N_("Field name in the SDK's messages; answers may use a dotted path."))  # noqa: E501
                    for name, default in DEFAULT_FIELDS.items()
                ),
            ),
            advanced=True,
            hint=N_("The SDK's request paths and field names are the simulator's until set here: replace them with your contact center's (docs/routing.md)."),  # noqa: E501
        ),
    ),
)  # fmt: skip

IVR = TargetPage(
    "ivr",
    "/system/ivr",
    N_("IVR"),
    "IVR",
    (
        Section(
            N_("Channels"),
            (
                Field("channels", N_("IVR channels"), "int", None, N_("How many calls the dialer may have on the IVR at once: launched calls and transferred calls still up."), required=True),  # noqa: E501
                Field("hold_timeout_ms", N_("Transferred call hold (ms)"), "ms", 600000, N_("A transferred call is taken as ended after this: set it to the longest usual IVR session.")),  # noqa: E501
                Field("reservation_timeout_ms", N_("Launched call hold (ms)"), "ms", 120000, N_("A launched call stops holding its channel after this, even without an answer.")),  # noqa: E501
            ),
        ),
        Section(
            N_("Status URL (optional)"),
            (
                Field("status_url", N_("Status URL"), "url", None, N_("An http(s) URL answering JSON with the IVR's free channels; it corrects the dialer's own count.")),  # noqa: E501
                Field("status_field", N_("Field of the answer"), "text", "freeChannels", N_("Name (or dotted path) of the free-channel count in that answer.")),  # noqa: E501
                Field("status_authoritative", N_("The status URL is the truth"), "bool", False, N_("When it fails or is late, dial nothing (instead of trusting the dialer's own count).")),  # noqa: E501
                Field("status_poll_ms", N_("Read every (ms)"), "ms", 2000, N_("How often the status URL is read.")),  # noqa: E501
                Field("status_timeout_ms", N_("Status timeout (ms)"), "ms", 1000, N_("How long one read may take.")),  # noqa: E501
                Field("status_stale_after_ms", N_("Status stale after (ms)"), "ms", 10000, N_("An answer older than this is not used.")),  # noqa: E501
                Field("ca_bundle", N_("CA file (PEM)"), "text", None, N_("Path on the dialer's server of the CA of an https status URL; empty: the system's CAs.")),  # noqa: E501
            ),
        ),
    ),
)  # fmt: skip

PAGES = {page.target: page for page in (OSCC, IVR)}
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
    if page.target == "ivr":
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


async def _page(ui: UI, target: str) -> Template:
    return await _render(ui, PAGES[target])


async def _save(request: Request[Any, Any, Any], ui: UI, target: str) -> Template:
    page = PAGES[target]
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
    return await _page(ui, "oscc")


@post("/system/contact-center", status_code=200)
async def save_contact_center(request: Request[Any, Any, Any], ui: NamedDependency[UI]) -> Template:
    return await _save(request, ui, "oscc")


@get("/system/ivr")
async def ivr_page(ui: NamedDependency[UI]) -> Template:
    return await _page(ui, "ivr")


@post("/system/ivr", status_code=200)
async def save_ivr(request: Request[Any, Any, Any], ui: NamedDependency[UI]) -> Template:
    return await _save(request, ui, "ivr")


ROUTES: list[Any] = [contact_center_page, save_contact_center, ivr_page, save_ivr]
