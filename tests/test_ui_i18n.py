"""Translations: every text of the admin exists in English, Portuguese and Spanish.

The message ids are extracted from the templates and the Python code with Babel
(``babel.cfg``), exactly as a translator would, and each catalogue must translate
every one of them, with the same ``%(placeholders)s``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from opendialer.admin_ui import i18n
from opendialer.core.services.errors import (
    Conflict,
    NotAuthenticated,
    ValidationFailed,
    problem_params,
)
from opendialer.core.services.phones import InvalidPhone

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted() -> set[str | tuple[str, ...]]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords={"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)},
    ):
        found.add(message)
    return found


MESSAGES = extracted()


def test_extraction_finds_the_templates_and_the_code() -> None:
    assert "Dialer Service Configuration" in MESSAGES  # base.html
    assert "The passwords do not match." in MESSAGES  # core/services/error_messages.py
    assert "Campaign Management" in MESSAGES  # pages/session.py tabs
    assert len(MESSAGES) > 250


@pytest.mark.parametrize("language", list(i18n.LANGUAGES))
def test_every_message_is_translated(language: str) -> None:
    path = i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        catalogue = read_po(po, locale=language)
    missing, fuzzy, wrong_placeholders = [], [], []
    for message_id in sorted(MESSAGES, key=str):
        key = message_id[0] if isinstance(message_id, tuple) else message_id
        entry = catalogue.get(key)
        if entry is None:
            missing.append(message_id)
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not all(strings):
            missing.append(message_id)
        if entry.fuzzy:
            fuzzy.append(message_id)
        wanted = set(PLACEHOLDER.findall(key))
        for text in strings:
            if text and set(PLACEHOLDER.findall(text)) != wanted:
                wrong_placeholders.append((message_id, text))
    assert not missing, f"{language}: untranslated: {missing}"
    assert not fuzzy, f"{language}: fuzzy: {fuzzy}"
    assert not wrong_placeholders, f"{language}: placeholders differ: {wrong_placeholders}"


def test_known_service_errors_are_translated_not_quoted() -> None:
    """pt_BR and es show their own words for what the services say, never the English."""
    samples = [
        NotAuthenticated("auth.wrong_credentials"),
        ValidationFailed("password.too_short", n=10, length=5),
        Conflict("user.name_taken", name="ana"),
        ValidationFailed("campaign.end_before_start", end="2029-12-01", start="2030-01-01"),
        Conflict("campaign.started", name="X", id=1),
        ValidationFailed(
            "lead.phone_invalid",
            phone="abc",
            region="BR",
            **problem_params(InvalidPhone("phone.characters")),
        ),
        ValidationFailed("field.empty", name="pilot_number"),
    ]
    for language in ("pt_BR", "es"):
        t = i18n.translator(language)
        for exc in samples:
            said = i18n.translate_error(exc, t)
            english = i18n.translate_error(exc, i18n.translator("en"))
            assert said != english, (language, exc.code)
            assert exc.detail not in said, (language, exc.code)


def test_a_plugins_uncoded_problem_still_reaches_the_user() -> None:
    t = i18n.translator("es")
    exc = ValidationFailed("routing.option_invalid", problem="flux capacitor overheated")
    assert exc.detail == "flux capacitor overheated"
    assert i18n.translate_error(exc, t) == "Este valor no se acepta: flux capacitor overheated"
