"""No English left on any page a Master, Manager, Campaign Administrator or
Supervisor can reach, rendered in Portuguese and Spanish with real data.

The English words looked for are not a hand-picked few: they are the words of every
English text of the catalogue whose Portuguese (or Spanish) translation differs,
minus every word the Portuguese (Spanish) catalogue itself uses — so "Running",
"Started", "Mon", "January", status and button labels are all in the list, while
a word both languages share ("Total", "SIP", "AMD") is not. Each page's visible text
(and its title, placeholder, aria-label and alt attributes) is split into words and
every English one found is reported with the page and the sentence around it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from api_client import PASSWORD, ApiClient
from babel.messages.pofile import read_po
from litestar.handlers import HTTPRouteHandler

from opendialer.admin_ui import i18n
from opendialer.admin_ui.pages.session import LANGUAGE_COOKIE
from opendialer.core.domain import LeadStatus
from opendialer.core.storage.tables import CallRecord, Lead

WORD = re.compile(r"[A-Za-zÀ-ÿ]+")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{[^}]*\}")
#: Not text: addresses, paths and IANA zone names (America/Sao_Paulo), JSON examples,
#: HTTP requests (POST /events) and lower-case identifiers (free_agents). Upper-case
#: codes (NOT_CALLED) stay: a status shown as its code is untranslated.
NOT_TEXT = re.compile(
    r"\S+://\S+|\S+@\S+\.\S+|\S*\w/\w\S*|\{[^{}]*\}"
    r"|\b(?:GET|POST|PUT|PATCH|DELETE) /\S*|\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"
)
SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
#: Not pages: machine answers and downloads.
NOT_PAGES = ("/api/", "/schema", "/static", "/metrics", "/healthz", "/donotcall", ".zip")
ROLES = ("master", "manager", "campaign_admin", "campaign_supervisor")
#: The seeded data's own words (names people typed) are not the product's text.
#: One lead per status (and a call record each), so every status name is shown.
LEAD_NAMES = ("Ana Souza", "Bruno Lima", "Carla Dias", "Davi Rocha", "Eva Nunes")
LEAD_NAMES += ("Fábio Reis", "Gil Sá", "Hugo Melo", "Iara Luz", "Júlia Cruz", "Lia Prado")
LEADS_CSV = "name,phone\n" + "".join(
    f"{name},(41) 98102-11{10 + i}\n" for i, name in enumerate(LEAD_NAMES)
)
SEEDED = (
    "Grupo Sul",
    "Cobrança Sul",
    "Renovação",
    "Clientes da região",
    *LEAD_NAMES,
    "Lista Nacional",
)


def _catalogue(language: str) -> dict[str, str]:
    path = i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        catalogue = read_po(po, locale=language)
    texts = {}
    for message in catalogue:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        string = message.string if isinstance(message.string, str) else message.string[0]
        texts[key] = string
    return texts


def _is_code(word: str) -> bool:
    return len(word) > 1 and word.isupper()


def _words(text: str, *, codes: bool = True) -> set[str]:
    """Lower-cased words of ``text``; ``codes=False`` leaves out all-capital codes
    (STARTED, NOT_CALLED): a translation quoting a code does not make the English
    word a word of that language."""
    words = WORD.findall(PLACEHOLDER.sub(" ", text))
    return {w.lower() for w in words if codes or not _is_code(w)}


def codes_of(language: str) -> set[str]:
    """The all-capital codes the ``language`` catalogue itself writes (CSV, UTC, SIP):
    shown as they are, they are not untranslated English."""
    found: set[str] = set()
    for text in _catalogue(language).values():
        found |= {w for w in WORD.findall(PLACEHOLDER.sub(" ", text)) if _is_code(w)}
    return found


def english_words(language: str) -> set[str]:
    """Words of English texts translated differently into ``language`` that the
    ``language`` catalogue never uses itself (three letters or more)."""
    english, other = _catalogue("en"), _catalogue(language)
    native: set[str] = set()
    for text in other.values():
        native |= _words(text, codes=False)
    found: set[str] = set()
    for key, text in english.items():
        translated = other.get(key)
        if translated and translated != text:
            found |= _words(text)
    return {w for w in found - native if len(w) >= 3}


class ShownText(HTMLParser):
    """The text a person sees: text nodes and a few attributes — not scripts, styles,
    ``<code>``, an element that declares its content English (``lang="en"``: the
    operator's diagnostics, which ``opendialer doctor`` prints the same) or not to be
    translated (HTML's ``translate="no"``: identifiers, such as a field name shown as
    an input's default)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._open: list[bool] = []  # per open element: is its content skipped?

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        skipped = (
            tag in ("script", "style", "template", "code", "pre")
            or ("lang", "en") in attrs
            or ("translate", "no") in attrs
        )
        if tag not in VOID:
            self._open.append(skipped or any(self._open))
        if skipped or any(self._open):
            return
        for name, value in attrs:
            if name in SHOWN_ATTRIBUTES and value:
                self.parts.append(value)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not any(self._open) and ("translate", "no") not in attrs:
            for name, value in attrs:
                if name in SHOWN_ATTRIBUTES and value:
                    self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if not any(self._open) and data.strip():
            self.parts.append(data.strip())


def shown_text(html: str) -> list[str]:
    parser = ShownText()
    parser.feed(html)
    return [NOT_TEXT.sub(" ", part) for part in parser.parts]


def untranslated(
    html: str, english: set[str], codes: set[str], data: tuple[str, ...]
) -> Iterator[str]:
    """English words shown on the page; ``data`` (names people typed) is not text."""
    for part in shown_text(html):
        text = part
        for phrase in data:
            text = text.replace(phrase, " ")
        for word in WORD.findall(text):
            if word.lower() in english and word not in codes:
                yield f"{word!r} in {part[:120]!r}"


async def seed(app: ApiClient) -> dict[str, Any]:
    group = await app.group("Grupo Sul")
    admin = await app.login_as("campaign_admin", [group], username="joana")
    ids: dict[str, Any] = {"group_id": group}
    for name, start in (("Cobrança Sul", False), ("Renovação", True)):
        r = await admin.post(
            "/api/v1/campaigns",
            json={
                "name": name,
                "description": "Clientes da região",
                "group_id": group,
                "start_date": "2030-01-07",
                "end_date": "2030-02-11",
                "start_time": "09:00",
                "end_time": "18:00",
                "weekdays": ["mon", "tue", "wed", "sat"],
                "pilot_number": "4000",
                "default_region": "BR",
            },
        )
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        r = await admin.post(
            f"/api/v1/campaigns/{cid}/leads",
            content=LEADS_CSV.encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert r.status_code in (200, 201), r.text
        if start:
            assert (await admin.post(f"/api/v1/campaigns/{cid}/start")).status_code == 200
        ids["campaign_id"] = cid
    leads = (await admin.get(f"/api/v1/campaigns/{ids['campaign_id']}/leads?per_page=50")).json()
    ids["lead_id"] = leads["items"][0]["id"]
    await _dialled(ids["campaign_id"], [lead["id"] for lead in leads["items"]])
    days = (await admin.get(f"/api/v1/campaigns/{ids['campaign_id']}/schedules")).json()
    ids["schedule_id"] = days["items"][0]["id"]
    master = await app.login_as("master", username="raiz")
    r = await master.post(
        "/api/v1/dnc-services",
        json={"name": "Lista Nacional", "kind": "http", "url": "https://dnc.exemplo.br/x"},
    )
    ids["service_id"] = r.json()["id"]
    ids["user_id"] = (await app.user("campaign_supervisor", [group], username="maria"))["id"]
    ids["mode"] = "edit-all"
    return ids


async def _dialled(campaign_id: int, lead_ids: list[int]) -> None:
    """What the engine leaves behind: each lead in another status, with a call record
    (the engine's own tables, as tests/test_api_calls.py seeds them)."""
    assert len(lead_ids) >= len(LeadStatus)
    started = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
    for n, (lead_id, status) in enumerate(zip(lead_ids, LeadStatus, strict=False)):
        await (
            Lead.update({Lead.status: status.value, Lead.attempts: 1})
            .where(Lead.id == lead_id)
            .run()
        )
        await (
            CallRecord(
                campaign=campaign_id,
                lead=lead_id,
                attempt=1,
                call_id=f"i18n-{campaign_id}-{lead_id}",
                phone="554198102111",
                created_at=started + timedelta(minutes=n),
                ended_at=started + timedelta(minutes=n, seconds=30),
                sip_code=200 if status is LeadStatus.SUCCESS else 486,
                amd_verdict="MACHINE" if status is LeadStatus.AMD else "HUMAN",
                status=status.value,
            )
            .save()
            .run()
        )


def page_paths(app: Any, ids: dict[str, Any]) -> list[str]:
    paths = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler) or "GET" not in handler.http_methods:
                continue
            if any(part in route.path for part in NOT_PAGES) or route.path == "/login":
                continue
            names = re.findall(r"\{(\w+)(?::\w+)?\}", route.path)
            missing = [n for n in names if n not in ids]
            assert not missing, f"{route.path}: seed() gives no {missing} (add one to check it)"
            path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(ids[m.group(1)]), route.path)
            paths.add(path)
    return sorted(paths)


async def browser_in(app: ApiClient, username: str, language: str) -> httpx.AsyncClient:
    client: httpx.AsyncClient = app.client()
    client.cookies.set(LANGUAGE_COOKIE, language)
    r = await client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return client


@pytest.mark.parametrize("language", ["pt_BR", "es"])
async def test_no_english_on_any_page(app_client: ApiClient, language: str) -> None:
    english, codes = english_words(language), codes_of(language)
    # The list is derived, not hand-picked: it holds what reviewers saw slip through.
    assert {"mon", "tue", "running", "started", "save", "cancel", "failure"} <= english
    ids = await seed(app_client)
    data = (*SEEDED, "Default Dialer Group")  # the product's seed row, named by the guide
    found: list[str] = []
    reached: dict[str, int] = {}
    for role in ROLES:
        groups = [] if role == "master" else [ids["group_id"]]
        user = await app_client.user(role, groups, username=f"pessoa{ROLES.index(role)}")
        browser = await browser_in(app_client, user["username"], language)
        for path in page_paths(app_client.app, ids):
            for headers in ({}, {"HX-Request": "true"}):
                r = await browser.get(path, headers=headers)
                if r.status_code != 200 or not r.headers.get("content-type", "").startswith(
                    "text/html"
                ):
                    continue
                if "error-modal" in r.text or 'class="card error-page"' in r.text:
                    continue  # a role's refusal: checked by the permission tests
                reached[role] = reached.get(role, 0) + 1
                shown = untranslated(r.text, english, codes, data)
                found += [f"{role} {path}: {w}" for w in shown]
    # The log-in page, before anyone logs in.
    stranger = app_client.client()
    stranger.cookies.set(LANGUAGE_COOKIE, language)
    page = await stranger.get("/login")
    assert page.status_code == 200
    found += [f"anonymous /login: {w}" for w in untranslated(page.text, english, codes, data)]
    assert all(reached.get(role, 0) >= 3 for role in ROLES), reached
    assert not found, "\n".join(sorted(set(found)))
