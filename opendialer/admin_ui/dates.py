"""Dates, percentages and country names as the viewer's language writes them
(07/12/2026 in pt_BR and es, Dec 7, 2026 in en; 2,50 % and 2.50%; Brasil and Brazil),
for the pages; the API keeps ISO 8601, plain numbers and ISO 3166 codes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_percent
from jinja2 import pass_context

#: Babel's locale names for the UI's languages.
BABEL_LOCALES = {"en": "en_US", "pt_BR": "pt_BR", "es": "es"}


def local_day(value: Any, language: str) -> str:
    """A date (or its ISO text, as SQLite returns it) in ``language``; anything else as is."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        return "" if value is None else str(value)
    locale = BABEL_LOCALES.get(language, "en_US")
    # en: "Dec 7, 2026"; pt_BR and es: "07/12/2026" (babel's short Spanish form has a
    # two-digit year, which contact centers do not write)
    return format_date(value, "medium" if locale == "en_US" else "dd/MM/y", locale=locale)


@pass_context
def day_filter(context: Any, value: Any) -> str:
    """Jinja ``{{ d|day }}``: the template's viewer language comes from its ``ui``."""
    ui = context.get("ui")
    language = getattr(getattr(ui, "t", None), "language", "en")
    return local_day(value, language)


@pass_context
def percent_filter(context: Any, value: Any) -> str:
    """Jinja ``{{ pct|percent }}``: a percentage (0-100) with two decimals, the decimal
    mark and the sign's spacing of the viewer's language."""
    ui = context.get("ui")
    language = getattr(getattr(ui, "t", None), "language", "en")
    locale = BABEL_LOCALES.get(language, "en_US")
    return format_percent(float(value) / 100, "#,##0.00%", locale=locale)


def country_name(code: str, language: str) -> str:
    """An ISO 3166 region code's country in ``language`` (BR: Brasil, Brazil); an
    unknown code as is."""
    names = Locale.parse(BABEL_LOCALES.get(language, "en_US")).territories
    return str(names.get(code.upper(), code)) if code else code


@pass_context
def country_filter(context: Any, code: Any) -> str:
    """Jinja ``{{ region|country }}``: the country's name in the viewer's language."""
    ui = context.get("ui")
    return country_name(str(code or ""), getattr(getattr(ui, "t", None), "language", "en"))
