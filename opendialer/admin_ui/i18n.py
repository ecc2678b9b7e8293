"""The admin's languages: gettext catalogues (Babel) for English, Portuguese and Spanish.

The ``.po`` files under ``locale/`` are the source of truth; they are compiled in
memory when this module is imported (no build step, no stale ``.mo``).
Templates call ``_("text", name=value)``; Python code marks text with :func:`N_`
so ``pybabel extract -F babel.cfg`` finds it.

Service errors carry a code and its parameters; :func:`translate_error` shows the
page's sentence of that code (``core/services/error_messages.py``, whose texts
``babel.cfg`` extracts too) in the user's language. No error is ever recognised by
its English text.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from opendialer.core.services.error_messages import MESSAGES
from opendialer.core.services.errors import ServiceError

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
LANGUAGES: dict[str, str] = {"en": "English", "pt_BR": "Português", "es": "Español"}
DEFAULT_LANGUAGE = "en"
HTML_LANG = {"en": "en", "pt_BR": "pt-BR", "es": "es"}


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


def _load(language: str) -> Translations:
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


#: Loaded once at import (start-up), never on a request.
CATALOGUES: dict[str, Translations] = {lang: _load(lang) for lang in LANGUAGES}


#: A browser's language tag's primary subtag → the UI's language: every Portuguese
#: (pt, pt-PT, pt-AO...) reads the Brazilian catalogue, every Spanish the Spanish one.
BROWSER_LANGUAGES = {"en": "en", "pt": "pt_BR", "es": "es"}


def from_accept_language(header: str | None) -> str | None:
    """The UI's language a browser asks for in ``Accept-Language`` (its highest ``q``
    among en, pt and es; the header's order breaks ties), None when it names none."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = BROWSER_LANGUAGES.get(tag.strip().split("-")[0].split("_")[0].lower())
        if language is None or quality <= 0:
            continue
        if best is None or (quality, -position) > (best[0], -best[1]):
            best = (quality, position, language)
    return best[2] if best else None


def normalise(language: str | None) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Translator:
    """The gettext functions of one language, for Python code and for templates."""

    language: str

    @property
    def catalogue(self) -> Translations:
        return CATALOGUES[self.language]

    def gettext(self, message: str, **values: Any) -> str:
        return _fill(self.catalogue.gettext(message), values)

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        values.setdefault("num", n)
        return _fill(self.catalogue.ngettext(singular, plural, n), values)

    def template_globals(self) -> dict[str, Any]:
        """``_``/``gettext``/``ngettext`` for a template, autoescaping like Jinja's newstyle
        (the translation is trusted markup, the values are escaped)."""

        @pass_context
        def gettext(context: Context, message: str, **values: Any) -> str:
            text = self.catalogue.gettext(message)
            return _fill(text, values, markup=context.eval_ctx.autoescape)

        @pass_context
        def ngettext(context: Context, singular: str, plural: str, n: int, **values: Any) -> str:
            values.setdefault("num", n)
            text = self.catalogue.ngettext(singular, plural, n)
            return _fill(text, values, markup=context.eval_ctx.autoescape)

        return {"_": gettext, "gettext": gettext, "ngettext": ngettext, "lang": self.language}


def _fill(text: str, values: dict[str, Any], *, markup: bool = False) -> str:
    """``text % values`` (values escaped when ``text`` is markup); ``text`` alone without values."""
    if markup:
        text = Markup(text)
    return text % values if values else text


def translator(language: str | None) -> Translator:
    return Translator(normalise(language))


# -- service errors in the user's language ------------------------------------


def translate_code(code: str, params: Mapping[str, Any], t: Translator) -> str:
    """The page's sentence of error ``code`` (core/services/error_messages.py) in the
    user's language, filled with ``params``. A code that wraps a problem shows the
    problem's own sentence (``problem_code``), or its fallback for an uncoded one."""
    entry = MESSAGES[code]
    values = dict(params)
    if entry.text is not None:
        return t.gettext(entry.text, **values)
    inner = values.get("problem_code")
    if isinstance(inner, str) and inner in MESSAGES and MESSAGES[inner].text is not None:
        return translate_code(inner, values, t)
    assert entry.fallback is not None  # tests/test_error_codes.py: every None has one
    return t.gettext(entry.fallback, **values)


def translate_error(exc: ServiceError, t: Translator) -> str:
    return translate_code(exc.code, exc.params, t)
