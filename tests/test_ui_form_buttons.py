"""Every form of the admin: Enter in a text field never does something destructive
or surprising, and every button is styled.

Enter in a text field submits the form with its FIRST submit button (HTML's
implicit submission), so in each form that first one must be the form's ordinary
action (Save, Upload, Search...), never a Remove/Delete (only a dedicated delete
confirmation, whose whole purpose is to delete, starts with one), and a button
that is not meant to submit says ``type="button"`` (a bare ``<button>`` in a form
is a submit button). Checked over the templates, so a form added later is checked
too, and over the pages a Master is served (System → IVR, Contact center,
Communication platform). The class check catches a button the style sheet does
not style (``btn primary`` instead of ``btn btn-primary``)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from api_client import PASSWORD, ApiClient

from opendialer.core.services import routing_config
from opendialer.core.services.common import SYSTEM

UI = Path(__file__).resolve().parents[1] / "opendialer" / "admin_ui"
TEMPLATES = sorted((UI / "templates").rglob("*.html"))
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
BUTTON = re.compile(r"<button\b([^>]*)>", re.S)
DESTRUCTIVE = re.compile(r'value="(delete|remove)[^"]*"|\bdanger\b|btn-danger|confirm-delete')


def _submits(body: str) -> list[str]:
    """The submit buttons of a form body, in document order."""
    found = []
    for attrs in BUTTON.findall(body):
        kind = re.search(r'\btype="([^"]*)"', attrs)
        if kind is None or kind.group(1) == "submit":
            found.append(attrs)
    found += re.findall(r'<input\b[^>]*type="submit"[^>]*>', body)
    return found


def _first_submit_problems(name: str, html: str) -> list[str]:
    problems = []
    for form_attrs, body in FORM.findall(html):
        deleting = re.search(r'(hx-post|action)="[^"]*/delete"', form_attrs)
        for attrs in BUTTON.findall(body):
            if not re.search(r'\btype="', attrs):
                problems.append(f"{name}: a <button> without type in a form: {attrs.strip()}")
        submits = _submits(body)
        if submits and not deleting and DESTRUCTIVE.search(submits[0]):
            problems.append(f"{name}: Enter would press {submits[0].strip()}")
    return problems


def test_enter_in_any_form_of_the_templates_is_never_destructive() -> None:
    problems = [p for t in TEMPLATES for p in _first_submit_problems(t.name, t.read_text())]
    assert problems == []


#: Modifier names written without their ``btn-`` prefix style nothing.
BARE_MODIFIERS = {"primary", "danger", "ghost", "block", "run", "stop", "secondary"}


def test_every_button_class_is_styled() -> None:
    css = (UI / "static" / "app.css").read_text()
    unstyled = []
    for template in TEMPLATES:
        for classes in re.findall(r'class="([^"{]*)"', template.read_text()):
            tokens = classes.split()
            if "btn" not in tokens:
                continue
            for token in tokens:
                styled = re.search(rf"(^|[\s,}}]){re.escape('.' + token)}(?![\w-])", css, re.M)
                if token in BARE_MODIFIERS or (token.startswith("btn-") and not styled):
                    unstyled.append(f"{template.name}: {token!r} in class={classes!r}")
    assert unstyled == []


async def _master(app: ApiClient) -> httpx.AsyncClient:
    user = await app.user("master")
    client: httpx.AsyncClient = app.client()
    r = await client.post("/login", data={"username": user["username"], "password": PASSWORD})
    assert r.status_code == 303, r.text
    return client


async def test_the_system_pages_as_served(app_client: ApiClient) -> None:
    await routing_config.put(SYSTEM, "ivr", {"channels": 30})
    await routing_config.put(SYSTEM, "oscc", {"base_url": "https://oscc.example/rest"})
    client = await _master(app_client)
    for path in ("/system/ivr", "/system/contact-center", "/system/platform"):
        page = await client.get(path)
        assert page.status_code == 200, page.text
        assert _first_submit_problems(path, page.text) == []
        assert re.search(r'<form method="post" action="' + path, page.text)
    page = (await client.get("/system/platform")).text
    assert 'class="btn btn-primary" id="platform-choice-save"' in page
    ivr = (await client.get("/system/ivr")).text
    assert 'id="delete-routing"' in ivr  # configured: the Remove button is there
    assert 'class="btn btn-danger" id="delete-routing"' in ivr
