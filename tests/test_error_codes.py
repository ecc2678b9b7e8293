"""Coded errors: every code has its English detail and a page sentence in every
language, every raise site in the package passes a known code, and docs/errors.md
is the table's own rendering."""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path

import httpx
import pytest
from api_client import PASSWORD, ApiClient
from babel.messages.pofile import read_po

import opendialer
from opendialer.admin_ui import i18n
from opendialer.core.plugins import get_plugin_manager
from opendialer.core.services import error_messages, users
from opendialer.core.services.error_messages import MESSAGES
from opendialer.core.services.errors import (
    Conflict,
    FieldErrors,
    InvalidValue,
    ServiceError,
    ValidationFailed,
    problem_params,
)
from opendialer.core.services.phones import InvalidPhone

# The built-in plugins register their codes (route_oscc., route_ivr., amd_numpy.) as
# they load: load them before the table is read.
get_plugin_manager()
ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(opendialer.__file__).resolve().parent
PLACEHOLDER = re.compile(r"%\((\w+)\)[sr]")
CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def catalogue(language: str) -> object:
    with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=language)


CATALOGUES = {language: catalogue(language) for language in i18n.LANGUAGES}


def page_texts(code: str) -> list[str]:
    entry = MESSAGES[code]
    return [text for text in (entry.text, entry.fallback) if text is not None]


def test_codes_are_dotted_identifiers_with_a_page_sentence() -> None:
    assert len(MESSAGES) > 150
    for code, entry in MESSAGES.items():
        assert CODE.match(code), code
        assert entry.detail.strip(), code
        assert page_texts(code), code
        if entry.text is None:
            assert entry.fallback, f"{code}: a wrapping code needs a fallback"


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_code_has_its_message_in_every_language(code: str) -> None:
    # (That a raise passes the values its page sentence names is checked by the error's
    # constructor: test_a_missing_page_value_fails_where_it_is_raised.)
    for text in page_texts(code):
        placeholders = set(PLACEHOLDER.findall(text))
        for language, messages in CATALOGUES.items():
            entry = messages.get(text)  # type: ignore[attr-defined]
            assert entry is not None and entry.string, f"{language}: {code}: {text!r}"
            assert not entry.fuzzy, f"{language}: {code} is fuzzy"
            assert set(PLACEHOLDER.findall(entry.string)) == placeholders, (language, code)


# -- every raise site passes a known code -------------------------------------------


def _coded_classes() -> set[str]:
    """Classes built with a code: ServiceError, InvalidValue and their subclasses."""
    names = {"ServiceError", "InvalidValue"}
    trees = [ast.parse(p.read_text(), str(p)) for p in PACKAGE.rglob("*.py")]
    grew = True
    while grew:
        grew = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {
                        b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                        for b in node.bases
                    }
                    if bases & names:
                        names.add(node.name)
                        grew = True
    return names


def _module_dicts(tree: ast.Module) -> dict[str, list[ast.expr]]:
    """Module-level ``NAME = {...}`` tables: a code may be looked up in one."""
    tables = {}
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if isinstance(value, ast.Dict):
            for target in targets:
                if isinstance(target, ast.Name):
                    tables[target.id] = list(value.values)  # type: ignore[arg-type]
    return tables


def _codes_of(node: ast.expr, tables: dict[str, list[ast.expr]]) -> list[object] | None:
    """The codes an argument can be (None: not a code the source names)."""
    if isinstance(node, ast.Constant):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _codes_of(node.body, tables), _codes_of(node.orelse, tables)
        return None if body is None or orelse is None else body + orelse
    # TABLE[key] and TABLE.get(key, "default"): every value of the table (and the default).
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        values = tables.get(node.value.id)
        return None if values is None else [v.value for v in values if isinstance(v, ast.Constant)]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in tables
    ):
        values = [v.value for v in tables[node.func.value.id] if isinstance(v, ast.Constant)]
        return values + [a.value for a in node.args[1:] if isinstance(a, ast.Constant)]
    return None


def raise_sites() -> list[tuple[str, list[object] | None]]:
    """Every construction of a coded class in the package, with the codes it passes."""
    classes = _coded_classes()
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        tables = _module_dicts(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in classes:
                continue
            where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
            codes = _codes_of(node.args[0], tables) if node.args else None
            found.append((where, codes))
    return found


SITES = raise_sites()


def test_the_scan_finds_the_raise_sites() -> None:
    assert len(SITES) > 180
    files = {where.split(":")[0] for where, _ in SITES}
    assert {
        "opendialer/core/services/users.py",
        "opendialer/core/services/campaign_fields.py",
        "opendialer/core/services/platform_config.py",
        "opendialer/admin_ui/pages/session.py",
        "opendialer/core/services/phones.py",
    } <= files


@pytest.mark.parametrize(("where", "codes"), SITES, ids=[w for w, _ in SITES])
def test_every_raise_site_passes_a_known_code(where: str, codes: list[object] | None) -> None:
    assert codes, f"{where}: the first argument must name the code (a literal, or a table of codes)"
    unknown = [code for code in codes if code not in MESSAGES]
    assert not unknown, f"{where}: unknown code(s) {unknown}"


def test_a_missing_page_value_fails_where_it_is_raised() -> None:
    with pytest.raises(KeyError, match="name"):  # the detail names it
        Conflict("campaign.name_taken")
    problem = InvalidValue("amd_numpy.not_whole", shown="x", value=1.5)  # no "name"
    with pytest.raises(KeyError, match="name"):  # its page sentence does
        ValidationFailed("amd.strategy_refused", **problem_params(problem))


def test_an_unknown_code_fails_where_it_is_raised() -> None:
    with pytest.raises(KeyError, match=r"campaign\.no_such_thing"):
        ValidationFailed("campaign.no_such_thing")
    with pytest.raises(KeyError, match="a sentence"):
        Conflict("a sentence in English instead of a code")
    with pytest.raises(KeyError):
        InvalidValue("phone.nope")


# -- the error as the API and the pages see it ---------------------------------------


def test_the_detail_is_the_english_message_filled_with_the_params() -> None:
    exc = Conflict("campaign.name_taken", field="name", name="Spring")
    assert str(exc) == exc.detail == "a campaign named 'Spring' already exists"
    assert exc.as_dict() == {
        "error": "conflict",
        "code": "campaign.name_taken",
        "detail": "a campaign named 'Spring' already exists",
        "field": "name",
    }


def test_collected_field_errors_each_carry_their_code() -> None:
    problems = FieldErrors()
    problems.add(ValidationFailed("field.required", field="name", name="name"))
    problems.add(ValidationFailed("field.too_long", field="description", name="description", n=5))
    with pytest.raises(ValidationFailed) as caught:
        problems.raise_if_any()
    body = caught.value.as_dict()
    assert body["code"] == "field.required" and body["field"] == "name"
    assert body["errors"] == [
        {"field": "name", "code": "field.required", "detail": "name is required"},
        {
            "field": "description",
            "code": "field.too_long",
            "detail": "description must have at most 5 characters",
        },
    ]


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "Invalid phone number '41-ab': use only digits, an optional leading + and the"),
        ("pt_BR", "Número de telefone inválido '41-ab': use apenas dígitos"),
        ("es", "Número de teléfono no válido '41-ab': use solo dígitos"),
    ],
)
def test_a_wrapped_problem_is_shown_by_its_own_code(language: str, said: str) -> None:
    exc = ValidationFailed(
        "lead.phone_invalid",
        field="phone",
        phone=repr("41-ab"),
        region="BR",
        **problem_params(InvalidPhone("phone.characters")),
    )
    assert exc.detail == (
        "invalid phone number '41-ab': only digits, an optional leading + and the separators "
        "( ) - . and space are allowed (default region BR)"
    )
    assert i18n.translate_error(exc, i18n.translator(language)).startswith(said)


# -- docs/errors.md ------------------------------------------------------------------


def test_the_reference_page_lists_every_code_as_the_table_says() -> None:
    page = (ROOT / "docs" / "errors.md").read_text()
    assert page == error_messages.reference_page(), (
        "docs/errors.md is out of date: run "
        "python -c 'from opendialer.core.services.error_messages import reference_page; "
        'print(reference_page(), end="")\' > docs/errors.md'
    )


def test_every_service_error_class_keeps_its_status() -> None:
    statuses = {cls.__name__: cls.status for cls in [ServiceError, *_subclasses(ServiceError)]}
    assert statuses["ValidationFailed"] == 422 and statuses["Conflict"] == 409
    assert statuses["NotFound"] == 404 and statuses["PermissionDenied"] == 403


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


# -- end to end: the API's body and a page in the user's language --------------------


async def test_the_api_answers_the_code_beside_the_detail(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    await app_client.group("Sul")
    r = await master.post("/api/v1/groups", json={"name": "Sul"})
    assert r.status_code == 409, r.text
    assert r.json() == {
        "error": "conflict",
        "code": "group.name_taken",
        "detail": "a group named 'Sul' already exists",
        "field": "name",
    }
    body = {"username": "-bad", "password": "short", "role": "campaign_admin", "group_ids": []}
    r = await master.post("/api/v1/users", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "user.name_invalid"
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [
        ("username", "user.name_invalid"),
        ("group_ids", "user.group_needed"),
        ("password", "password.too_short"),
    ]


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "A group named Sul already exists."),
        ("pt_BR", "Já existe um grupo chamado Sul."),
        ("es", "Ya existe un grupo llamado Sul."),
    ],
)
async def test_a_page_says_a_coded_error_with_its_values_in_the_users_language(
    app_client: ApiClient, language: str, said: str
) -> None:
    await app_client.user("master", username="boss")
    await users.set_language(await users.authenticate("boss", PASSWORD), language)
    await app_client.group("Sul")
    boss: httpx.AsyncClient = app_client.client()
    r = await boss.post("/login", data={"username": "boss", "password": PASSWORD})
    assert r.status_code == 303, r.text
    headers = {"HX-Request": "true", "X-CSRF-Token": boss.cookies["od_csrf"]}
    r = await boss.post("/groups", data={"name": "Sul", "description": ""}, headers=headers)
    assert r.status_code == 200, r.text[:300]
    assert said in html.unescape(r.text)
